// The bytes of canonical JSON, shared by the writer (which emits them) and the byte counter (which
// only measures them), so the two cannot disagree by construction.
//
// Strings: UTF-8 bytes are written as they are; only what JSON requires is escaped: `"` and `\`,
// the control characters U+0000..U+001F (\b \f \n \r \t by name, the rest as \u00xx in lower-case
// hex). Numbers: integers exactly; floating point as the shortest text that reads back to the same
// value (std::to_chars), with ".0" added when that text would read back as an integer, so a double
// stays a double through a round trip. NaN and the infinities have no JSON form and are written as
// `null`, as JavaScript's JSON.stringify does.
//
// Also the appending forms the event sinks use (strings, UUIDs, UTC timestamps).
#pragma once

#include <boost/uuid/uuid.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

namespace stageflow::detail {

/// Extra bytes the escaped form of each byte takes: 0 (as is), 1 (\" \\ \b \f \n \r \t) or 5 (\u00xx).
inline constexpr std::array<std::uint8_t, 256> json_escape_extra = [] {
  std::array<std::uint8_t, 256> extra{};
  for (int c = 0; c < 0x20; ++c) extra[static_cast<std::size_t>(c)] = 5;
  for (unsigned char c : {'\b', '\f', '\n', '\r', '\t', '"', '\\'}) extra[c] = 1;
  return extra;
}();

/// The letter after the backslash for the short escapes, 0 for the \u00xx ones.
inline constexpr char json_short_escape(unsigned char c) noexcept {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default: return 0;
  }
}

inline std::uint64_t load_u64(const char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

/// True when one of the 8 bytes must be escaped: below 0x20, `"` or `\`. Exact for the question
/// "is there any"; which bytes they are is left to the table (SWAR borrows can mark later bytes).
inline bool word_needs_escape(std::uint64_t word) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  const std::uint64_t below_space = (word - ones * 0x20) & ~word & high;
  const std::uint64_t quote = word ^ (ones * '"');
  const std::uint64_t backslash = word ^ (ones * '\\');
  const std::uint64_t has_quote = (quote - ones) & ~quote & high;
  const std::uint64_t has_backslash = (backslash - ones) & ~backslash & high;
  return (below_space | has_quote | has_backslash) != 0;
}

#if defined(__SSE2__)
/// Bit i is set when byte i of the 16 at `p` must be escaped (exact, unlike the SWAR test).
inline unsigned escape_mask16(const char* p) noexcept {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'));
  const __m128i limit = _mm_set1_epi8(0x1F);
  const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(bytes, limit), limit);  // unsigned byte <= 0x1F
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)));
}
#endif

/// Size of `"text"` as canonical JSON, quotes included.
inline std::size_t json_string_size(std::string_view text) noexcept {
  std::size_t size = text.size() + 2;
  const char* p = text.data();
  const char* const end = p + text.size();
  // Most text needs no escape: skip it a block at a time, count only in blocks that have some.
#if defined(__SSE2__)
  for (; end - p >= 16; p += 16) {
    for (unsigned mask = escape_mask16(p); mask != 0; mask &= mask - 1)
      size += json_escape_extra[static_cast<unsigned char>(p[__builtin_ctz(mask)])];
  }
#endif
  for (; end - p >= 8; p += 8) {
    if (!word_needs_escape(load_u64(p))) continue;
    for (int i = 0; i < 8; ++i) size += json_escape_extra[static_cast<unsigned char>(p[i])];
  }
  for (; p != end; ++p) size += json_escape_extra[static_cast<unsigned char>(*p)];
  return size;
}

/// Writes the escape sequence of `c` (a byte that needs one) at `out`; returns the end.
inline char* write_json_escape(char* out, unsigned char c) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  *out++ = '\\';
  if (const char letter = json_short_escape(c)) {
    *out++ = letter;
    return out;
  }
  std::memcpy(out, "u00", 3);
  out[3] = hex[c >> 4];
  out[4] = hex[c & 0xF];
  return out + 5;
}

/// Writes the escaped body of a string (no quotes) at `out`, which has room for
/// json_string_size(text) - 2 bytes; returns the end.
inline char* write_json_string_body(char* out, std::string_view text) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  const char* run = p;  // start of the bytes not yet copied
  auto flush = [&](const char* upto) {
    // A default-constructed string_view has a null data(): memcpy from null is undefined even for
    // 0 bytes, so empty runs are not copied at all.
    if (upto == run) return;
    std::memcpy(out, run, static_cast<std::size_t>(upto - run));
    out += upto - run;
  };
#if defined(__SSE2__)
  for (; end - p >= 16; p += 16) {
    for (unsigned mask = escape_mask16(p); mask != 0; mask &= mask - 1) {
      const char* const special = p + __builtin_ctz(mask);
      flush(special);
      out = write_json_escape(out, static_cast<unsigned char>(*special));
      run = special + 1;
    }
  }
#endif
  while (p != end) {
    if (end - p >= 8 && !word_needs_escape(load_u64(p))) {
      p += 8;
      continue;
    }
    const auto c = static_cast<unsigned char>(*p);
    if (json_escape_extra[c] != 0) {
      flush(p);
      out = write_json_escape(out, c);
      run = p + 1;
    }
    ++p;
  }
  flush(end);
  return out;
}

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

/// Length of a UUID's canonical text, 8-4-4-4-12 hex digits.
inline constexpr std::size_t uuid_text_size = 36;

/// Writes the canonical lower-case text of `id` (36 bytes, no quotes) at `out`; returns the end.
inline char* write_uuid_text(char* out, const boost::uuids::uuid& id) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = hex[id.data[i] >> 4];
    *out++ = hex[id.data[i] & 0xF];
  }
  return out;
}

/// Appends `text` as a JSON string literal, quotes included.
inline void append_json_string(std::string& out, std::string_view text) {
  const std::size_t at = out.size();
  out.resize(at + json_string_size(text));
  char* p = out.data() + at;
  *p++ = '"';
  p = write_json_string_body(p, text);
  *p = '"';
}

/// Appends the canonical 36-character text of a UUID (lower case, no quotes).
inline void append_uuid(std::string& out, const boost::uuids::uuid& id) {
  const std::size_t at = out.size();
  out.resize(at + uuid_text_size);
  write_uuid_text(out.data() + at, id);
}

/// Appends an ISO 8601 UTC timestamp with microseconds: 2026-11-29T21:51:51.123456Z.
inline void append_utc_timestamp(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto micros = duration_cast<microseconds>(t.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(micros / 1'000'000);
  auto fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    --seconds;
  }
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[40];
  const int n = std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                              utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                              static_cast<long>(fraction));
  out.append(buffer, static_cast<std::size_t>(n));
}

}  // namespace stageflow::detail
