// SPDX-License-Identifier: BSL-1.0
// Finds where a JSON text is malformed, and why, for error messages.
//
// simdjson's DOM parser (which does the real validation, fast) reports only an error code, not a
// position. When it rejects a text, this small strict RFC 8259 checker runs over the same text to
// say where and what: it is never on the fast path. It follows simdjson's extra limits (numbers
// must not overflow a double, integers beyond 64 bits included, as they are read as doubles:
// big_integers.hpp; surrogate escapes must pair up, at most 1024 levels of nesting) so that it finds the error simdjson found. It is the one error
// locator of the JSON text module: parse_json, compress and apply_delta all reach it through
// locate_error.hpp, and tests/fuzz checks it against simdjson.
#pragma once

#include <stageflow/json/detail/big_integers.hpp>

#include <stageflow/json/detail/utf8.hpp>
#include <stageflow/json/parse_error.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace stageflow::detail {

struct SyntaxIssue {
  std::size_t offset;  // byte offset of the offending character (the text's size at end of input)
  std::string reason;
};

class SyntaxChecker {
 public:
  SyntaxChecker(std::string_view text, std::size_t max_depth) : text_(text), max_depth_(max_depth) {}

  /// The first error in document order, or nullopt when the text is valid JSON.
  std::optional<SyntaxIssue> run() {
    skip_whitespace();
    if (at_end()) return issue(pos_, "no JSON value (the text is empty or only whitespace)");
    std::vector<char> open;  // '{' or '[' per nesting level: iterative, so deep input cannot overflow the stack
    std::vector<std::size_t> opened_at;  // and where each opened, for "unclosed bracket" at the end
    for (;;) {
      // Expect a value at pos_.
      if (at_end()) return issue(pos_, "unexpected end of input: expected a value");
      const char c = text_[pos_];
      if (c == '{' || c == '[') {
        if (open.size() >= max_depth_)
          return issue(pos_, "nesting is deeper than " + std::to_string(max_depth_) + " levels");
        open.push_back(c);
        opened_at.push_back(pos_);
        ++pos_;
        skip_whitespace();
        if (!at_end() && text_[pos_] == (c == '{' ? '}' : ']')) {
          open.pop_back();
          opened_at.pop_back();
          ++pos_;
        } else if (c == '{') {
          if (auto bad = object_key()) return bad;
          continue;
        } else {
          continue;
        }
      } else if (c == '"') {
        if (auto bad = string()) return bad;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (auto bad = number()) return bad;
      } else if (c == 't' || c == 'f' || c == 'n') {
        if (auto bad = literal()) return bad;
      } else if (c == ']' && !open.empty() && open.back() == '[') {
        return issue(pos_, "expected a value, found ']' (trailing comma?)");
      } else if (c == '}' && !open.empty() && open.back() == '{') {
        return issue(pos_, "expected a value, found '}'");
      } else {
        return issue(pos_, "expected a value, found " + describe(pos_));
      }
      // After a value: close containers, find the next value or the end.
      for (;;) {
        skip_whitespace();
        if (open.empty()) {
          if (!at_end()) return issue(pos_, "unexpected " + describe(pos_) + " after the document's value");
          return std::nullopt;
        }
        if (at_end())
          return issue(pos_, unclosed(opened_at.back()) +
                                 (open.back() == '{' ? "expected ',' or '}'" : "expected ',' or ']'"));
        const char next = text_[pos_];
        if (next == ',') {
          ++pos_;
          skip_whitespace();
          if (open.back() == '{') {
            if (auto bad = object_key()) return bad;
          }
          break;
        }
        if (next == (open.back() == '{' ? '}' : ']')) {
          open.pop_back();
          opened_at.pop_back();
          ++pos_;
          continue;
        }
        return issue(pos_, open.back() == '{' ? "expected ',' or '}' after an object member, found " + describe(pos_)
                                              : "expected ',' or ']' after an array element, found " + describe(pos_));
      }
    }
  }

 private:
  bool at_end() const noexcept { return pos_ >= text_.size(); }

  void skip_whitespace() noexcept {
    while (!at_end()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
      ++pos_;
    }
  }

  // Truncated text: the end is the error, the innermost open bracket what the reader wants to see.
  std::string unclosed(std::size_t bracket) const {
    const JsonTextPosition opened = text_position(text_, bracket);
    return "unclosed bracket (opened at line " + std::to_string(opened.line) + ", column " +
           std::to_string(opened.column) + "): ";
  }

  static std::optional<SyntaxIssue> issue(std::size_t offset, std::string reason) {
    return SyntaxIssue{offset, std::move(reason)};
  }

  std::string describe(std::size_t at) const {
    if (at >= text_.size()) return "the end of input";
    const auto byte = static_cast<unsigned char>(text_[at]);
    if (byte >= 0x20 && byte < 0x7f) return std::string("'") + static_cast<char>(byte) + "'";
    static constexpr char hex[] = "0123456789ABCDEF";
    return std::string("byte 0x") + hex[byte >> 4] + hex[byte & 15];
  }

  // A key string, then ':' (pos_ at the key's expected start).
  std::optional<SyntaxIssue> object_key() {
    if (at_end()) return issue(pos_, "unexpected end of input: expected an object key");
    if (text_[pos_] != '"') return issue(pos_, "expected a string as object key, found " + describe(pos_));
    if (auto bad = string()) return bad;
    skip_whitespace();
    if (at_end() || text_[pos_] != ':') return issue(pos_, "expected ':' after an object key, found " + describe(pos_));
    ++pos_;
    skip_whitespace();
    return std::nullopt;
  }

  std::optional<SyntaxIssue> literal() {
    const std::string_view rest = text_.substr(pos_);
    for (std::string_view word : {std::string_view("true"), std::string_view("false"), std::string_view("null")}) {
      if (rest.substr(0, word.size()) == word) {
        const std::size_t after = pos_ + word.size();
        if (after < text_.size() && is_word_char(text_[after])) break;  // "truex"
        pos_ = after;
        return std::nullopt;
      }
    }
    return issue(pos_, "invalid literal (expected true, false or null)");
  }

  static bool is_word_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '+' || c == '-';
  }

  static bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

  std::optional<SyntaxIssue> number() {
    const std::size_t start = pos_;
    bool negative = false;
    if (text_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    if (at_end() || !is_digit(text_[pos_])) return issue(pos_, "expected a digit in a number");
    const std::size_t int_start = pos_;
    if (text_[pos_] == '0') {
      ++pos_;
      if (!at_end() && is_digit(text_[pos_])) return issue(start, "a number cannot have leading zeros");
    } else {
      while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    const std::size_t int_end = pos_;
    bool integer = true;
    if (!at_end() && text_[pos_] == '.') {
      integer = false;
      ++pos_;
      if (at_end() || !is_digit(text_[pos_])) return issue(pos_, "expected a digit after the decimal point");
      while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    long long exponent = 0;
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integer = false;
      ++pos_;
      bool exponent_negative = false;
      if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) {
        exponent_negative = text_[pos_] == '-';
        ++pos_;
      }
      if (at_end() || !is_digit(text_[pos_])) return issue(pos_, "expected a digit in the exponent");
      while (!at_end() && is_digit(text_[pos_])) {
        if (exponent < 1'000'000) exponent = exponent * 10 + (text_[pos_] - '0');
        ++pos_;
      }
      if (exponent_negative) exponent = -exponent;
    }
    if (!at_end() && is_word_char(text_[pos_])) return issue(pos_, "unexpected " + describe(pos_) + " in a number");
    if (integer) return integer_in_range(start, int_start, int_end, negative);
    double value = 0;
    const auto [end, error] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
    (void)end;
    if (error == std::errc::result_out_of_range && magnitude_exponent(int_start, exponent) > 0)
      return issue(start, "number out of range (it overflows a double)");
    return std::nullopt;
  }

  // Integers without fraction or exponent beyond 64 bits are read as doubles (big_integers.hpp):
  // they must fit one.
  std::optional<SyntaxIssue> integer_in_range(std::size_t start, std::size_t first, std::size_t last,
                                              bool negative) const {
    if (!integer_beyond_64_bits(text_.data() + first, text_.data() + last, negative)) return std::nullopt;
    double value = 0;
    if (std::from_chars(text_.data() + start, text_.data() + last, value).ec == std::errc::result_out_of_range)
      return issue(start, "number out of range (an integer beyond 64 bits that overflows a double)");
    return std::nullopt;
  }

  // Decimal exponent of the number's first significant digit, plus one (> 0 means |value| >= 1).
  long long magnitude_exponent(std::size_t int_start, long long exponent) const noexcept {
    long long position = 0;  // digits before the decimal point, counted from the first nonzero one
    std::size_t i = int_start;
    bool seen_nonzero = false;
    for (; i < text_.size() && is_digit(text_[i]); ++i) {
      if (text_[i] != '0') seen_nonzero = true;
      if (seen_nonzero) ++position;
    }
    if (!seen_nonzero && i < text_.size() && text_[i] == '.') {
      for (++i; i < text_.size() && text_[i] == '0'; ++i) --position;
    }
    return position + exponent;
  }

  static int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Four hex digits after "\u" at pos_ (pos_ at the 'u'); advances past them.
  std::optional<SyntaxIssue> unicode_escape(std::uint32_t& code) {
    code = 0;
    for (int i = 1; i <= 4; ++i) {
      if (pos_ + i >= text_.size()) return issue(text_.size(), "unexpected end of input in a \\u escape");
      const int digit = hex_value(text_[pos_ + i]);
      if (digit < 0) return issue(pos_ + i, "expected 4 hexadecimal digits after \\u");
      code = code * 16 + static_cast<std::uint32_t>(digit);
    }
    pos_ += 5;
    return std::nullopt;
  }

  std::optional<SyntaxIssue> string() {
    const std::size_t start = pos_;
    ++pos_;  // opening quote
    for (;;) {
      if (at_end()) return issue(start, "unterminated string");
      const auto byte = static_cast<unsigned char>(text_[pos_]);
      if (byte == '"') {
        ++pos_;
        return std::nullopt;
      }
      if (byte < 0x20) return issue(pos_, "control character in a string (it must be escaped)");
      if (byte == '\\') {
        if (pos_ + 1 >= text_.size()) return issue(start, "unterminated string");
        const char kind = text_[pos_ + 1];
        if (kind == 'u') {
          const std::size_t escape_at = pos_;
          ++pos_;
          std::uint32_t code = 0;
          if (auto bad = unicode_escape(code)) return bad;
          if (code >= 0xDC00 && code <= 0xDFFF) return issue(escape_at, "lone low surrogate in a \\u escape");
          if (code >= 0xD800 && code <= 0xDBFF) {
            if (pos_ + 1 >= text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u')
              return issue(escape_at, "high surrogate not followed by a \\u low surrogate");
            ++pos_;
            std::uint32_t low = 0;
            if (auto bad = unicode_escape(low)) return bad;
            if (low < 0xDC00 || low > 0xDFFF)
              return issue(escape_at, "high surrogate not followed by a \\u low surrogate");
          }
          continue;
        }
        static constexpr std::string_view simple_escapes = "\"\\/bfnrt";
        if (simple_escapes.find(kind) == std::string_view::npos)
          return issue(pos_, "bad escape sequence in a string");
        pos_ += 2;
        continue;
      }
      if (byte < 0x80) {
        ++pos_;
        continue;
      }
      if (auto bad = utf8_sequence()) return bad;
    }
  }

  // One multi-byte UTF-8 sequence at pos_ (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
  std::optional<SyntaxIssue> utf8_sequence() {
    const auto* begin = reinterpret_cast<const unsigned char*>(text_.data());
    const Utf8Sequence sequence = check_utf8_sequence(begin + pos_, begin + text_.size());
    switch (sequence.problem) {
      case Utf8Sequence::Problem::none: break;
      case Utf8Sequence::Problem::bad_lead:
        return issue(pos_, "invalid UTF-8 (" + describe(pos_) + " cannot start a character)");
      case Utf8Sequence::Problem::truncated: return issue(pos_, "invalid UTF-8 (truncated character)");
      case Utf8Sequence::Problem::bad_continuation: return issue(pos_, "invalid UTF-8 sequence");
    }
    pos_ += sequence.size;
    return std::nullopt;
  }

  std::string_view text_;
  std::size_t max_depth_;
  std::size_t pos_ = 0;
};

/// The first syntax error of `text`, or nullopt when it is valid JSON.
inline std::optional<SyntaxIssue> find_syntax_error(std::string_view text, std::size_t max_depth = 1024) {
  return SyntaxChecker(text, max_depth).run();
}

}  // namespace stageflow::detail
