// SPDX-License-Identifier: BSL-1.0
// Minified copies of JSON values: the delta's values and apply_delta's untouched subtrees are
// copied as their source text without whitespace.
#pragma once

#include <simdjson.h>
#include <algorithm>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <stageflow/compression/detail/indexed_json.hpp>

namespace stageflow::detail::compression {

/// The per-thread buffer simdjson's minifier writes into (reused; release() frees it).
inline PaddedBuffer& minify_buffer() noexcept {
  thread_local PaddedBuffer buffer;
  return buffer;
}

/// Calls f(minified_text) for tokens [first, last] of `doc` and the text between them, without
/// whitespace, in pieces of whole tokens of about 1 MiB (a piece that starts at a token starts
/// outside any string), minified by simdjson into the reused per-thread buffer. The buffer so stays
/// small, instead of growing to the size of the largest value.
template <class F>
void for_each_minified_piece(const IndexedJson& doc, std::uint32_t first, std::uint32_t last, F&& f) {
  constexpr std::size_t piece = std::size_t{1} << 20;
  const std::size_t end = doc.token_end(last);
  for (std::uint32_t k = first;;) {
    const std::size_t from = doc.tokens[k];
    const std::uint32_t* next = std::upper_bound(doc.tokens + k + 1, doc.tokens + last + 1, from + piece);
    const auto j = static_cast<std::uint32_t>(next - doc.tokens);  // first token of the next piece
    const std::size_t to = j > last ? end : doc.tokens[j];
    const std::string_view text = doc.text.substr(from, to - from);
    // simdjson's minifier stores whole SIMD blocks; the buffer has room past the end.
    char* minified = minify_buffer().prepare(text.size());
    std::size_t written = 0;
    if (simdjson::minify(text.data(), text.size(), minified, written) != simdjson::SUCCESS)
      f(text);  // cannot happen on validated input; keep the text
    else
      f(std::string_view(minified, written));
    if (j > last) return;
    k = j;
  }
}

/// Size of the parsed document once minified (what would be sent without compression).
inline std::size_t minified_size(const IndexedJson& doc) {
  std::size_t size = 0;
  if (doc.token_count > 0)
    for_each_minified_piece(doc, 0, doc.token_count - 1, [&](std::string_view piece) { size += piece.size(); });
  return size;
}

/// Appends tokens [first, last] of `doc` and the text between them, minified. Minified into the
/// buffer, then appended: growing `out` by the text's size first would zero-fill bytes that
/// whitespace removal then throws away.
inline void append_minified_tokens(std::string& out, const IndexedJson& doc, std::uint32_t first, std::uint32_t last) {
  for_each_minified_piece(doc, first, last, [&](std::string_view piece) { out.append(piece); });
}

/// Appends the value at tape t (first token k, `span` tokens) of `doc`, minified. Scalars are
/// copied as they are written (numbers keep their text, strings their escapes).
inline void append_value(std::string& out, const IndexedJson& doc, std::uint32_t t, std::uint32_t k,
                         std::uint32_t span) {
  if (!doc.is_container(t)) {
    out.append(doc.text, doc.tokens[k], doc.token_end(k) - doc.tokens[k]);
    return;
  }
  append_minified_tokens(out, doc, k, k + span - 1);
}

}  // namespace stageflow::detail::compression
