// SPDX-License-Identifier: BSL-1.0
// Integers beyond 64 bits, read as doubles (as JavaScript reads them, and writes them:
// fast-json-patch and JSON.stringify write -9223372036854776000). simdjson 3.0's DOM parser
// refuses them with NUMBER_ERROR and has no option to read them as doubles, so after that error
// the text is parsed again from a copy in which each such integer is rewritten as the same double
// in no more bytes, padded with spaces: every token keeps its offset, so callers that copy values
// as their source text (compression) still copy the integer as it was written. A number that
// does not fit a double (1e400, or an integer of 400 digits) stays an error.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace stageflow::detail {

/// True when the digits [first, last) (no sign) are a value beyond UINT64_MAX, or beyond 2^63 when
/// `negative`: an integer simdjson refuses.
inline bool integer_beyond_64_bits(const char* first, const char* last, bool negative) noexcept {
  std::uint64_t value = 0;
  for (const char* p = first; p != last; ++p) {
    const auto digit = static_cast<std::uint64_t>(*p - '0');
    if (value > (UINT64_MAX - digit) / 10) return true;
    value = value * 10 + digit;
  }
  return negative && value > (std::uint64_t{1} << 63);
}

/// Rewrites the integer [first, last) (sign included) as its nearest double, written as digits
/// and a decimal exponent ("18446744073709552e3"), then spaces to the same length. False (nothing
/// written) when it does not fit a double or the text would be longer.
inline bool rewrite_integer_as_double(char* first, char* last) noexcept {
  double value = 0;
  const auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last) return false;
  char scientific[32];  // "-d.ddddddddddddddddde+308"
  const auto written = std::to_chars(scientific, scientific + sizeof scientific, value, std::chars_format::scientific);
  if (written.ec != std::errc()) return false;
  const char* e = static_cast<const char*>(std::memchr(scientific, 'e', static_cast<std::size_t>(written.ptr - scientific)));
  if (e == nullptr) return false;
  int exponent = 0;
  const char* exponent_text = e[1] == '+' ? e + 2 : e + 1;
  if (std::from_chars(exponent_text, written.ptr, exponent).ec != std::errc()) return false;
  char out[40];
  std::size_t n = 0, digits = 0;
  for (const char* p = scientific; p != e; ++p) {
    if (*p == '.') continue;
    out[n++] = *p;
    if (*p != '-') ++digits;
  }
  exponent -= static_cast<int>(digits) - 1;  // value = digits x 10^exponent
  if (exponent < 0) return false;            // cannot happen for an integer beyond 64 bits
  out[n++] = 'e';
  n = static_cast<std::size_t>(std::to_chars(out + n, out + sizeof out, exponent).ptr - out);
  if (n > static_cast<std::size_t>(last - first)) return false;
  std::memcpy(first, out, n);
  std::memset(first + n, ' ', static_cast<std::size_t>(last - first) - n);
  return true;
}

/// Rewrites every integer beyond 64 bits in the JSON text `data` (outside strings) that fits a
/// double, in place, as rewrite_integer_as_double does. Returns how many it rewrote. Text that is
/// not JSON is left for the parser to refuse.
inline std::size_t rewrite_big_integers(char* data, std::size_t size) noexcept {
  std::size_t rewritten = 0;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t i = 0; i < size;) {
    const char c = data[i];
    if (c == '"') {  // skip the string, escapes included
      for (++i; i < size && data[i] != '"'; ++i)
        if (data[i] == '\\') ++i;
      ++i;
      continue;
    }
    if (c != '-' && !digit(c)) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    const bool negative = c == '-';
    if (negative) ++i;
    const std::size_t digits = i;
    while (i < size && digit(data[i])) ++i;
    const std::size_t digits_end = i;
    bool integer = true;
    while (i < size && (digit(data[i]) || data[i] == '.' || data[i] == 'e' || data[i] == 'E' || data[i] == '+' ||
                        data[i] == '-')) {
      integer = false;
      ++i;
    }
    if (integer && digits_end - digits >= 19 && data[digits] != '0' &&
        integer_beyond_64_bits(data + digits, data + digits_end, negative) &&
        rewrite_integer_as_double(data + start, data + digits_end))
      ++rewritten;
  }
  return rewritten;
}

}  // namespace stageflow::detail
