// Writing JSON text: string escaping, RFC 6901 JSON Pointer tokens, minified copies of values.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <stageflow/detail/compression/indexed_json.hpp>

namespace stageflow::detail::compression {

/// True for bytes that cannot appear as themselves inside a JSON string.
constexpr bool needs_json_escape(unsigned char byte) noexcept { return byte < 0x20 || byte == '"' || byte == '\\'; }

inline void append_escaped_byte(std::string& out, unsigned char byte) {
  switch (byte) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const char escaped[] = {'\\', 'u', '0', '0', hex[byte >> 4], hex[byte & 15]};
      out.append(escaped, sizeof escaped);
    }
  }
}

/// Appends `text` (UTF-8) as the content of a JSON string, without the quotes.
inline void append_json_string_content(std::string& out, std::string_view text) {
  std::size_t clean_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (!needs_json_escape(byte)) continue;
    out.append(text, clean_from, i - clean_from);
    append_escaped_byte(out, byte);
    clean_from = i + 1;
  }
  out.append(text, clean_from, std::string_view::npos);
}

inline void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_string_content(out, text);
  out += '"';
}

/// Appends "/" and the JSON Pointer token for `key` (~ as ~0, / as ~1), JSON-escaped so the result
/// can sit inside a JSON string.
inline void append_pointer_key(std::string& out, std::string_view key) {
  out += '/';
  std::size_t clean_from = 0;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto byte = static_cast<unsigned char>(key[i]);
    if (byte != '~' && byte != '/' && !needs_json_escape(byte)) continue;
    out.append(key, clean_from, i - clean_from);
    if (byte == '~')
      out += "~0";
    else if (byte == '/')
      out += "~1";
    else
      append_escaped_byte(out, byte);
    clean_from = i + 1;
  }
  out.append(key, clean_from, std::string_view::npos);
}

inline void append_pointer_index(std::string& out, std::size_t index) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, index);
  out += '/';
  out.append(digits, result.ptr);
}

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
