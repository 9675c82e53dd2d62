// SPDX-License-Identifier: BSL-1.0
// Showing untrusted text inside an error message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stageflow::detail {

/// The text in double quotes as it can be shown in a message: printable ASCII kept, other bytes
/// (and quote and backslash) as \xNN, cut after `max_shown` bytes with the full length noted, since
/// a caller may hand us a whole request body.
inline std::string quote_for_message(std::string_view text, std::size_t max_shown = 64) {
  constexpr char digits[] = "0123456789abcdef";
  std::string quoted = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      quoted += static_cast<char>(c);
    } else {
      quoted += "\\x";
      quoted += digits[c >> 4];
      quoted += digits[c & 0xF];
    }
  }
  quoted += '"';
  if (text.size() > max_shown) quoted += "... (" + std::to_string(text.size()) + " bytes)";
  return quoted;
}

}  // namespace stageflow::detail
