// SPDX-License-Identifier: BSL-1.0
// RFC 6901 JSON Pointers: reading them into tokens, writing tokens onto them, array index tokens.
#pragma once

#include <stageflow/json/detail/escape.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stageflow::detail {

/// Splits `pointer` into unescaped reference tokens ("/a~1b/0" -> {"a/b", "0"}). Returns an error
/// reason, or an empty string on success. The empty pointer "" is the whole document (no tokens).
inline std::string split_pointer(std::string_view pointer, std::vector<std::string>& tokens) {
  tokens.clear();
  if (pointer.empty()) return {};
  if (pointer.front() != '/') return "a JSON Pointer must be empty or start with '/'";
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && pointer[i + 1] == '0') {
        token += '~';
      } else if (i + 1 < pointer.size() && pointer[i + 1] == '1') {
        token += '/';
      } else {
        return "invalid escape in JSON Pointer ('~' must be followed by 0 or 1)";
      }
      ++i;
      continue;
    }
    token += pointer[i];
  }
  return {};
}

/// An array index token: decimal digits without leading zeros (RFC 6901 section 4). nullopt if not.
inline std::optional<std::size_t> parse_array_index(std::string_view token) noexcept {
  if (token.empty() || token.size() > 18) return std::nullopt;
  if (token.size() > 1 && token.front() == '0') return std::nullopt;
  std::size_t value = 0;
  for (const char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

/// Appends "/" and the JSON Pointer token for `key` (~ as ~0, / as ~1), JSON-escaped so the result
/// can sit inside a JSON string.
inline void append_pointer_key(std::string& out, std::string_view key) {
  out += '/';
  for (;;) {
    const std::size_t special = key.find_first_of("~/");
    append_json_string_body(out, key.substr(0, special));
    if (special == std::string_view::npos) return;
    out += key[special] == '~' ? "~0" : "~1";
    key.remove_prefix(special + 1);
  }
}

inline void append_pointer_index(std::string& out, std::size_t index) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, index);
  out += '/';
  out.append(digits, result.ptr);
}

}  // namespace stageflow::detail
