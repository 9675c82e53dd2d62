// SPDX-License-Identifier: BSL-1.0
// A validated JSON text with byte offsets: simdjson's DOM tape, its string buffer, and the stage-1
// token index (the byte offset of every token: { } [ ] : , and the first byte of every scalar).
//
// Why read two members simdjson marks @private: delta compression must copy values as their exact
// source text (numbers keep their text) and skip equal subtrees cheaply. The DOM element API has
// no source offsets. On-Demand has them, but walking a whole document with it measured 2.3x slower
// than the DOM parser here: the DOM parser is dispatched at run time to the best SIMD kernel,
// while On-Demand's walk runs in the kernel the *caller* was compiled for (the scalar fallback
// without -march flags), and our goal is to stay within 1.5x of a plain DOM parse. So we read the
// parser's tape (its format is documented in simdjson's doc/tape.md) and its structural index.
// Only this header touches them: the static_asserts below fail the build if a simdjson release
// moves them, and check_simdjson_layout() verifies their meaning once per process.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <stageflow/compression/errors.hpp>
#include <stageflow/json/detail/big_integers.hpp>
#include <stageflow/json/detail/locate_error.hpp>

// Reading a few bytes past the end of the caller's text (inside the same memory page) lets simdjson
// parse it in place instead of copying it into a padded buffer. Sanitizers and memory tagging
// would flag those reads, so the copy is always made under them, or when this macro is defined.
#if !defined(STAGEFLOW_COMPRESSION_ALWAYS_COPY_INPUT)
#  if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_HWADDRESS__) || defined(__ARM_FEATURE_MEMORY_TAGGING)
#    define STAGEFLOW_COMPRESSION_ALWAYS_COPY_INPUT 1
#  elif defined(__has_feature)
#    if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer)
#      define STAGEFLOW_COMPRESSION_ALWAYS_COPY_INPUT 1
#    endif
#  endif
#  if !defined(STAGEFLOW_COMPRESSION_ALWAYS_COPY_INPUT) && !(defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__))
#    define STAGEFLOW_COMPRESSION_ALWAYS_COPY_INPUT 1
#  endif
#endif

namespace stageflow::detail::compression {

// The checker lives with the JSON text module now; the fuzz target still calls it by this name.
using stageflow::detail::find_syntax_error;

namespace tape_layout {
// simdjson doc/tape.md: each 64-bit word holds a type character in its top byte and a payload.
inline constexpr std::uint64_t payload_mask = 0x00FFFFFFFFFFFFFFull;
// Containers: the low 32 bits give the index after the matching end word; bits 32..55 the count
// of elements (object members), saturated at this value.
inline constexpr std::uint32_t count_saturated = 0xFFFFFF;
}  // namespace tape_layout

// The members we read, with the types we expect: a simdjson release that changes them fails here.
static_assert(std::is_same_v<decltype(simdjson::dom::parser::implementation),
                             std::unique_ptr<simdjson::internal::dom_parser_implementation>>,
              "stageflow::compression reads simdjson::dom::parser::implementation (simdjson 3.x)");
static_assert(std::is_same_v<decltype(simdjson::internal::dom_parser_implementation::structural_indexes),
                             std::unique_ptr<std::uint32_t[]>>,
              "stageflow::compression reads dom_parser_implementation::structural_indexes (simdjson 3.x)");
static_assert(std::is_same_v<decltype(simdjson::internal::dom_parser_implementation::n_structural_indexes),
                             std::uint32_t>,
              "stageflow::compression reads dom_parser_implementation::n_structural_indexes (simdjson 3.x)");
static_assert(std::is_same_v<decltype(simdjson::dom::document::tape), std::unique_ptr<std::uint64_t[]>> &&
                  std::is_same_v<decltype(simdjson::dom::document::string_buf), std::unique_ptr<std::uint8_t[]>>,
              "stageflow::compression reads simdjson::dom::document::tape and string_buf (simdjson 3.x)");

/// A parsed document. Positions: `t` is an index on the tape, `k` an index in the token list.
/// Views into the parser: valid until that parser parses again.
struct IndexedJson {
  std::string_view text;
  const std::uint64_t* tape = nullptr;
  const std::uint8_t* strings = nullptr;
  const std::uint32_t* tokens = nullptr;  // byte offset of each token
  std::uint32_t token_count = 0;

  /// The root value's tape index (tape[0] is simdjson's root word).
  static constexpr std::uint32_t root = 1;

  char type(std::uint32_t t) const noexcept { return static_cast<char>(tape[t] >> 56); }
  std::uint64_t payload(std::uint32_t t) const noexcept { return tape[t] & tape_layout::payload_mask; }
  bool is_container(std::uint32_t t) const noexcept { return type(t) == '{' || type(t) == '['; }

  /// Tape index just past the value at t.
  std::uint32_t after(std::uint32_t t) const noexcept {
    switch (type(t)) {
      case '{':
      case '[': return static_cast<std::uint32_t>(tape[t]);
      case 'l':
      case 'u':
      case 'd': return t + 2;
      default: return t + 1;
    }
  }

  /// Number of elements of the array, or members of the object, at t.
  std::uint32_t size(std::uint32_t t) const noexcept {
    const auto count = static_cast<std::uint32_t>((tape[t] >> 32) & tape_layout::count_saturated);
    if (count < tape_layout::count_saturated) return count;
    std::uint32_t n = 0;  // saturated: count by walking
    const std::uint32_t end = after(t) - 1;
    for (std::uint32_t i = t + 1; i < end; i = after(i)) {
      if (type(t) == '{') i = after(i);  // the key; the loop step skips the value
      ++n;
    }
    return n;
  }

  /// The decoded content of the string (or key) at t.
  std::string_view string(std::uint32_t t) const noexcept {
    const std::uint8_t* record = strings + payload(t);
    std::uint32_t length;
    std::memcpy(&length, record, sizeof length);
    return {reinterpret_cast<const char*>(record + sizeof length), length};
  }

  /// Tokens of the value at t: 1 for a scalar; brackets, separators and all nested tokens for a container.
  std::uint32_t token_span(std::uint32_t t) const noexcept {
    if (!is_container(t)) return 1;
    const std::uint32_t end = after(t);
    std::uint32_t tokens = 0;
    for (std::uint32_t i = t; i < end;) {
      const char kind = type(i);
      ++tokens;
      if (kind == '{' || kind == '[') {
        const std::uint32_t n = size(i);
        if (n > 0) tokens += kind == '{' ? 2 * n - 1 : n - 1;  // ':' per member, ',' between elements
        ++i;
      } else {
        i += (kind == 'l' || kind == 'u' || kind == 'd') ? 2 : 1;
      }
    }
    return tokens;
  }

  /// Byte offset where token k ends (its last byte + 1), whitespace after it excluded.
  std::size_t token_end(std::uint32_t k) const noexcept {
    const std::size_t begin = tokens[k];
    switch (text[begin]) {
      case '{': case '}': case '[': case ']': case ':': case ',': return begin + 1;
      default: break;
    }
    std::size_t end = k + 1 < token_count ? tokens[k + 1] : text.size();
    while (end > begin) {
      const char c = text[end - 1];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
      --end;
    }
    return end;
  }

  /// Source text of the value whose tokens are [k, k + span) (whitespace inside kept).
  std::string_view value_text(std::uint32_t k, std::uint32_t span) const noexcept {
    return text.substr(tokens[k], token_end(k + span - 1) - tokens[k]);
  }
};

/// Tape-exact equality of two values, as a sufficient test of JSON equality: same kinds, same
/// numbers (integer and floating point apart, bit for bit), same decoded strings, same members in
/// the same order. Returns the token span of the value when equal (always >= 1), 0 otherwise.
/// Strings are compared in one block: simdjson stores them contiguously in document order.
inline std::uint32_t equal_span(const IndexedJson& a, std::uint32_t ta, const IndexedJson& b, std::uint32_t tb) noexcept {
  const std::uint32_t end_a = a.after(ta);
  if (end_a - ta != b.after(tb) - tb) return 0;
  const std::uint32_t shift = tb - ta;  // modular: only differences are compared
  std::uint64_t strings_a = ~std::uint64_t{0}, strings_b = 0, strings_end_a = 0;
  std::uint32_t tokens = 0;
  for (std::uint32_t i = ta, j = tb; i < end_a; ++i, ++j) {
    const std::uint64_t wa = a.tape[i], wb = b.tape[j];
    const char kind = static_cast<char>(wa >> 56);
    if (kind != static_cast<char>(wb >> 56)) return 0;
    ++tokens;
    switch (kind) {
      case '"': {
        const std::uint64_t oa = wa & tape_layout::payload_mask, ob = wb & tape_layout::payload_mask;
        if (strings_a == ~std::uint64_t{0}) {
          strings_a = oa;
          strings_b = ob;
        } else if (oa - strings_a != ob - strings_b) {
          return 0;
        }
        std::uint32_t length;
        std::memcpy(&length, a.strings + oa, sizeof length);
        strings_end_a = oa + sizeof length + length + 1;  // length, bytes, NUL
        break;
      }
      case 'l':
      case 'u':
      case 'd':
        if (a.tape[i + 1] != b.tape[j + 1]) return 0;
        ++i;
        ++j;
        break;
      case '{':
      case '[': {
        if (static_cast<std::uint32_t>(wb) - static_cast<std::uint32_t>(wa) != shift) return 0;
        if (((wa ^ wb) >> 32 & tape_layout::count_saturated) != 0) return 0;
        const std::uint32_t n = a.size(i);
        if (n > 0) tokens += kind == '{' ? 2 * n - 1 : n - 1;
        break;
      }
      default: break;  // '}' ']' are implied by their start; 't' 'f' 'n' carry nothing
    }
  }
  if (strings_a != ~std::uint64_t{0} &&
      std::memcmp(a.strings + strings_a, b.strings + strings_b, strings_end_a - strings_a) != 0)
    return 0;
  return tokens;
}

/// A growable buffer with simdjson's padding after the data, reused across calls.
class PaddedBuffer {
 public:
  char* prepare(std::size_t size) {
    if (size + simdjson::SIMDJSON_PADDING > capacity_) {
      std::size_t capacity = capacity_ < 4096 ? 4096 : capacity_;
      while (capacity < size + simdjson::SIMDJSON_PADDING) capacity *= 2;
      data_ = std::make_unique<char[]>(capacity);
      capacity_ = capacity;
    }
    return data_.get();
  }
  void release() noexcept {
    data_.reset();
    capacity_ = 0;
  }
  const char* assign(std::string_view text) {
    char* data = prepare(text.size());
    if (!text.empty()) std::memcpy(data, text.data(), text.size());
    std::memset(data + text.size(), 0, simdjson::SIMDJSON_PADDING);
    return data;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
};

/// True when SIMDJSON_PADDING bytes after the text can be read: they lie in the memory page of
/// its last byte (pages are at least 4 KiB on every platform this is enabled for).
inline bool padding_is_readable([[maybe_unused]] const char* data, [[maybe_unused]] std::size_t size) noexcept {
#if defined(STAGEFLOW_COMPRESSION_ALWAYS_COPY_INPUT)
  return false;
#else
  if (size == 0 || data == nullptr) return false;
  constexpr std::uintptr_t page = 4096;
  const auto last = reinterpret_cast<std::uintptr_t>(data) + size - 1;
  return last / page == (last + simdjson::SIMDJSON_PADDING) / page;
#endif
}

/// The ParseError for a text simdjson rejected with `code`, with the position when found.
inline stageflow::compression::ParseError make_parse_error(stageflow::compression::JsonArgument argument,
                                                           std::string_view text, simdjson::error_code code) {
  LocatedJsonError located = locate_json_error(text, code);
  return {argument, std::move(located.reason), text, located.offset};
}

/// Parses and validates `text` with `parser`, in place when its padding is readable, else from a
/// copy in `copy`. Throws ParseError naming `argument` when the text is not valid JSON.
inline IndexedJson parse_indexed(simdjson::dom::parser& parser, PaddedBuffer& copy, std::string_view text,
                                 stageflow::compression::JsonArgument argument) {
  const char* data = padding_is_readable(text.data(), text.size()) ? text.data() : copy.assign(text);
  auto error = parser.parse(data, text.size(), false).error();
  if (error == simdjson::NUMBER_ERROR) {
    // Integers beyond 64 bits: parsed again as doubles from a copy with the same offsets
    // (big_integers.hpp); `text` keeps their digits for the values copied as text.
    char* rewritten = const_cast<char*>(data == text.data() ? copy.assign(text) : data);
    if (rewrite_big_integers(rewritten, text.size()) > 0) error = parser.parse(rewritten, text.size(), false).error();
  }
  if (error) throw make_parse_error(argument, text, error);
  IndexedJson doc;
  doc.text = text;
  doc.tape = parser.doc.tape.get();
  doc.strings = parser.doc.string_buf.get();
  doc.tokens = parser.implementation->structural_indexes.get();
  doc.token_count = parser.implementation->n_structural_indexes;
  return doc;
}

/// Verifies once per process that the tape and the token index mean what IndexedJson assumes.
inline void check_simdjson_layout() {
  static const bool layout_ok = [] {
    static constexpr std::string_view sample = R"( {"k" : [1, -2.5, "s", true, null, {}], "e": []} )";
    simdjson::dom::parser parser;
    PaddedBuffer copy;
    IndexedJson doc;
    try {
      doc = parse_indexed(parser, copy, sample, stageflow::compression::JsonArgument::base);
    } catch (const stageflow::compression::ParseError&) {
      return false;
    }
    // Tokens: { "k" : [ 1 , -2.5 , "s" , true , null , { } ] , "e" : [ ] }
    static constexpr std::string_view expected_tokens[] = {"{", "\"k\"", ":", "[", "1", ",", "-2.5", ",", "\"s\"",
                                                           ",", "true", ",", "null", ",", "{", "}", "]", ",",
                                                           "\"e\"", ":", "[", "]", "}"};
    if (doc.token_count != std::size(expected_tokens)) return false;
    for (std::uint32_t k = 0; k < doc.token_count; ++k) {
      if (doc.text.substr(doc.tokens[k], doc.token_end(k) - doc.tokens[k]) != expected_tokens[k]) return false;
    }
    const std::uint32_t root = IndexedJson::root;
    return doc.type(root) == '{' && doc.size(root) == 2 && doc.string(root + 1) == "k" && doc.type(root + 2) == '[' &&
           doc.size(root + 2) == 6 && doc.type(root + 3) == 'l' && doc.type(root + 5) == 'd' &&
           doc.token_span(root) == doc.token_count && doc.after(root) + 1 == doc.payload(0);
  }();
  if (!layout_ok)
    throw std::logic_error(
        "stageflow::compression: this simdjson build does not have the DOM tape and structural index layout "
        "stageflow expects (tested with simdjson 3.0.1)");
}

}  // namespace stageflow::detail::compression
