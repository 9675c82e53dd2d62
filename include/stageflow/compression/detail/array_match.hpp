// SPDX-License-Identifier: BSL-1.0
// Which elements of two arrays to keep: a longest common subsequence of cheap element hashes,
// found by Myers' O((N+M)D) algorithm with D bounded, so the work stays linear. Kept pairs are still
// compared exactly by the differ, so a hash collision costs delta size, never correctness.
#pragma once

#include <stageflow/compression/detail/diff_scratch.hpp>
#include <stageflow/compression/detail/indexed_json.hpp>

#include <stageflow/detail/xxhash.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace stageflow::detail::compression {

inline constexpr std::uint64_t no_string = ~std::uint64_t{0};

// String-buffer offset of the first string at tape positions [t, limit), or no_string.
inline std::uint64_t first_string(const IndexedJson& doc, std::uint32_t t, std::uint32_t limit) noexcept {
  for (std::uint32_t i = t; i < limit; ++i) {
    const char kind = doc.type(i);
    if (kind == '"') return doc.payload(i);
    if (kind == 'l' || kind == 'u' || kind == 'd') ++i;
  }
  return no_string;
}

// String-buffer offset just past the last string record of the value at t, or no_string.
inline std::uint64_t strings_end(const IndexedJson& doc, std::uint32_t t) noexcept {
  std::uint64_t end = no_string;
  const std::uint32_t stop = doc.after(t);
  for (std::uint32_t i = t; i < stop; ++i) {
    const char kind = doc.type(i);
    if (kind == '"') end = doc.payload(i) + sizeof(std::uint32_t) + doc.string(i).size() + 1;  // length, bytes, NUL
    if (kind == 'l' || kind == 'u' || kind == 'd') ++i;
  }
  return end;
}

inline std::uint64_t mix_element_hash(std::uint64_t hash, std::uint64_t value) noexcept {
  hash = (hash ^ value) * 0xBF58476D1CE4E5B9ull;
  return hash ^ (hash >> 31);
}

// Cheap hashes of items[from, end), in one short look at each element: its size, its first
// tape words (kinds, numbers such as ids), and samples of its strings (simdjson stores them
// contiguously in document order, so an element's strings are one block of the string buffer).
// Equal elements hash alike; different ones almost always differ, which is all matching needs.
inline void element_hashes(const IndexedJson& doc, const std::vector<std::uint32_t>& items, std::size_t from,
                           std::size_t end, std::vector<std::uint64_t>& starts, std::vector<std::uint64_t>& hashes) {
  constexpr std::uint32_t head_words = 32;
  constexpr std::uint64_t sample = 64;
  const std::uint32_t tape_end = doc.after(IndexedJson::root);  // the final root word
  starts.clear();
  hashes.clear();
  for (std::size_t i = from; i < end; ++i) {
    const std::uint32_t t = items[i], stop = doc.after(t);
    std::uint64_t hash = mix_element_hash(0x9E3779B97F4A7C15ull, stop - t);
    std::uint64_t first = no_string;
    const std::uint32_t head_end = stop - t > head_words ? t + head_words : stop;
    std::uint32_t w = t;
    for (; w < head_end; ++w) {
      const std::uint64_t word = doc.tape[w];
      const char kind = static_cast<char>(word >> 56);
      if (kind == '"') {
        if (first == no_string) first = word & tape_layout::payload_mask;
        hash = mix_element_hash(hash, kind);
      } else if (kind == 'l' || kind == 'u' || kind == 'd') {
        hash = mix_element_hash(hash, doc.tape[++w]);
      } else if (kind == '{' || kind == '[') {
        hash = mix_element_hash(hash, word - w);  // kind, count and relative end
      } else {
        hash = mix_element_hash(hash, kind);
      }
    }
    if (first == no_string && w < stop) first = first_string(doc, w, stop);
    starts.push_back(first);
    hashes.push_back(hash);
  }
  // An element's strings end where the next element's begin (or the next string after them).
  std::uint64_t next = first_string(doc, end < items.size() ? items[end] : doc.after(items[end - 1]), tape_end);
  for (std::size_t i = end; i-- > from;) {
    const std::uint64_t start = starts[i - from];
    if (start == no_string) continue;
    const std::uint64_t stop = next != no_string ? next : strings_end(doc, items[i]);
    const std::uint64_t length = stop - start;
    std::uint64_t& hash = hashes[i - from];
    hash = mix_element_hash(hash, length);
    const std::uint8_t* strings = doc.strings + start;
    hash = mix_element_hash(hash, XXH3_64bits(strings, length < sample ? length : sample));
    if (length > sample) hash = mix_element_hash(hash, XXH3_64bits(strings + length - sample, sample));
    next = start;
  }
}

// Fills frame.matches with the elements of base[from, base_end) and current[from, current_end)
// to keep: a longest common subsequence by element hash (Myers' O((N+M)D) algorithm). D is
// bounded so the work stays linear; past the bound nothing is matched (positional edits).
inline void match_elements(const IndexedJson& base_doc, const IndexedJson& current_doc, DiffFrame& frame,
                           std::size_t from, std::size_t base_end, std::size_t current_end) {
  element_hashes(base_doc, frame.base_items, from, base_end, frame.string_starts, frame.base_hashes);
  element_hashes(current_doc, frame.current_items, from, current_end, frame.string_starts, frame.current_hashes);
  const auto& a = frame.base_hashes;
  const auto& b = frame.current_hashes;
  const long n = static_cast<long>(a.size()), m = static_cast<long>(b.size());
  // At most about 8 million hash comparisons, and at most 512 edits (the history is D^2 ints).
  const long max_d = std::min(n + m, std::clamp(8'000'000L / (n + m), 16L, 512L));

  auto& v = frame.diagonals;
  auto& trace = frame.trace;
  auto& trace_start = frame.trace_start;
  v.assign(static_cast<std::size_t>(2 * max_d + 3), 0);
  trace.clear();
  trace_start.clear();
  const long offset = max_d + 1;
  long found_d = -1;
  for (long d = 0; d <= max_d && found_d < 0; ++d) {
    // Keep V before this round (diagonals -d-1 .. d+1) for the way back.
    trace_start.push_back(trace.size());
    trace.insert(trace.end(), v.begin() + (offset - d - 1), v.begin() + (offset + d + 2));
    for (long diagonal = -d; diagonal <= d; diagonal += 2) {
      long x = (diagonal == -d || (diagonal != d && v[offset + diagonal - 1] < v[offset + diagonal + 1]))
                   ? v[offset + diagonal + 1]
                   : v[offset + diagonal - 1] + 1;
      long y = x - diagonal;
      while (x < n && y < m && a[static_cast<std::size_t>(x)] == b[static_cast<std::size_t>(y)]) {
        ++x;
        ++y;
      }
      v[offset + diagonal] = static_cast<int>(x);
      if (x >= n && y >= m) {
        found_d = d;
        break;
      }
    }
  }
  if (found_d < 0) return;  // too different: edit by position
  auto& matches = frame.matches;
  long x = n, y = m;
  for (long d = found_d; d >= 0; --d) {
    const int* before = trace.data() + trace_start[static_cast<std::size_t>(d)] + (d + 1);  // before[diagonal]
    const long diagonal = x - y;
    const long previous =
        (diagonal == -d || (diagonal != d && before[diagonal - 1] < before[diagonal + 1])) ? diagonal + 1 : diagonal - 1;
    const long previous_x = before[previous], previous_y = previous_x - previous;
    while (x > previous_x && y > previous_y && x > 0 && y > 0) {
      --x;
      --y;
      matches.emplace_back(from + static_cast<std::size_t>(x), from + static_cast<std::size_t>(y));
    }
    if (d > 0) {
      x = previous_x;
      y = previous_y;
    }
  }
  std::reverse(matches.begin(), matches.end());
}

}  // namespace stageflow::detail::compression
