// SPDX-License-Identifier: BSL-1.0
// The differ's working memory, kept across calls so a warm thread allocates nothing: per nesting
// level, the members or elements of the two containers being compared and the array matcher's state.
#pragma once

#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/key_index.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::detail::compression {

struct ObjectMember {
  std::string_view key;  // decoded
  std::uint32_t value;   // tape index
};

/// Per nesting level working memory, kept across calls (a deque: growing keeps references valid).
struct DiffFrame {
  std::vector<ObjectMember> base_members, current_members;
  std::vector<std::uint32_t> base_items, current_items;
  KeyIndex base_index, current_index;
  // Array matching (Myers): element hashes, the diagonals, their history, the kept pairs.
  std::vector<std::uint64_t> base_hashes, current_hashes, string_starts;
  std::vector<int> diagonals, trace;
  std::vector<std::size_t> trace_start;
  std::vector<std::pair<std::size_t, std::size_t>> matches;
};

struct DiffScratch {
  std::deque<DiffFrame> frames;
  std::string path;
  std::string replacement;

  DiffFrame& frame(std::size_t depth) {
    while (frames.size() <= depth) frames.emplace_back();
    return frames[depth];
  }
};

inline void collect_members(const IndexedJson& doc, std::uint32_t t, std::vector<ObjectMember>& members) {
  members.clear();
  const std::uint32_t end = doc.after(t) - 1;
  for (std::uint32_t i = t + 1; i < end;) {
    members.push_back({doc.string(i), i + 1});
    i = doc.after(i + 1);
  }
}

inline void collect_items(const IndexedJson& doc, std::uint32_t t, std::vector<std::uint32_t>& items) {
  items.clear();
  const std::uint32_t end = doc.after(t) - 1;
  for (std::uint32_t i = t + 1; i < end; i = doc.after(i)) items.push_back(i);
}

}  // namespace stageflow::detail::compression
