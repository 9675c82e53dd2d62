// SPDX-License-Identifier: BSL-1.0
// parse_uuid / try_parse_uuid: the canonical form in any case, optionally in braces; nothing else.
#include <stageflow/helpers/uuid_text.hpp>

#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <string>
#include <string_view>

#include "catch2_shim.hpp"
#include "uuid_test_support.hpp"

using stageflow::helpers::parse_uuid;
using stageflow::helpers::try_parse_uuid;

namespace {
constexpr std::string_view lower = "0190a6e4-3b1c-7d2e-8f00-0123456789ab";
constexpr std::string_view upper = "0190A6E4-3B1C-7D2E-8F00-0123456789AB";
constexpr std::string_view mixed = "0190a6E4-3B1c-7D2e-8f00-0123456789aB";
constexpr std::string_view braced = "{0190a6e4-3b1c-7d2e-8f00-0123456789ab}";

std::string what_of(std::string_view text) {
  try {
    (void)parse_uuid(text);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "(no exception)";
}
}  // namespace

TEST_CASE("parse_uuid reads the canonical form in any case and in braces", "[uuid_text]") {
  const auto expected = boost::uuids::string_generator()(std::string(lower));
  CHECK(parse_uuid(lower) == expected);
  CHECK(parse_uuid(upper) == expected);
  CHECK(parse_uuid(mixed) == expected);
  CHECK(parse_uuid(braced) == expected);
  CHECK(parse_uuid("00000000-0000-0000-0000-000000000000").is_nil());
  CHECK(parse_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff") == parse_uuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"));
}

TEST_CASE("parse_uuid round-trips Boost's text form of many ids", "[uuid_text]") {
  for (std::uint64_t i = 0; i < 2'000; ++i) {
    const auto id = stageflow::testing::hand_built_uuid4(i * 7919);
    const auto text = boost::uuids::to_string(id);
    REQUIRE(parse_uuid(text) == id);
  }
}

TEST_CASE("try_parse_uuid works at compile time", "[uuid_text]") {
  static_assert(try_parse_uuid(lower).has_value());
  static_assert(try_parse_uuid(lower)->data[0] == 0x01 && try_parse_uuid(lower)->data[15] == 0xab);
  static_assert(!try_parse_uuid("0190a6e4-3b1c-7d2e-8f00-0123456789ag").has_value());
  SUCCEED();
}

TEST_CASE("parse_uuid rejects every other form with std::invalid_argument", "[uuid_text]") {
  const std::string_view bad[] = {
      "",
      "0190a6e4-3b1c-7d2e-8f00-0123456789a",     // 35 characters
      "0190a6e4-3b1c-7d2e-8f00-0123456789abc",   // 37 characters
      "0190a6e43b1c7d2e8f000123456789ab",        // no dashes
      "0190a6e4-3b1c-7d2e-8f000-123456789ab",    // dash one place late
      "0190a6e4_3b1c-7d2e-8f00-0123456789ab",    // not a dash
      "0190a6e4-3b1c-7d2e-8f00-0123456789ag",    // not hex
      "0190a6e4-3b1c-7d2e-8f00-0123456789a ",    // trailing space inside the length
      " 0190a6e4-3b1c-7d2e-8f00-0123456789ab",   // leading space
      "0190a6e4-3b1c-7d2e-8f00-0123456789ab\n",  // newline
      "{0190a6e4-3b1c-7d2e-8f00-0123456789ab",   // one brace
      "(0190a6e4-3b1c-7d2e-8f00-0123456789ab)",  // other brackets
      "{{0190a6e4-3b1c-7d2e-8f00-0123456789ab}}",
      "urn:uuid:0190a6e4-3b1c-7d2e-8f00-0123456789ab",
      "+190a6e4-3b1c-7d2e-8f00-0123456789ab",
      "0x90a6e4-3b1c-7d2e-8f00-0123456789ab",
  };
  for (const auto text : bad) {
    INFO("text: " << text);
    CHECK_FALSE(try_parse_uuid(text).has_value());
    CHECK_THROWS_AS(parse_uuid(text), std::invalid_argument);
  }
  const std::string with_nul("0190a6e4-3b1c-7d2e-8f00-0123456789a\0", 36);
  CHECK_FALSE(try_parse_uuid(with_nul).has_value());
}

TEST_CASE("parse_uuid's error names the text, escaped and shortened", "[uuid_text]") {
  CHECK(what_of("not-a-uuid") == "stageflow: not a UUID (expected 8-4-4-4-12 hex digits, optionally in braces): \"not-a-uuid\"");
  CHECK(what_of("") == "stageflow: not a UUID (expected 8-4-4-4-12 hex digits, optionally in braces): \"\"");
  const std::string control("a\tb\"c\\\x01", 7);
  CHECK_THAT(what_of(control), Catch::Matchers::EndsWith("\"a\\x09b\\x22c\\x5c\\x01\""));
  const std::string long_text(1'000, 'x');
  const auto message = what_of(long_text);
  CHECK_THAT(message, Catch::Matchers::EndsWith("\"" + std::string(64, 'x') + "\"... (1000 bytes)"));
}
