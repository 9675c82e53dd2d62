// SPDX-License-Identifier: BSL-1.0
// The canonical JSON text of numbers, shared by the writer (which emits it) and the byte counter
// (which only measures it).
//
// Integers exactly; floating point as the shortest text that reads back to the same value
// (std::to_chars), with ".0" added when that text would read back as an integer, so a double stays
// a double through a round trip. NaN and the infinities have no JSON form and are written as
// `null`, as JavaScript's JSON.stringify does.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace stageflow::detail {

/// Number of decimal digits of `value` (1 for 0): the length std::to_chars gives.
inline constexpr int decimal_digits(std::uint64_t value) noexcept {
  int digits = 1;
  for (;;) {
    if (value < 10) return digits;
    if (value < 100) return digits + 1;
    if (value < 1000) return digits + 2;
    if (value < 10000) return digits + 3;
    value /= 10000;
    digits += 4;
  }
}

inline constexpr std::size_t json_integer_size(std::int64_t value) noexcept {
  // The magnitude of INT64_MIN does not fit int64_t; computed in unsigned arithmetic it does.
  const std::uint64_t magnitude = value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  return static_cast<std::size_t>(decimal_digits(magnitude)) + (value < 0 ? 1 : 0);
}
inline constexpr std::size_t json_integer_size(std::uint64_t value) noexcept {
  return static_cast<std::size_t>(decimal_digits(value));
}

/// Room for any floating-point text written by write_json_floating (long double included).
inline constexpr std::size_t max_floating_chars = 64;

/// Writes `value` as canonical JSON at `out` (room for max_floating_chars); returns the end.
template <class Float>
char* write_json_floating(char* out, Float value) noexcept {
  static_assert(std::is_floating_point_v<Float>);
  if (!std::isfinite(value)) {
    std::memcpy(out, "null", 4);
    return out + 4;
  }
  // Shortest round-trip form: the fewest digits that read back as exactly `value`.
  char* const end = std::to_chars(out, out + max_floating_chars - 2, value).ptr;
  // "1" or "1e+16"? Only the first would read back as an integer: mark it as floating point.
  if (std::memchr(out, '.', static_cast<std::size_t>(end - out)) == nullptr &&
      std::memchr(out, 'e', static_cast<std::size_t>(end - out)) == nullptr) {
    end[0] = '.';
    end[1] = '0';
    return end + 2;
  }
  return end;
}

template <class Float>
std::size_t json_floating_size(Float value) noexcept {
  if (!std::isfinite(value)) return 4;
  char text[max_floating_chars];
  return static_cast<std::size_t>(write_json_floating(text, value) - text);
}

}  // namespace stageflow::detail
