// SPDX-License-Identifier: BSL-1.0
// The words apply_delta's errors are made of: what kind a value is, where a pointer leads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace stageflow::detail::compression {

inline std::string_view kind_name(char type) noexcept {
  switch (type) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 'l':
    case 'u':
    case 'd': return "a number";
    case 't':
    case 'f': return "a boolean";
    default: return "null";
  }
}

// The pointer of the first `count` tokens, for messages.
inline std::string pointer_prefix(const std::vector<std::string>& tokens, std::size_t count) {
  std::string pointer;
  for (std::size_t i = 0; i < count; ++i) {
    pointer += '/';
    for (const char c : tokens[i]) {
      if (c == '~')
        pointer += "~0";
      else if (c == '/')
        pointer += "~1";
      else
        pointer += c;
    }
  }
  return pointer;
}

inline std::string element_count(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " element" : " elements");
}

inline std::string location(const std::vector<std::string>& tokens, std::size_t count) {
  return count == 0 ? std::string("the document root") : "\"" + pointer_prefix(tokens, count) + "\"";
}

}  // namespace stageflow::detail::compression
