// SPDX-License-Identifier: BSL-1.0
// parse_json: strict, type-exact, and precise about where malformed text goes wrong.
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/json_parse.hpp>
#include <stageflow/serialization/json_writer.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "catch2_shim.hpp"
#include "shared_data.hpp"

using stageflow::JsonValue;
using stageflow::serialization::json_parse_error;
using stageflow::serialization::JsonParser;
using stageflow::serialization::parse_json;
using stageflow::serialization::to_json;

namespace {

struct ParseFailure {
  std::string message;
  std::size_t offset = 0;
  std::size_t line = 0;
  std::size_t column = 0;
};

ParseFailure failure_of(std::string_view text) {
  try {
    parse_json(text);
  } catch (const json_parse_error& error) {
    return {error.what(), error.offset(), error.line(), error.column()};
  }
  FAIL("parse_json accepted malformed text: " << text);
  return {};
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("numbers keep their type", "[serialization][parse]") {
  CHECK(parse_json("1").kind() == JsonValue::Kind::integer);
  CHECK(parse_json("1.0").kind() == JsonValue::Kind::floating);
  CHECK(parse_json("1e0").kind() == JsonValue::Kind::floating);
  CHECK(parse_json("-0.0").as_double() == 0.0);
  CHECK(std::signbit(parse_json("-0.0").as_double()));
  CHECK(parse_json("9223372036854775807").as_int() == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_json("-9223372036854775808").as_int() == std::numeric_limits<std::int64_t>::min());
  CHECK(parse_json("9223372036854775808").as_uint() == std::uint64_t{1} << 63);
  CHECK(parse_json("18446744073709551615").as_uint() == std::numeric_limits<std::uint64_t>::max());
  CHECK(parse_json("[1, 1.0, true]") == JsonValue::array({1, 1.0, true}));
  CHECK(parse_json("[1, 1.0, true]") != JsonValue::array({1.0, 1, true}));
}

TEST_CASE("numbers beyond the double range are errors, not approximations", "[serialization][parse]") {
  CHECK(contains(failure_of("[1e400]").message, "out of range"));
  CHECK(contains(failure_of("[-1e400]").message, "out of range"));
  CHECK(contains(failure_of("[1" + std::string(400, '0') + "]").message, "overflows a double"));
  CHECK(contains(failure_of("{\"a\": 18446744073709551616, \"b\": 1e400}").message, "out of range"));
}

// Issue 25, defect 3: integers that JavaScript writes (beyond 64 bits, within a double) were refused.
TEST_CASE("integers beyond 64 bits are read as the nearest double", "[serialization][parse]") {
  CHECK(parse_json("18446744073709551616") == JsonValue(18446744073709551616.0));
  CHECK(parse_json("-9223372036854776000") == JsonValue(-9223372036854775808.0));
  CHECK(parse_json("-9223372036854775809").as_double() == -9223372036854775808.0);
  CHECK(parse_json("123456789012345678901234567890").as_double() == 123456789012345678901234567890.0);
  CHECK(parse_json("-" + std::string("1") + std::string(300, '0')).as_double() == -1e300);
  // Inside containers, next to strings that look like numbers, and beside ordinary integers.
  const JsonValue doc = parse_json(R"({"id": 99999999999999999999, "s": "18446744073709551616", "n": [1, -18446744073709551617 ,2]})");
  CHECK(doc.at("id") == JsonValue(1e20));
  CHECK(doc.at("s") == JsonValue("18446744073709551616"));
  CHECK(doc.at("n") == JsonValue::array({1, -18446744073709551616.0, 2}));
  // Still 64-bit integers up to the limits.
  CHECK(parse_json("18446744073709551615").as_uint() == std::numeric_limits<std::uint64_t>::max());
  CHECK(parse_json("-9223372036854775808").as_int() == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("strings are unescaped; objects keep the last of repeated keys", "[serialization][parse]") {
  CHECK(parse_json(R"("caf\u00e9 \ud834\udd1e \/ \n")").as_string() == "café 𝄞 / \n");
  CHECK(parse_json(R"({"a": 1, "a": 2})") == JsonValue::object({{"a", 2}}));
  CHECK(parse_json(R"({"b": 1, "a": 1, "b": 2, "a": 3, "c": 0, "b": 4})") ==
        JsonValue::object({{"a", 3}, {"b", 4}, {"c", 0}}));
  CHECK(parse_json(R"({"a": 1, "b": 2, "b": 3})").size() == 2);
  const JsonValue object = parse_json(R"({"z": {}, "a": [], "m": null})");
  CHECK(object.as_object().begin()->first == "a");
  CHECK(object.at("z").is_object());
  CHECK(object.at("m").is_null());
}

TEST_CASE("malformed JSON says what and where", "[serialization][parse]") {
  SECTION("a trailing comma") {
    const ParseFailure f = failure_of("{\"a\": 1,}");
    CHECK(f.offset == 8);
    CHECK(f.line == 1);
    CHECK(f.column == 9);
    CHECK(contains(f.message, "line 1, column 9"));
    CHECK(contains(f.message, "near \"}\""));
  }
  SECTION("a missing comma on a later line") {
    const ParseFailure f = failure_of("{\n  \"a\": 1\n  \"b\": 2\n}");
    CHECK(f.line == 3);
    CHECK(f.column == 3);
    CHECK(contains(f.message, "near \"\\\"b\\\": 2"));
  }
  SECTION("columns count characters, not bytes") {
    const ParseFailure f = failure_of("[\"é\", x]");
    CHECK(f.offset == 7);
    CHECK(f.column == 7);
  }
  SECTION("truncated text ends before its brackets close") {
    const ParseFailure f = failure_of("[1, {\"a\": [2");
    CHECK(f.offset == 12);
    CHECK(contains(f.message, "unclosed bracket (opened at line 1, column 11)"));
    CHECK(contains(f.message, "end of the input"));
  }
  SECTION("a bad literal, a bad number, a bad escape") {
    CHECK(contains(failure_of("[tru]").message, "expected true"));
    CHECK(failure_of("[tru]").column == 2);
    CHECK(failure_of("[1, 01]").column == 5);
    CHECK(contains(failure_of(R"(["\x"])").message, "bad escape"));
  }
  SECTION("lexical errors are located by byte") {
    const ParseFailure utf8 = failure_of("[\"ok\", \"\xff\"]");
    CHECK(utf8.offset == 8);
    CHECK(contains(utf8.message, "invalid UTF-8"));
    CHECK(contains(utf8.message, "near \"\\xff"));  // the message itself stays valid UTF-8
    const ParseFailure control = failure_of("{\"k\": \"a\tb\"}");
    CHECK(control.offset == 8);
    CHECK(contains(control.message, "control character"));
    const ParseFailure open = failure_of("[\"never closed]");
    CHECK(open.offset == 1);
    CHECK(contains(open.message, "unterminated string"));  // the compression wording, now shared
  }
  SECTION("empty input, trailing content, stray brackets, too deep") {
    CHECK(contains(failure_of("").message, "no JSON value"));
    CHECK(contains(failure_of(" \n ").message, "no JSON value"));
    CHECK(failure_of("[1] [2]").offset == 4);
    CHECK(failure_of("{\"a\": [1}]").offset == 8);
    const std::string deep(2000, '[');
    const ParseFailure f = failure_of(deep);
    CHECK(contains(f.message, "deeper than 1024"));
    CHECK(f.offset == 1024);
  }
}

TEST_CASE("JSONTestSuite: every y_ document parses and round-trips, every n_ one is refused",
          "[serialization][parse]") {
  const auto dir = stageflow::testing::shared_data_dir();
  if (!dir || !std::filesystem::is_directory(*dir / "JSONTestSuite" / "test_parsing"))
    STAGEFLOW_SKIP("JSONTestSuite not found: set STAGEFLOW_DATA_DIR (Meson's data_dir option)");
  std::size_t accepted = 0;
  std::size_t refused = 0;
  JsonParser parser;
  for (const auto& entry : std::filesystem::directory_iterator(*dir / "JSONTestSuite" / "test_parsing")) {
    const std::string name = entry.path().filename().string();
    const std::string text = stageflow::testing::read_file(entry.path());
    INFO(name);
    if (name.starts_with("y_")) {
      const JsonValue value = parser.parse(text);
      const std::string canonical = to_json(value);
      CHECK(stageflow::serialization::byte_count(value) == canonical.size());
      CHECK(parser.parse(canonical) == value);
      CHECK(to_json(parser.parse(canonical)) == canonical);
      ++accepted;
    } else if (name.starts_with("n_")) {
      try {
        parser.parse(text);
        FAIL("accepted");
      } catch (const json_parse_error& error) {
        CHECK(error.offset() <= text.size());
        CHECK(contains(error.what(), "line "));
        ++refused;
      }
    } else {
      // i_: implementation-defined; either is fine, but only ever as a value or a json_parse_error.
      try {
        const JsonValue value = parser.parse(text);
        CHECK(parser.parse(to_json(value)) == value);
      } catch (const json_parse_error&) {
      }
    }
  }
  CHECK(accepted >= 95);
  CHECK(refused >= 188);
}

TEST_CASE("the shared documents parse into values that write back smaller and read back equal",
          "[serialization][parse]") {
  JsonParser parser;
  for (const char* name : {"json/twitter.json", "json/citm_catalog.json"}) {
    const auto path = stageflow::testing::shared_data_file(name);
    if (!path) STAGEFLOW_SKIP("shared data not found: set STAGEFLOW_DATA_DIR (Meson's data_dir option)");
    INFO(name);
    const std::string original = stageflow::testing::read_file(*path);
    const JsonValue value = parser.parse(original);
    REQUIRE(value.is_object());
    const std::string canonical = to_json(value);
    CHECK(canonical.size() < original.size());
    CHECK(parser.parse(canonical) == value);
  }
}
