// SPDX-License-Identifier: BSL-1.0
// A test oracle for JSON equality, independent of stageflow::compression's own code: it uses only
// simdjson's public DOM API. Type-exact: integers and floating-point numbers are different kinds
// (1 != 1.0); a duplicated object key is read as its last value (as the library documents); an
// integer beyond 64 bits is the nearest double (as the library documents: the one shared piece,
// json/detail/big_integers.hpp, rewrites such integers for simdjson, which refuses them).
#pragma once

#include <stageflow/json/detail/big_integers.hpp>

#include <simdjson.h>

#include <cmath>
#include <map>
#include <string>
#include <string_view>

namespace stageflow::testing {

namespace oracle_detail {

inline bool same(simdjson::dom::element a, simdjson::dom::element b) {
  using simdjson::dom::element_type;
  const auto integer = [](element_type type) {
    return type == element_type::INT64 || type == element_type::UINT64;
  };
  const element_type ta = a.type(), tb = b.type();
  if (integer(ta) && integer(tb)) {
    if (ta == tb) return ta == element_type::INT64 ? int64_t(a) == int64_t(b) : uint64_t(a) == uint64_t(b);
    return false;  // simdjson uses UINT64 only above INT64_MAX: such values never equal an INT64
  }
  if (ta != tb) return false;
  switch (ta) {
    case element_type::DOUBLE: return double(a) == double(b) && std::signbit(double(a)) == std::signbit(double(b));
    case element_type::STRING: return std::string_view(a) == std::string_view(b);
    case element_type::BOOL: return bool(a) == bool(b);
    case element_type::NULL_VALUE: return true;
    case element_type::ARRAY: {
      simdjson::dom::array x = a, y = b;
      if (x.size() != y.size()) return false;
      auto i = x.begin(), j = y.begin();
      for (; i != x.end(); ++i, ++j)
        if (!same(*i, *j)) return false;
      return true;
    }
    case element_type::OBJECT: {
      std::map<std::string_view, simdjson::dom::element> x, y;  // last occurrence wins
      for (auto field : simdjson::dom::object(a)) x[field.key] = field.value;
      for (auto field : simdjson::dom::object(b)) y[field.key] = field.value;
      if (x.size() != y.size()) return false;
      for (const auto& [key, value] : x) {
        const auto found = y.find(key);
        if (found == y.end() || !same(value, found->second)) return false;
      }
      return true;
    }
    default: return false;
  }
}

// Parses `text` into `root`, integers beyond 64 bits as doubles; false when it is not JSON.
inline bool parse(simdjson::dom::parser& parser, simdjson::padded_string& text, simdjson::dom::element& root) {
  auto error = parser.parse(text).get(root);
  if (error == simdjson::NUMBER_ERROR && stageflow::detail::rewrite_big_integers(text.data(), text.size()) > 0)
    error = parser.parse(text).get(root);
  return !error;
}

}  // namespace oracle_detail

/// True when `text` is JSON as the library reads it (simdjson's verdict, integers beyond 64 bits
/// read as doubles).
inline bool json_valid(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  return oracle_detail::parse(parser, padded, root);
}

/// True when both texts are valid JSON with the same value (type-exact). False when either is invalid.
inline bool json_equal(std::string_view a, std::string_view b) {
  simdjson::dom::parser parser_a, parser_b;
  simdjson::padded_string padded_a(a), padded_b(b);
  simdjson::dom::element x, y;
  if (!oracle_detail::parse(parser_a, padded_a, x) || !oracle_detail::parse(parser_b, padded_b, y)) return false;
  return oracle_detail::same(x, y);
}

/// True when `text` is valid JSON with no whitespace outside strings (as apply_delta promises).
inline bool is_minified_json(std::string_view text) {
  std::string out(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  std::size_t length = 0;
  if (simdjson::minify(text.data(), text.size(), out.data(), length) != simdjson::SUCCESS) return false;
  return length == text.size() && json_valid(text);
}

/// `text` minified (simdjson's minifier; the text must be valid JSON).
inline std::string minify_json(std::string_view text) {
  std::string out(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  std::size_t length = 0;
  if (simdjson::minify(text.data(), text.size(), out.data(), length) != simdjson::SUCCESS) return std::string(text);
  out.resize(length);
  return out;
}

}  // namespace stageflow::testing
