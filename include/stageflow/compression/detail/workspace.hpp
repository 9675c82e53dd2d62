// SPDX-License-Identifier: BSL-1.0
// Per-thread working memory of compress() and apply_delta(): two simdjson parsers (one per input
// document) and their buffers, kept across calls so a warm thread parses without allocating.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>

#include <stageflow/compression/detail/diff.hpp>
#include <stageflow/compression/detail/indexed_json.hpp>

namespace stageflow::detail::compression {

struct Workspace {
  simdjson::dom::parser parsers[2];
  PaddedBuffer copies[2];  // inputs whose padding cannot be read in place
  DiffScratch diff;
};

inline std::unique_ptr<Workspace>& workspace_slot() noexcept {
  thread_local std::unique_ptr<Workspace> slot;
  return slot;
}

inline Workspace& workspace() {
  auto& slot = workspace_slot();
  if (!slot) slot = std::make_unique<Workspace>();
  return *slot;
}

/// Bases at least this large give back, once parsed, what the diff does not read (below).
inline constexpr std::size_t large_base_bytes = std::size_t{1} << 20;

/// The diff reads the base's tape and decoded strings, never its token offsets or its padded copy.
/// For a large base both are freed before the current document is parsed: the peak of a diff of
/// two big documents drops by 4 bytes a token of the base (0.17x the inputs on twitter.json copies;
/// issue 25, item 6). Small bases keep them, so a warm thread still parses without allocating.
inline void release_unread_base_parts(Workspace& work, IndexedJson& base) noexcept {
  if (base.text.size() < large_base_bytes) return;
  // A capacity of 0 frees simdjson's token index only (the document, tape and strings, stays);
  // the next parse reallocates it. It cannot fail: nothing is allocated for capacity 0 but a few words.
  [[maybe_unused]] const simdjson::error_code ignored = work.parsers[0].allocate(0, work.parsers[0].max_depth());
  work.copies[0].release();
  base.tokens = nullptr;
  base.token_count = 0;
}

}  // namespace stageflow::detail::compression
