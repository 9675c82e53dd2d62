// Minified copies of JSON values: the delta's values and apply_delta's untouched subtrees are
// copied as their source text without whitespace.
#pragma once

#include <simdjson.h>

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

/// Size of `text` once minified.
inline std::size_t minified_size(std::string_view text) {
  char* out = minify_buffer().prepare(text.size());
  std::size_t written = 0;
  if (simdjson::minify(text.data(), text.size(), out, written) != simdjson::SUCCESS) return text.size();
  return written;
}

/// Appends `text`, a whole JSON value taken from a valid document, without its whitespace.
inline void append_minified(std::string& out, std::string_view text) {
  // Minified into a reused buffer, then appended: growing `out` by the text's size first would
  // zero-fill bytes that whitespace removal then throws away. simdjson's minifier stores whole
  // SIMD blocks; the buffer has room past the end.
  char* minified = minify_buffer().prepare(text.size());
  std::size_t written = 0;
  if (simdjson::minify(text.data(), text.size(), minified, written) != simdjson::SUCCESS) {
    out += text;  // cannot happen on validated input; keep the text
    return;
  }
  out.append(minified, written);
}

/// Appends the value at tape t (first token k, `span` tokens) of `doc`, minified. Scalars are
/// copied as they are written (numbers keep their text, strings their escapes).
inline void append_value(std::string& out, const IndexedJson& doc, std::uint32_t t, std::uint32_t k,
                         std::uint32_t span) {
  if (!doc.is_container(t)) {
    out.append(doc.text, doc.tokens[k], doc.token_end(k) - doc.tokens[k]);
    return;
  }
  append_minified(out, doc.value_text(k, span));
}

}  // namespace stageflow::detail::compression
