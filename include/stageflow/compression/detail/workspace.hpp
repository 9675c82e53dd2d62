// SPDX-License-Identifier: BSL-1.0
// Per-thread working memory of compress() and apply_delta(): two simdjson parsers (one per input
// document) and their buffers, kept across calls so a warm thread parses without allocating.
#pragma once

#include <simdjson.h>

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

}  // namespace stageflow::detail::compression
