// The one JSON string escaper: the canonical JSON text of a string, shared by the writer (which
// emits it), the byte counter (which only measures it), the sinks, the fingerprint's paths, the
// error messages and the delta compressor, so they cannot disagree.
//
// UTF-8 bytes are written as they are; only what JSON requires is escaped: `"` and `\`, the control
// characters U+0000..U+001F (\b \f \n \r \t by name, the rest as \u00xx in lower-case hex).
// Most text needs no escape, so it is skipped 16 bytes (SSE2) or 8 bytes (SWAR) at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

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

/// Appends `text` as a JSON string literal, quotes included.
inline void append_json_string(std::string& out, std::string_view text) {
  const std::size_t at = out.size();
  out.resize(at + json_string_size(text));
  char* p = out.data() + at;
  *p++ = '"';
  p = write_json_string_body(p, text);
  *p = '"';
}

/// Appends the escaped body of `text` (no quotes).
inline void append_json_string_body(std::string& out, std::string_view text) {
  const std::size_t at = out.size();
  out.resize(at + json_string_size(text) - 2);
  write_json_string_body(out.data() + at, text);
}

}  // namespace stageflow::detail
