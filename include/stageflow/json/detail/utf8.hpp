// SPDX-License-Identifier: BSL-1.0
// One UTF-8 sequence checked by RFC 3629's rules (no overlong forms, no surrogates, at most
// U+10FFFF), shared by the JSON syntax checker and parse_json's error scan.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stageflow::detail {

struct Utf8Sequence {
  enum class Problem : std::uint8_t { none, bad_lead, truncated, bad_continuation };
  std::size_t size = 0;  // bytes of the sequence when there is no problem
  Problem problem = Problem::none;
};

/// The sequence that starts at `p` (before `end`).
inline Utf8Sequence check_utf8_sequence(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char lead = *p;
  if (lead < 0x80) return {1, Utf8Sequence::Problem::none};
  std::size_t size = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    size = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    size = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;  // U+D800..U+DFFF are not characters
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    size = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return {0, Utf8Sequence::Problem::bad_lead};
  }
  if (static_cast<std::size_t>(end - p) < size) return {0, Utf8Sequence::Problem::truncated};
  if (p[1] < low || p[1] > high) return {0, Utf8Sequence::Problem::bad_continuation};
  for (std::size_t i = 2; i < size; ++i)
    if (p[i] < 0x80 || p[i] > 0xBF) return {0, Utf8Sequence::Problem::bad_continuation};
  return {size, Utf8Sequence::Problem::none};
}

}  // namespace stageflow::detail
