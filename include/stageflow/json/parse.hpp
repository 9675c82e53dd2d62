// SPDX-License-Identifier: BSL-1.0
// JSON text to stageflow::JsonValue, with simdjson.
//
//   JsonValue doc = stageflow::serialization::parse_json(R"({"user": {"tier": "gold"}})");
//
// Strict RFC 8259 (simdjson's DOM parser: it accepts every y_ case of JSONTestSuite and rejects
// every n_ case), type-exact: an integer stays an integer (int64, or uint64 above INT64_MAX), a
// number with a fraction or exponent is a double, so 1 and 1.0 come back as different values. An
// integer beyond 64 bits is read as the nearest double, as JavaScript reads it (JSON written by
// JavaScript has them: -9223372036854776000). Limits, each a JsonParseError rather than a silent
// approximation: numbers beyond the double range (1e400), nesting deeper than 1024, invalid UTF-8. When an object repeats
// a key the last value wins (as JSON.parse does).
//
// Malformed text throws JsonParseError (json/parse_error.hpp) saying what and where (line, column,
// byte offset), found by the one strict checker that compression uses too:
//   parse_json: expected a string as object key, found '}' at line 1, column 9 (byte 8) near "}"
//   parse_json: unclosed bracket (opened at line 1, column 1): expected ',' or ']' at the end of the input (line 3, column 2, byte 12)
//
// This is the only JSON value header that includes <simdjson.h>, which is heavy to compile.
// Reuse a JsonParser to parse many documents without reallocating simdjson's buffers.
#pragma once

#include <stageflow/json/detail/big_integers.hpp>
#include <stageflow/json/detail/locate_error.hpp>
#include <stageflow/json/parse_error.hpp>
#include <stageflow/json/value.hpp>

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow::detail {

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
      // Members are collected in document order, then sorted once (inserting each in place would
      // move the later ones every time). A repeated key keeps its last value, as in most parsers.
      const simdjson::dom::object members = element.get_object().value_unsafe();
      JsonValue::Object::container_type entries;
      entries.reserve(members.size());
      for (const simdjson::dom::key_value_pair member : members)
        entries.emplace_back(std::string(member.key), to_json_value(member.value));
      return JsonValue(JsonValue::Object::from_members(std::move(entries)));
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
  /// Parses `text`; throws JsonParseError (what, line, column, offset) when it is not valid JSON.
  JsonValue parse(std::string_view text) {
    simdjson::dom::element root;
    auto error = parser_.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root);
    if (error == simdjson::NUMBER_ERROR) {
      // Integers beyond 64 bits: parsed again as doubles (json/detail/big_integers.hpp).
      simdjson::padded_string copy(text);
      if (detail::rewrite_big_integers(copy.data(), copy.size()) > 0)
        error = parser_.parse(copy.data(), copy.size(), false).get(root);
      if (!error) return detail::to_json_value(root);  // before `copy`, which strings point into, is gone
    }
    if (error) {
      detail::LocatedJsonError located = detail::locate_json_error(text, error);
      throw JsonParseError("parse_json", std::move(located.reason), text, located.offset);
    }
    return detail::to_json_value(root);
  }

 private:
  simdjson::dom::parser parser_;
};

/// Parses JSON text into a JsonValue; throws JsonParseError saying what and where when it is malformed.
inline JsonValue parse_json(std::string_view text) { return JsonParser().parse(text); }

/// The name this error had before JSON text had one module (kept for existing catch clauses).
using json_parse_error = JsonParseError;

}  // namespace stageflow::serialization
