// SPDX-License-Identifier: BSL-1.0
// The one error type for malformed JSON text, and the one way to say where in a text something is.
//
// Every reader of JSON text in stageflow (parse_json, compress, apply_delta, the stageflow-delta
// command) finds the first error with the same strict RFC 8259 checker (json/detail/syntax_check.hpp)
// and reports it as a JsonParseError, or a type derived from it that adds which input it was
// (compression::ParseError). The message reads
//   parse_json: expected ',' or '}' after an object member, found '"' at line 3, column 3 (byte 13) near "\"b\": 2\n}"
//   parse_json: unclosed bracket (opened at line 1, column 1): ... at the end of the input (line 3, column 2, byte 12)
#pragma once

#include <stageflow/json/detail/escape.hpp>
#include <stageflow/json/detail/utf8.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow {

/// A place in a text: byte offset from 0; line and column from 1, the column counted in characters
/// (UTF-8 code points) from the start of the line, as editors count it.
struct JsonTextPosition {
  std::size_t offset = 0;
  std::size_t line = 1;
  std::size_t column = 1;
};

/// The position of byte `offset` of `text` (an offset past the end counts as the end).
inline JsonTextPosition text_position(std::string_view text, std::size_t offset) noexcept {
  JsonTextPosition position{offset, 1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++position.line;
      position.column = 1;
    } else if ((c & 0xC0) != 0x80) {  // count characters, not UTF-8 continuation bytes
      ++position.column;
    }
  }
  return position;
}

namespace detail {

/// Up to 16 characters of `text` for an error message: escaped as in a JSON string, and bytes that
/// are not UTF-8 as \xNN, so the message itself is always valid UTF-8.
inline std::string printable_excerpt(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string shown;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  for (int characters = 0; p < end && characters < 16; ++characters) {
    const std::size_t size = check_utf8_sequence(p, end).size;
    if (size == 0) {
      shown += "\\x";
      shown += hex[*p >> 4];
      shown += hex[*p & 0xF];
      ++p;
      continue;
    }
    append_json_string_body(shown, std::string_view(reinterpret_cast<const char*>(p), size));
    p += size;
  }
  return shown;
}

}  // namespace detail

/// Malformed JSON text: what is wrong (reason) and where (position), when the position is known.
class JsonParseError : public std::runtime_error {
 public:
  /// `context` opens the message ("parse_json"); `offset` is where in `text` the error is, or
  /// nullopt when it is not known (a document over simdjson's size limit).
  JsonParseError(std::string_view context, std::string reason, std::string_view text,
                 std::optional<std::size_t> offset)
      : std::runtime_error(describe(context, reason, text, offset)),
        reason_(std::move(reason)),
        position_(offset ? text_position(text, *offset) : JsonTextPosition{0, 0, 0}),
        has_position_(offset.has_value()) {}

  /// What is wrong, without the position ("expected ':' after an object key, found '2'").
  const std::string& reason() const noexcept { return reason_; }
  bool has_position() const noexcept { return has_position_; }
  /// Where; all zero when has_position() is false.
  const JsonTextPosition& position() const noexcept { return position_; }
  /// Byte offset of the error in the text (the text's size when the input ended too early).
  std::size_t offset() const noexcept { return position_.offset; }
  /// 1-based line.
  std::size_t line() const noexcept { return position_.line; }
  /// 1-based column, in characters (UTF-8 code points) from the start of the line.
  std::size_t column() const noexcept { return position_.column; }

 private:
  static std::string describe(std::string_view context, const std::string& reason, std::string_view text,
                              std::optional<std::size_t> offset) {
    std::string message(context);
    message += ": ";
    message += reason;
    if (!offset) return message;
    const JsonTextPosition at = text_position(text, *offset);
    const std::string where = "line " + std::to_string(at.line) + ", column " + std::to_string(at.column);
    if (*offset >= text.size() && !text.empty()) {
      message += " at the end of the input (" + where + ", byte " + std::to_string(at.offset) + ")";
    } else {
      message += " at " + where + " (byte " + std::to_string(at.offset) + ")";
      if (*offset < text.size()) message += " near \"" + detail::printable_excerpt(text.substr(*offset)) + "\"";
    }
    return message;
  }

  std::string reason_;
  JsonTextPosition position_;
  bool has_position_;
};

}  // namespace stageflow
