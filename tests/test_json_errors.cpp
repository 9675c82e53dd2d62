// SPDX-License-Identifier: BSL-1.0
// One JSON text module: parse_json and the compression functions find the same error, at the same
// position, and report it with one base type (compression::ParseError is a JsonParseError).
#include <stageflow/compression.hpp>
#include <stageflow/json/parse.hpp>
#include <stageflow/json/parse_error.hpp>

#include <string>
#include <string_view>

#include "catch2_shim.hpp"

using stageflow::JsonParseError;
using stageflow::JsonTextPosition;

namespace {

JsonParseError parse_json_error(std::string_view text) {
  try {
    (void)stageflow::serialization::parse_json(text);
  } catch (const JsonParseError& error) {
    return error;
  }
  FAIL("parse_json accepted: " << text);
  throw;
}

stageflow::compression::ParseError compress_error(std::string_view text) {
  try {
    (void)stageflow::compression::compress("{}", text);
  } catch (const stageflow::compression::ParseError& error) {
    return error;
  }
  FAIL("compress accepted: " << text);
  throw;
}

}  // namespace

TEST_CASE("parse_json and compress locate malformed JSON alike", "[json][errors]") {
  for (const std::string_view text :
       {"{\"a\": 1,}", "[1, {\"a\": [2", "{\n  \"a\": 1\n  \"b\": 2\n}", "", " \n ", "[\"\xff\"]", "[01]", "[tru]",
        "[\"\\x\"]", "[\"never closed]", "[1] [2]", "{\"a\": [1}]", "[1e400]", "[-18446744073709551616e400]", "[\"é\", x]"}) {
    INFO(text);
    const JsonParseError parsed = parse_json_error(text);
    const stageflow::compression::ParseError compressed = compress_error(text);
    CHECK(compressed.argument() == stageflow::compression::JsonArgument::current);
    CHECK(parsed.reason() == compressed.reason());
    CHECK(parsed.has_position());
    CHECK(compressed.has_position());
    CHECK(parsed.offset() == compressed.offset());
    CHECK(parsed.line() == compressed.line());
    CHECK(parsed.column() == compressed.column());
    // The same sentence after each caller's own prefix.
    const std::string tail = std::string(parsed.what()).substr(std::string_view("parse_json").size());
    CHECK(std::string(compressed.what()).ends_with(tail));
  }
}

TEST_CASE("a compression ParseError is caught as a JsonParseError", "[json][errors]") {
  try {
    (void)stageflow::compression::apply_delta("{\"a\":}", "[]");
    FAIL("no error");
  } catch (const JsonParseError& error) {
    CHECK(error.column() == 6);
    CHECK_THAT(error.what(), Catch::Contains("base is not valid JSON"));
  }
}

TEST_CASE("positions: byte offset, line, and column in characters", "[json][errors]") {
  const std::string_view text = "{\n  \"é\": x\n}";
  const JsonTextPosition x = stageflow::text_position(text, text.find('x'));
  CHECK(x.offset == 10);
  CHECK(x.line == 2);
  CHECK(x.column == 8);  // é is two bytes, one character
  const JsonTextPosition end = stageflow::text_position(text, text.size());
  CHECK(end.line == 3);
  CHECK(end.column == 2);
  CHECK(stageflow::text_position(text, 0).column == 1);
}
