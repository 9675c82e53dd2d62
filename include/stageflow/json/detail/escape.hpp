// SPDX-License-Identifier: BSL-1.0
// The one JSON string escaper: the canonical JSON text of a string, shared by the writer (which
// emits it), the byte counter (which only measures it), the sinks, the fingerprint's paths, the
// error messages and the delta compressor, so they cannot disagree.
//
// UTF-8 bytes are written as they are; only what JSON requires is escaped: `"` and `\`, the control
// characters U+0000..U+001F (\b \f \n \r \t by name, the rest as \u00xx in lower-case hex).
// Most text needs no escape, so it is tested 16 bytes (SSE2) or 8 bytes (SWAR) at a time, the tail
// and short strings included (for_each_escaped_byte).
#pragma once

#include <array>
#include <bit>
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

/// 8 bytes as a word whose byte i (bits 8i..8i+7) is p[i], whatever the machine's byte order.
inline std::uint64_t load_u64(const char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
  return word;
}

inline std::uint64_t load_u32(const char* p) noexcept {
  std::uint32_t word;
  std::memcpy(&word, p, sizeof word);
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap32(word);
  return word;
}

/// The 1..7 bytes at `p` as a word (byte i is p[i], the rest 0), read without going past p + size:
/// two overlapping 4-byte loads, or the first, middle and last bytes for 1..3.
inline std::uint64_t load_short(const char* p, std::size_t size) noexcept {
  if (size >= 4) return load_u32(p) | (load_u32(p + size - 4) >> (8 * (8 - size)) << 32);
  const auto byte = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i); };
  return byte(0) | byte(size / 2) | byte(size - 1);
}

/// The high bit of each byte of `word` that must be escaped (below 0x20, `"` or `\`), exactly:
/// the tests keep every byte below 0x100, so no carry or borrow crosses into the next byte.
inline std::uint64_t escape_bits(std::uint64_t word) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t low7 = ones * 0x7F;
  constexpr std::uint64_t high = ones * 0x80;
  const auto is_zero = [](std::uint64_t x) { return ~(((x & low7) + low7) | x) & high; };
  const std::uint64_t control = ~(((word & low7) + ones * (0x80 - 0x20)) | word) & high;
  return control | is_zero(word ^ (ones * '"')) | is_zero(word ^ (ones * '\\'));
}

#if defined(__SSE2__)
/// Bit i is set when byte i of the 16 at `p` must be escaped.
inline unsigned escape_mask16(const char* p) noexcept {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'));
  const __m128i limit = _mm_set1_epi8(0x1F);
  const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(bytes, limit), limit);  // unsigned byte <= 0x1F
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)));
}
#endif

/// Calls `found(i)` for each index i of `text` whose byte must be escaped, in order. Whole blocks
/// are tested at once (16 bytes with SSE2, else 8), and so is the tail: the last block is read
/// again overlapping the ones before (its bytes already seen masked off), and a string shorter than
/// a word is gathered by load_short. Nothing is ever read outside `text`, and no byte goes one by one.
template <class Found>
inline void for_each_escaped_byte(std::string_view text, Found&& found) {
  const char* const p = text.data();
  const std::size_t size = text.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  if (size >= 16) {
    for (; size - i >= 16; i += 16)
      for (unsigned mask = escape_mask16(p + i); mask != 0; mask &= mask - 1)
        found(i + static_cast<std::size_t>(__builtin_ctz(mask)));
    if (i != size) {
      const std::size_t last = size - 16;
      for (unsigned mask = escape_mask16(p + last) & (0xFFFFu << (i - last)); mask != 0; mask &= mask - 1)
        found(last + static_cast<std::size_t>(__builtin_ctz(mask)));
    }
    return;
  }
#endif
  const auto report = [&](std::size_t at, std::uint64_t bits) {
    for (; bits != 0; bits &= bits - 1) found(at + static_cast<std::size_t>(__builtin_ctzll(bits)) / 8);
  };
  if (size >= 8) {
    for (; size - i >= 8; i += 8) report(i, escape_bits(load_u64(p + i)));
    if (i != size) {
      const std::size_t last = size - 8;
      report(last, escape_bits(load_u64(p + last)) & (~std::uint64_t{0} << (8 * (i - last))));
    }
  } else if (size != 0) {
    report(0, escape_bits(load_short(p, size)) & ((std::uint64_t{1} << (8 * size)) - 1));
  }
}

/// Size of `"text"` as canonical JSON, quotes included.
inline std::size_t json_string_size(std::string_view text) noexcept {
  std::size_t size = text.size() + 2;
  for_each_escaped_byte(text, [&](std::size_t i) { size += json_escape_extra[static_cast<unsigned char>(text[i])]; });
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
// Not for_each_escaped_byte: here the tail is cheap next to the copying, and this loop measured
// fewer instructions in the writer (callgrind, twitter.json).
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
    if (end - p >= 8 && escape_bits(load_u64(p)) == 0) {
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
