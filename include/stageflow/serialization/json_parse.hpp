// JSON text to stageflow::JsonValue, with simdjson.
//
//   JsonValue doc = stageflow::serialization::parse_json(R"({"user": {"tier": "gold"}})");
//
// Strict RFC 8259 (simdjson's DOM parser: it accepts every y_ case of JSONTestSuite and rejects
// every n_ case), type-exact: an integer stays an integer (int64, or uint64 above INT64_MAX), a
// number with a fraction or exponent is a double, so 1 and 1.0 come back as different values.
// Limits, each a json_parse_error rather than a silent approximation: integers beyond 64 bits and
// doubles beyond the double range, nesting deeper than 1024, invalid UTF-8. When an object repeats
// a key the last value wins (as JSON.parse does).
//
// Malformed text throws json_parse_error saying what and where (line, column, byte offset):
//   parse_json: expected a value, a comma or a closing bracket at line 1, column 9 (byte 8) near "}"
//   parse_json: unclosed bracket (opened at line 1, column 1) at the end of the input (line 3, column 2, byte 12)
//
// This is the only serialization header that includes <simdjson.h>, which is heavy to compile.
// Reuse a JsonParser to parse many documents without reallocating simdjson's buffers.
#pragma once

#include <stageflow/core/json_value.hpp>
#include <stageflow/detail/json_text.hpp>
#include <stageflow/detail/utf8.hpp>

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::serialization {

/// Malformed JSON text: what is wrong and where.
class json_parse_error : public std::runtime_error {
 public:
  json_parse_error(const std::string& message, std::size_t offset, std::size_t line, std::size_t column)
      : std::runtime_error(message), offset_(offset), line_(line), column_(column) {}

  /// Byte offset of the error in the text (the text's size when the input ended too early).
  std::size_t offset() const noexcept { return offset_; }
  /// 1-based line.
  std::size_t line() const noexcept { return line_; }
  /// 1-based column, in characters (UTF-8 code points) from the start of the line.
  std::size_t column() const noexcept { return column_; }

 private:
  std::size_t offset_;
  std::size_t line_;
  std::size_t column_;
};

}  // namespace stageflow::serialization

namespace stageflow::detail {

inline std::string_view json_error_description(simdjson::error_code code) noexcept {
  switch (code) {
    case simdjson::EMPTY: return "no JSON value (the text is empty or only whitespace)";
    case simdjson::TAPE_ERROR:
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
    case simdjson::TRAILING_CONTENT:
      return "expected a value, a comma or a closing bracket";
    case simdjson::NUMBER_ERROR:
      return "invalid number, or a number out of range (integers must fit 64 bits, others a double)";
    case simdjson::STRING_ERROR: return "invalid string (a bad escape or an unpaired surrogate)";
    case simdjson::T_ATOM_ERROR: return "invalid literal (expected true)";
    case simdjson::F_ATOM_ERROR: return "invalid literal (expected false)";
    case simdjson::N_ATOM_ERROR: return "invalid literal (expected null)";
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::UNESCAPED_CHARS: return "control character in a string (it must be escaped)";
    case simdjson::UNCLOSED_STRING: return "string never closed";
    case simdjson::DEPTH_ERROR: return "nested deeper than 1024 levels";  // json_max_depth
    case simdjson::CAPACITY: return "document too large";
    default: return simdjson::error_message(code);
  }
}

/// Length of the valid UTF-8 sequence at `p`, or 0 when it is not one.
inline std::size_t utf8_sequence_size(const unsigned char* p, const unsigned char* end) noexcept {
  return check_utf8_sequence(p, end).size;
}

/// JSON nesting allowed by simdjson's parser (its default), and so by parse_json.
inline constexpr std::size_t json_max_depth = 1024;

/// What one pass over the bytes can tell without parsing values: the errors simdjson finds in its
/// first stage and reports without a position, and the brackets.
struct JsonLexicalScan {
  std::optional<std::size_t> invalid_utf8;
  std::optional<std::size_t> control_character;  // unescaped, inside a string
  std::optional<std::size_t> unclosed_string;    // its opening quote
  std::optional<std::size_t> too_deep;           // the bracket that opens level json_max_depth + 1
  std::optional<std::size_t> stray_close;        // a closing bracket that closes nothing or the wrong kind
  std::optional<std::size_t> unclosed_bracket;   // the innermost bracket still open at the end
};

inline JsonLexicalScan scan_json_lexically(std::string_view text) {
  JsonLexicalScan scan;
  const auto* const begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = begin + text.size();
  const unsigned char* string_start = nullptr;  // the opening quote of the string we are in
  bool escaped = false;
  std::string open;                    // the brackets open at this point, innermost last
  std::vector<std::size_t> open_at;    // and where they are
  for (const unsigned char* p = begin; p < end;) {
    const auto offset = static_cast<std::size_t>(p - begin);
    const std::size_t size = utf8_sequence_size(p, end);
    if (size == 0) {
      if (!scan.invalid_utf8) scan.invalid_utf8 = offset;
      ++p;
      continue;
    }
    if (size > 1) {
      escaped = false;
      p += size;
      continue;
    }
    const unsigned char c = *p++;
    if (string_start != nullptr) {
      if (c < 0x20) {  // escaped or not, a raw control character is not allowed in a string
        if (!scan.control_character) scan.control_character = offset;
        escaped = false;
      } else if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        string_start = nullptr;
      }
    } else if (c == '"') {
      string_start = p - 1;
    } else if (c == '[' || c == '{') {
      if (open.size() == json_max_depth && !scan.too_deep) scan.too_deep = offset;
      open += static_cast<char>(c);
      open_at.push_back(offset);
    } else if (c == ']' || c == '}') {
      if (open.empty() || open.back() != (c == ']' ? '[' : '{')) {
        if (!scan.stray_close) scan.stray_close = offset;
      } else {
        open.pop_back();
        open_at.pop_back();
      }
    }
  }
  if (string_start != nullptr) scan.unclosed_string = static_cast<std::size_t>(string_start - begin);
  if (!open_at.empty()) scan.unclosed_bracket = open_at.back();
  return scan;
}

/// Reads a whole value with simdjson's On-Demand API, which can say where it stopped.
inline simdjson::error_code consume_json(simdjson::ondemand::value value, std::size_t depth) noexcept {
  using simdjson::ondemand::json_type;
  if (depth > json_max_depth) return simdjson::DEPTH_ERROR;
  json_type type{};
  if (auto error = value.type().get(type)) return error;
  switch (type) {
    case json_type::array: {
      simdjson::ondemand::array array;
      if (auto error = value.get_array().get(array)) return error;
      for (auto element : array) {
        simdjson::ondemand::value item;
        if (auto error = std::move(element).get(item)) return error;
        if (auto error = consume_json(item, depth + 1)) return error;
      }
      return simdjson::SUCCESS;
    }
    case json_type::object: {
      simdjson::ondemand::object object;
      if (auto error = value.get_object().get(object)) return error;
      for (auto member : object) {
        simdjson::ondemand::field field;
        if (auto error = std::move(member).get(field)) return error;
        std::string_view key;
        if (auto error = field.unescaped_key().get(key)) return error;
        if (auto error = consume_json(field.value(), depth + 1)) return error;
      }
      return simdjson::SUCCESS;
    }
    case json_type::number: return value.get_number().error();
    case json_type::string: return value.get_string().error();
    case json_type::boolean: return value.get_bool().error();
    case json_type::null: {
      bool is_null = false;
      if (auto error = value.is_null().get(is_null)) return error;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

/// Where On-Demand stops reading `text` (which has no lexical errors and no nesting beyond the
/// limit), or nullopt when it finds nothing wrong.
inline std::optional<std::size_t> find_structural_json_error(std::string_view text) {
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(text);
  simdjson::ondemand::document document;
  if (parser.iterate(padded).get(document)) return std::size_t{0};
  using simdjson::ondemand::json_type;
  json_type type{};
  simdjson::error_code error = document.type().get(type);
  if (!error) {
    switch (type) {
      case json_type::array:
      case json_type::object: {
        simdjson::ondemand::value root;
        error = document.get_value().get(root);
        if (!error) error = consume_json(root, 1);
        break;
      }
      case json_type::number: error = document.get_number().error(); break;
      case json_type::string: error = document.get_string().error(); break;
      case json_type::boolean: error = document.get_bool().error(); break;
      case json_type::null: {
        bool is_null = false;
        error = document.is_null().get(is_null);
        if (!error && !is_null) error = simdjson::N_ATOM_ERROR;
        break;
      }
    }
  }
  const char* location = nullptr;
  const bool in_bounds = !document.current_location().get(location);
  // After an error, the location is where reading stopped; after a complete root value, a token
  // that is still there is trailing content.
  if (error) return in_bounds ? static_cast<std::size_t>(location - padded.data()) : text.size();
  if (in_bounds) return static_cast<std::size_t>(location - padded.data());
  return std::nullopt;
}

/// True when only one token (no brackets, commas or colons) and whitespace follow `offset`.
inline bool is_last_token(std::string_view text, std::size_t offset) noexcept {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t i = offset;
  while (i < text.size() && !space(text[i]) && text[i] != ',' && text[i] != ':' && text[i] != '[' &&
         text[i] != ']' && text[i] != '{' && text[i] != '}')
    ++i;
  while (i < text.size() && space(text[i])) ++i;
  return i == text.size();
}

/// Up to 16 characters of `text` for an error message: escaped as in a JSON string, and bytes that
/// are not UTF-8 as \xNN, so the message itself is always valid UTF-8.
inline std::string printable_excerpt(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string shown;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  for (int characters = 0; p < end && characters < 16; ++characters) {
    const std::size_t size = utf8_sequence_size(p, end);
    if (size == 0) {
      shown += "\\x";
      shown += hex[*p >> 4];
      shown += hex[*p & 0xF];
      ++p;
      continue;
    }
    const std::string_view character(reinterpret_cast<const char*>(p), size);
    const std::size_t at = shown.size();
    shown.resize(at + json_string_size(character) - 2);
    write_json_string_body(shown.data() + at, character);
    p += size;
  }
  return shown;
}

struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;
};

inline TextPosition text_position(std::string_view text, std::size_t offset) noexcept {
  TextPosition position;
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

[[noreturn]] inline void throw_json_parse_error(std::string_view text, simdjson::error_code code) {
  // simdjson's DOM parser decided that the text is malformed and why; find where.
  std::string what(json_error_description(code));
  std::size_t offset = 0;
  const JsonLexicalScan scan = scan_json_lexically(text);
  auto first_of = [&](std::optional<std::size_t> found) { offset = found.value_or(text.size()); };
  switch (code) {
    case simdjson::EMPTY: break;
    case simdjson::UTF8_ERROR: first_of(scan.invalid_utf8); break;
    case simdjson::UNESCAPED_CHARS: first_of(scan.control_character); break;
    case simdjson::UNCLOSED_STRING: first_of(scan.unclosed_string); break;
    case simdjson::DEPTH_ERROR: first_of(scan.too_deep); break;
    default: {
      if (scan.too_deep) {  // too deep for the On-Demand pass as well; simdjson refuses it in any case
        what = json_error_description(simdjson::DEPTH_ERROR);
        offset = *scan.too_deep;
        break;
      }
      const std::optional<std::size_t> stopped = find_structural_json_error(text);
      if (scan.stray_close && (!stopped || *scan.stray_close < *stopped)) {
        offset = *scan.stray_close;
        what = "closing bracket without a matching opening one";
      } else if (scan.unclosed_bracket && (!stopped || is_last_token(text, *stopped))) {
        // Truncated text: the error is its end.
        const TextPosition opened = text_position(text, *scan.unclosed_bracket);
        what = "unclosed bracket (opened at line " + std::to_string(opened.line) + ", column " +
               std::to_string(opened.column) + ")";
        offset = text.size();
      } else {
        offset = stopped.value_or(text.size());
      }
    }
  }
  const TextPosition position = text_position(text, offset);
  const std::string where = "line " + std::to_string(position.line) + ", column " + std::to_string(position.column);
  std::string message = "parse_json: " + what;
  if (offset == text.size() && code != simdjson::EMPTY) {
    message += " at the end of the input (" + where + ", byte " + std::to_string(offset) + ")";
  } else {
    message += " at " + where + " (byte " + std::to_string(offset) + ")";
    if (offset < text.size()) message += " near \"" + printable_excerpt(text.substr(offset)) + "\"";
  }
  throw serialization::json_parse_error(message, offset, position.line, position.column);
}

inline JsonValue to_json_value(simdjson::dom::element element) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::ARRAY: {
      const simdjson::dom::array items = element.get_array().value_unsafe();
      JsonValue::Array array;
      array.reserve(items.size());
      for (const simdjson::dom::element item : items) array.push_back(to_json_value(item));
      return JsonValue(std::move(array));
    }
    case element_type::OBJECT: {
      const simdjson::dom::object members = element.get_object().value_unsafe();
      JsonValue::Object object;
      for (const simdjson::dom::key_value_pair member : members)
        object.insert_or_assign(std::string(member.key), to_json_value(member.value));
      return JsonValue(std::move(object));
    }
    case element_type::INT64: return JsonValue(element.get_int64().value_unsafe());
    case element_type::UINT64: return JsonValue(element.get_uint64().value_unsafe());
    case element_type::DOUBLE: return JsonValue(element.get_double().value_unsafe());
    case element_type::STRING: return JsonValue(element.get_string().value_unsafe());
    case element_type::BOOL: return JsonValue(element.get_bool().value_unsafe());
    case element_type::NULL_VALUE: return JsonValue(nullptr);
  }
  return JsonValue(nullptr);
}

}  // namespace stageflow::detail

namespace stageflow::serialization {

/// Parses JSON text into JsonValue; keeps simdjson's buffers between documents.
class JsonParser {
 public:
  /// Parses `text`; throws json_parse_error (what, line, column, offset) when it is not valid JSON.
  JsonValue parse(std::string_view text) {
    simdjson::dom::element root;
    if (const auto error = parser_.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root))
      detail::throw_json_parse_error(text, error);
    return detail::to_json_value(root);
  }

 private:
  simdjson::dom::parser parser_;
};

/// Parses JSON text into a JsonValue; throws json_parse_error saying what and where when it is malformed.
inline JsonValue parse_json(std::string_view text) { return JsonParser().parse(text); }

}  // namespace stageflow::serialization
