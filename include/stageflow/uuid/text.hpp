// SPDX-License-Identifier: BSL-1.0
// A UUID's text form, both ways: writing the canonical lower-case text, and parsing text strictly.
//
// Parsing:
// Accepted: the canonical form of RFC 9562 section 4, 36 characters "8-4-4-4-12" hex digits
// (`0190a6e4-3b1c-7d2e-8f00-0123456789ab`), in upper, lower or mixed case (RFC 9562 asks readers
// to accept any case), optionally inside one pair of braces (`{...}`, the Microsoft GUID form).
// Rejected: anything else, including surrounding spaces, the 32-digit form without dashes and the
// `urn:uuid:` prefix. Strict on purpose: two spellings of one id must not look like two ids to a
// collision monitor, and a stray character usually means the text is not an id at all.
#pragma once

#include <stageflow/uuid/detail/quote_text.hpp>

#include <boost/uuid/uuid.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace stageflow::detail {

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

/// Appends the canonical 36-character text of a UUID (lower case, no quotes).
inline void append_uuid(std::string& out, const boost::uuids::uuid& id) {
  const std::size_t at = out.size();
  out.resize(at + uuid_text_size);
  write_uuid_text(out.data() + at, id);
}

}  // namespace stageflow::detail

namespace stageflow::helpers {

/// The UUID the text spells (see the header comment for the forms accepted), or nullopt.
constexpr std::optional<boost::uuids::uuid> try_parse_uuid(std::string_view text) noexcept {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36) return std::nullopt;
  constexpr auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  boost::uuids::uuid id{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    id.data[byte++] = static_cast<std::uint8_t>(high << 4 | low);
    i += 2;
  }
  return id;
}

/// The UUID the text spells. Throws std::invalid_argument, quoting the text, when it is not a
/// canonical UUID (see the header comment).
inline boost::uuids::uuid parse_uuid(std::string_view text) {
  if (auto id = try_parse_uuid(text)) return *id;
  throw std::invalid_argument("stageflow: not a UUID (expected 8-4-4-4-12 hex digits, optionally in braces): " +
                              stageflow::detail::quote_for_message(text));
}

}  // namespace stageflow::helpers
