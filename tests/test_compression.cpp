// SPDX-License-Identifier: BSL-1.0
// compress(): the deltas it writes (deep, type-exact, RFC 6902 paths), its metrics and its errors.
#include <stageflow/compression.hpp>
#include <stageflow/core/context_snapshot.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catch2_shim.hpp"
#include "json_oracle.hpp"
#include "shared_data.hpp"

using stageflow::compression::apply_delta;
using stageflow::compression::compress;
using stageflow::compression::CompressionMetrics;
using stageflow::compression::JsonArgument;
using stageflow::compression::ParseError;
using stageflow::testing::json_equal;

namespace {

// compress, check the round trip against the oracle, return the delta.
std::string delta_of(std::string_view base, std::string_view current) {
  const auto [delta, metrics] = compress(base, current);
  INFO("base: " << base << "\ncurrent: " << current << "\ndelta: " << delta);
  const std::string rebuilt = apply_delta(base, delta);
  CHECK(json_equal(rebuilt, current));
  CHECK(stageflow::testing::is_minified_json(delta));
  CHECK(metrics.delta_bytes == delta.size());
  return delta;
}

// A document large enough that replacing it whole is never the smallest delta.
std::string padded(std::string_view members) {
  std::string text = R"({"padding":")" + std::string(400, 'p') + R"(",)";
  text += members;
  text += '}';
  return text;
}

}  // namespace

TEST_CASE("The seed's example: compress, then apply_delta rebuilds the current document", "[compression]") {
  const std::string base = R"({"a": 1, "b": 2})";
  const std::string current = R"({"a": 1, "b": 3, "c": 4})";
  auto [delta, metrics] = compress(base, current);
  const std::string rebuilt = apply_delta(base, delta);
  CHECK(json_equal(rebuilt, current));
  CHECK(rebuilt == R"({"a":1,"b":3,"c":4})");
  CHECK(metrics.original_bytes == std::string_view(R"({"a":1,"b":3,"c":4})").size());
  CHECK(metrics.delta_bytes == delta.size());
}

TEST_CASE("Equal documents give the empty patch, whatever their whitespace", "[compression]") {
  CHECK(delta_of(R"({"a":[1,2,{"b":null}]})", R"({"a":[1,2,{"b":null}]})") == "[]");
  CHECK(delta_of("{\n  \"a\" : [ 1 , 2 , { \"b\" : null } ]\n}", R"({"a":[1,2,{"b":null}]})") == "[]");
  CHECK(delta_of("42", " 42 ") == "[]");
  CHECK(delta_of(R"("\u00e9")", "\"\xC3\xA9\"") == "[]");  // strings compare by content, escapes decoded
  // Same members in another order are the same object.
  CHECK(delta_of(padded(R"("x":1,"y":[true,false])"), padded(R"("y":[true,false],"x":1)")) == "[]");
}

TEST_CASE("Deltas are deep: a nested change is one operation at its path", "[compression]") {
  const std::string base = padded(R"("user":{"name":"ada","tags":["a","b"],"address":{"city":"Paris"}})");
  const std::string current = padded(R"("user":{"name":"ada","tags":["a","b"],"address":{"city":"Lyon"}})");
  CHECK(delta_of(base, current) == R"([{"op":"replace","path":"/user/address/city","value":"Lyon"}])");
  const std::string added = padded(R"("user":{"name":"ada","tags":["a","b"],"address":{"city":"Paris","zip":"75001"}})");
  CHECK(delta_of(base, added) == R"([{"op":"add","path":"/user/address/zip","value":"75001"}])");
  const std::string removed = padded(R"("user":{"name":"ada","tags":["a","b"],"address":{}})");
  CHECK(delta_of(base, removed) == R"([{"op":"remove","path":"/user/address/city"}])");
}

TEST_CASE("Deltas are type-exact: 1, 1.0, true and \"1\" are different values", "[compression]") {
  const std::string base = padded(R"("v":1)");
  CHECK(delta_of(base, padded(R"("v":1.0)")) == R"([{"op":"replace","path":"/v","value":1.0}])");
  CHECK(delta_of(base, padded(R"("v":true)")) == R"([{"op":"replace","path":"/v","value":true}])");
  CHECK(delta_of(base, padded(R"("v":"1")")) == R"([{"op":"replace","path":"/v","value":"1"}])");
  CHECK(delta_of(base, padded(R"("v":null)")) == R"([{"op":"replace","path":"/v","value":null}])");
  CHECK(delta_of(padded(R"("v":0)"), padded(R"("v":false)")) == R"([{"op":"replace","path":"/v","value":false}])");
  CHECK(delta_of(padded(R"("v":[])"), padded(R"("v":{})")) == R"([{"op":"replace","path":"/v","value":{}}])");
  CHECK(delta_of(padded(R"("v":0.0)"), padded(R"("v":-0.0)")) == R"([{"op":"replace","path":"/v","value":-0.0}])");
}

TEST_CASE("Numbers are equal when kind and value are; the delta keeps a number's own text", "[compression]") {
  // Same kind and value: no operation.
  CHECK(delta_of(padded(R"("v":1.0)"), padded(R"("v":1.00)")) == "[]");
  CHECK(delta_of(padded(R"("v":100.0)"), padded(R"("v":1e2)")) == "[]");
  // A changed number is written as the current document writes it.
  CHECK(delta_of(padded(R"("v":1)"), padded(R"("v":1E+2)")) == R"([{"op":"replace","path":"/v","value":1E+2}])");
  CHECK(delta_of(padded(R"("v":1)"), padded(R"("v":0.1000)")) == R"([{"op":"replace","path":"/v","value":0.1000}])");
  CHECK(delta_of(padded(R"("v":1)"), padded(R"("v":18446744073709551615)")) ==
        R"([{"op":"replace","path":"/v","value":18446744073709551615}])");
  CHECK(delta_of(padded(R"("v":1)"), padded(R"("v":-9223372036854775808)")) ==
        R"([{"op":"replace","path":"/v","value":-9223372036854775808}])");
  // Two doubles that differ only past the 15th digit still differ.
  CHECK(delta_of(padded(R"("v":0.30000000000000004)"), padded(R"("v":0.3)")) ==
        R"([{"op":"replace","path":"/v","value":0.3}])");
}

TEST_CASE("Paths escape ~ and / (RFC 6901) and are valid JSON strings", "[compression]") {
  CHECK(delta_of(padded(R"("a/b":1)"), padded(R"("a/b":2)")) == R"([{"op":"replace","path":"/a~1b","value":2}])");
  CHECK(delta_of(padded(R"("m~n":1)"), padded(R"("m~n":2)")) == R"([{"op":"replace","path":"/m~0n","value":2}])");
  CHECK(delta_of(padded(R"("~1":1)"), padded(R"("~1":2)")) == R"([{"op":"replace","path":"/~01","value":2}])");
  CHECK(delta_of(padded(R"("":1)"), padded(R"("":2)")) == R"([{"op":"replace","path":"/","value":2}])");
  CHECK(delta_of(padded(R"("q\"t":1)"), padded(R"("q\"t":2)")) == R"([{"op":"replace","path":"/q\"t","value":2}])");
  CHECK(delta_of(padded(R"("tab\t":1)"), padded(R"("tab\t":2)")) == R"([{"op":"replace","path":"/tab\t","value":2}])");
  CHECK(delta_of(padded(R"("nul\u0000":1)"), padded(R"("nul\u0000":2)")) ==
        R"([{"op":"replace","path":"/nul\u0000","value":2}])");
  CHECK(delta_of(padded(R"("\u00e9t\u00e9":1)"), padded("\"\xC3\xA9t\xC3\xA9\":2")) ==
        "[{\"op\":\"replace\",\"path\":\"/\xC3\xA9t\xC3\xA9\",\"value\":2}]");
  CHECK(delta_of(padded(R"("x":{"a/b":{"~":[0,1]}})"), padded(R"("x":{"a/b":{"~":[0,2]}})")) ==
        R"([{"op":"replace","path":"/x/a~1b/~0/1","value":2}])");
}

TEST_CASE("Arrays: common prefix and suffix are kept, the middle is edited by position", "[compression]") {
  std::string numbers = "[";
  for (int i = 0; i < 100; ++i) numbers += (i ? "," : "") + std::to_string(i * 7);
  numbers += ']';
  const std::string base = padded(R"("list":)" + numbers);
  // Insert at the front, in the middle, at the end: one "add" each.
  CHECK(delta_of(base, padded(R"("list":[-1,)" + numbers.substr(1))) == R"([{"op":"add","path":"/list/0","value":-1}])");
  CHECK(delta_of(base, padded(R"("list":)" + numbers.substr(0, numbers.size() - 1) + ",1000]")) ==
        R"([{"op":"add","path":"/list/-","value":1000}])");
  const std::string middle = R"(,350,)";  // element 50 is 350
  const std::size_t at = numbers.find(middle);
  REQUIRE(at != std::string::npos);
  std::string inserted = numbers;
  inserted.insert(at + 1, "\"new\",");
  CHECK(delta_of(base, padded(R"("list":)" + inserted)) == R"([{"op":"add","path":"/list/50","value":"new"}])");
  // Remove in the middle: one "remove"; replace one element: one "replace".
  std::string removed = numbers;
  removed.erase(at + 1, 4);
  CHECK(delta_of(base, padded(R"("list":)" + removed)) == R"([{"op":"remove","path":"/list/50"}])");
  std::string replaced = numbers;
  replaced.replace(at + 1, 3, "351");
  CHECK(delta_of(base, padded(R"("list":)" + replaced)) == R"([{"op":"replace","path":"/list/50","value":351}])");
}

TEST_CASE("Arrays: several removals name the original positions, highest first", "[compression]") {
  const std::string base = padded(R"("l":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25])");
  const std::string current = padded(R"("l":[0,1,2,3,4,5,6,7,8,12,13,14,15,16,17,18,19,20,21,22,23,24,25])");
  CHECK(delta_of(base, current) ==
        R"([{"op":"remove","path":"/l/11"},{"op":"remove","path":"/l/10"},{"op":"remove","path":"/l/9"}])");
}

TEST_CASE("Arrays: a change inside an element is a deep operation", "[compression]") {
  const std::string base = padded(R"("rows":[{"id":1,"v":"a"},{"id":2,"v":"b"},{"id":3,"v":"c"}])");
  const std::string current = padded(R"("rows":[{"id":1,"v":"a"},{"id":2,"v":"B"},{"id":3,"v":"c"}])");
  CHECK(delta_of(base, current) == R"([{"op":"replace","path":"/rows/1/v","value":"B"}])");
}

TEST_CASE("A container is replaced whole when that is smaller than its operations", "[compression]") {
  std::string many = "[";
  for (int i = 0; i < 200; ++i) many += (i ? "," : "") + std::to_string(i);
  many += ']';
  // Emptying a long array: one replace, not 200 removes.
  CHECK(delta_of(padded(R"("l":)" + many), padded(R"("l":[])")) == R"([{"op":"replace","path":"/l","value":[]}])");
  // Every element changed: replacing the array is smaller than 200 replaces.
  std::string shifted = "[";
  for (int i = 0; i < 200; ++i) shifted += (i ? "," : "") + std::to_string(i + 1000);
  shifted += ']';
  CHECK(delta_of(padded(R"("l":)" + many), padded(R"("l":)" + shifted)) ==
        R"([{"op":"replace","path":"/l","value":)" + shifted + "}]");
  // A small document whose every member changed: one replace of the whole document.
  CHECK(delta_of(R"({"a":1,"b":2})", R"({"c":3})") == R"([{"op":"replace","path":"","value":{"c":3}}])");
}

TEST_CASE("The delta's values are the current document's text, minified", "[compression]") {
  const std::string base = padded(R"("x":1)");
  const std::string current = "{\"padding\":\"" + std::string(400, 'p') +
                              "\",\n  \"x\" : 1,\n  \"y\" : {\n    \"z\" : [ 1.50 , \"a b\" , true ]\n  }\n}";
  CHECK(delta_of(base, current) == R"([{"op":"add","path":"/y","value":{"z":[1.50,"a b",true]}}])");
  // Escapes inside strings are kept as written.
  CHECK(delta_of(padded(R"("s":"a")"), padded(R"("s":"\u0041\n\"")")) ==
        R"([{"op":"replace","path":"/s","value":"\u0041\n\""}])");
}

TEST_CASE("Root values of any kind can be compared and replaced", "[compression]") {
  CHECK(delta_of("1", "2") == R"([{"op":"replace","path":"","value":2}])");
  CHECK(delta_of("null", R"({"a":[1]})") == R"([{"op":"replace","path":"","value":{"a":[1]}}])");
  CHECK(delta_of(R"("text")", "[]") == R"([{"op":"replace","path":"","value":[]}])");
  CHECK(delta_of("[]", "[1]") == R"([{"op":"add","path":"/-","value":1}])");  // "-": append
  CHECK(delta_of("{}", "{}") == "[]");
}

TEST_CASE("Duplicated keys: the last occurrence is the member, as JSON readers see it", "[compression]") {
  // {"a":1,"a":2} reads as {"a":2}.
  CHECK(delta_of(R"({"a":1,"a":2})", R"({"a":2})") == "[]");
  CHECK(delta_of(R"({"a":2})", R"({"a":1,"a":2})") == "[]");
  CHECK(delta_of(padded(R"("a":1,"a":2)"), padded(R"("a":1)")) == R"([{"op":"replace","path":"/a","value":1}])");
  CHECK(delta_of(padded(R"("a":1,"a":2,"b":0)"), padded(R"("b":0)")) == R"([{"op":"remove","path":"/a"}])");
  // Duplicated objects: only the last one matters, its own changes are deep.
  CHECK(delta_of(padded(R"("a":{"x":1},"a":{"y":1})"), padded(R"("a":{"x":2},"a":{"y":1})")) == "[]");
  CHECK(delta_of(padded(R"("a":{"x":1},"a":{"y":1})"), padded(R"("a":{"y":2})")) ==
        R"([{"op":"replace","path":"/a/y","value":2}])");
  CHECK(delta_of(padded(R"("a":{"y":1})"), padded(R"("a":{"x":2},"a":{"y":2})")) ==
        R"([{"op":"replace","path":"/a/y","value":2}])");
}

TEST_CASE("Metrics: sizes of the minified current document and of the delta", "[compression]") {
  const std::string base = padded(R"("a":1)");
  const std::string current = "{ \"padding\" : \"" + std::string(400, 'p') + "\" ,\n  \"a\" : 2 }";
  const auto [delta, metrics] = compress(base, current);
  const std::size_t minified = stageflow::testing::minify_json(current).size();
  CHECK(metrics.original_bytes == minified);
  CHECK(metrics.delta_bytes == delta.size());
  CHECK(metrics.compression_ratio == Approx(static_cast<double>(delta.size()) / static_cast<double>(minified)));
  CHECK(metrics.reduction_bytes == minified - delta.size());
  CHECK(metrics.operations == 1);

  const auto same = compress(current, current).metrics;
  CHECK(same.delta_bytes == 2);  // "[]"
  CHECK(same.operations == 0);
  CHECK(same.reduction_bytes == minified - 2);

  // A delta larger than the document: ratio above 1, no reduction.
  const auto larger = compress("1", "[2]").metrics;
  CHECK(larger.original_bytes == 3);
  CHECK(larger.compression_ratio > 1.0);
  CHECK(larger.reduction_bytes == 0);
}

TEST_CASE("make_metrics: the ratio is 0 when both sizes are 0", "[compression]") {
  constexpr CompressionMetrics empty = stageflow::compression::make_metrics(0, 0, 0);
  STATIC_REQUIRE(empty.compression_ratio == 0.0);
  STATIC_REQUIRE(empty.reduction_bytes == 0);
  constexpr CompressionMetrics half = stageflow::compression::make_metrics(100, 50, 3);
  STATIC_REQUIRE(half.compression_ratio == 0.5);
  STATIC_REQUIRE(half.reduction_bytes == 50);
  STATIC_REQUIRE(half.operations == 3);
}

TEST_CASE("Malformed JSON: the error names the argument and the position", "[compression][errors]") {
  const auto parse_error = [](std::string_view base, std::string_view current) -> ParseError {
    try {
      (void)compress(base, current);
    } catch (const ParseError& error) {
      return error;
    }
    FAIL("no ParseError for base=" << base << " current=" << current);
    throw;
  };
  {
    const ParseError error = parse_error("{\"a\": [1, 2,]}", "{}");
    CHECK(error.argument() == JsonArgument::base);
    CHECK(error.has_position());
    CHECK(error.line() == 1);
    CHECK(error.column() == 13);
    CHECK(error.offset() == 12);
    CHECK_THAT(error.what(), Catch::Contains("base is not valid JSON") && Catch::Contains("line 1, column 13"));
  }
  {
    const ParseError error = parse_error("{}", "{\n  \"a\": 1,\n  \"b\" 2\n}");
    CHECK(error.argument() == JsonArgument::current);
    CHECK(error.line() == 3);
    CHECK(error.column() == 7);
    CHECK_THAT(error.reason(), Catch::Contains("expected ':'"));
  }
  CHECK_THAT(parse_error("", "{}").reason(), Catch::Contains("empty"));
  CHECK_THAT(parse_error("{}", "   ").reason(), Catch::Contains("empty"));
  CHECK_THAT(parse_error("{}", "[\"unterminated").reason(), Catch::Contains("unterminated string"));
  CHECK_THAT(parse_error("{}", "[1] [2]").reason(), Catch::Contains("after the document"));
  CHECK_THAT(parse_error("{}", "[\"\\x\"]").reason(), Catch::Contains("escape"));
  CHECK_THAT(parse_error("{}", "[\"\xC3\"]").reason(), Catch::Contains("UTF-8"));
  CHECK_THAT(parse_error("{}", "[tru]").reason(), Catch::Contains("literal"));
  CHECK_THAT(parse_error("{}", "[01]").reason(), Catch::Contains("leading zeros"));
  CHECK_THAT(parse_error("{}", "[1e999]").reason(), Catch::Contains("out of range"));
  CHECK_THAT(parse_error("{}", "[1" + std::string(400, '0') + "]").reason(), Catch::Contains("out of range"));
  CHECK_THAT(parse_error("{}", std::string(2000, '[')).reason(), Catch::Contains("deeper than 1024"));
  // A text with a NUL byte inside is not JSON either (string_view carries it).
  CHECK(parse_error("{}", std::string_view("[1]\0", 4)).argument() == JsonArgument::current);
}

// Issue 25, defect 3: 40 of 100 documents written by fast-json-patch were refused for integers
// beyond 64 bits. They are read as doubles, and values keep their text in the delta and the result.
TEST_CASE("integers beyond 64 bits are read as doubles and keep their text", "[compression]") {
  using stageflow::compression::apply_delta;
  const std::string base = R"({"min": -9223372036854776000, "big": 18446744073709551616, "n": 1})";
  const std::string current = R"({"min": -9223372036854776000, "big": 18446744073709551616, "n": 2, "huge": 123456789012345678901234567890})";
  const auto [delta, metrics] = compress(base, current);
  CHECK(delta == R"([{"op":"replace","path":"/n","value":2},{"op":"add","path":"/huge","value":123456789012345678901234567890}])");
  CHECK(apply_delta(base, delta) ==
        R"({"min":-9223372036854776000,"big":18446744073709551616,"n":2,"huge":123456789012345678901234567890})");
  // As a delta's value, through test, and as a change (a big integer and the same double are equal).
  CHECK(apply_delta(base, R"([{"op":"test","path":"/big","value":18446744073709551616}])") ==
        R"({"min":-9223372036854776000,"big":18446744073709551616,"n":1})");
  CHECK(apply_delta(base, R"([{"op":"test","path":"/big","value":1.8446744073709552e19}])").size() > 0);
  CHECK(compress(R"([1, 99999999999999999999])", R"([1, 1e20])").delta == "[]");
  CHECK(compress(R"([1, 99999999999999999999])", R"([2, 99999999999999999999])").delta ==
        R"([{"op":"replace","path":"/0","value":2}])");
  CHECK(compress(R"([18446744073709551616])", R"([18446744073709551615])").delta ==
        R"([{"op":"replace","path":"/0","value":18446744073709551615}])");
  // Odd spacing around them survives: offsets are kept.
  CHECK(apply_delta("[ 18446744073709551616 ,\n\t-18446744073709551617 ]", R"([{"op":"add","path":"/-","value":0}])") ==
        "[18446744073709551616,-18446744073709551617,0]");
  // Out of the double range it is still an error, named, at the number out of range.
  try {
    (void)compress(R"({"a": 18446744073709551616, "b": 1e400})", "{}");
    FAIL("no ParseError");
  } catch (const ParseError& error) {
    CHECK(error.argument() == JsonArgument::base);
    CHECK_THAT(error.reason(), Catch::Contains("out of range"));
    CHECK(error.offset() == 33);
  }
}

TEST_CASE("The thread's buffers can be released and are rebuilt on the next call", "[compression]") {
  CHECK(compress("[1]", "[1,2]").delta == R"([{"op":"add","path":"/-","value":2}])");
  stageflow::compression::release_thread_buffers();
  CHECK(compress("[1]", "[1,2]").delta == R"([{"op":"add","path":"/-","value":2}])");
  CHECK(apply_delta("[1]", R"([{"op":"add","path":"/1","value":2}])") == "[1,2]");
}

TEST_CASE("A large base's token index is freed before the current document is parsed (issue 25, item 6)",
          "[compression]") {
  // The diff reads the base's tape and strings only: for a base of 1 MiB or more, its token index
  // (4 bytes a token) goes before the current document is parsed, lowering the peak of big diffs.
  namespace impl = stageflow::detail::compression;
  std::string base = "[", current = "[";
  for (int i = 0; base.size() < impl::large_base_bytes + 1000; ++i) {
    const std::string element = R"({"id":)" + std::to_string(i) + R"(,"tags":["a","b"],"text":"\u00e9t\u00e9"})";
    base += (i ? "," : "") + element;
    current += (i ? "," : "") + (i % 997 == 3 ? R"({"id":-1,"tags":["c"],"text":"autumn"})" : element);
  }
  base += "]";
  current += "]";
  const std::string delta = compress(base, current).delta;
  CHECK(impl::workspace().parsers[0].capacity() == 0);  // the index is gone; the tape served the diff
  CHECK(impl::workspace().parsers[1].capacity() >= current.size());
  CHECK(delta_of(base, current) == delta);  // the same delta, and it rebuilds `current`
  CHECK(delta.find(R"("path":"/3)") != std::string::npos);
  // The next call reallocates what it needs, and small bases keep their buffers.
  CHECK(delta_of(R"({"a":[1,2]})", R"({"a":[1,2,3]})") == R"([{"op":"add","path":"/a/-","value":3}])");
  CHECK(impl::workspace().parsers[0].capacity() > 0);
  CHECK(delta_of(base, base) == "[]");  // equal texts: the base's tokens still give the metrics
}

TEST_CASE("Inputs without readable padding are copied, and parse the same", "[compression]") {
  // Put the document at the very end of a page-aligned block, so no byte after it may be read.
  const std::string text = R"({"a":[1,2,3],"b":"x"})";
  auto block = std::make_unique<char[]>(3 * 4096);
  const auto aligned = (reinterpret_cast<std::uintptr_t>(block.get()) + 4095) / 4096 * 4096;
  char* end_of_page = reinterpret_cast<char*>(aligned) + 4096;
  char* start = end_of_page - text.size();
  std::memcpy(start, text.data(), text.size());
  CHECK_FALSE(stageflow::detail::compression::padding_is_readable(start, text.size()));
  const std::string_view at_page_end(start, text.size());
  CHECK(delta_of(at_page_end, R"({"a":[1,2,3,4],"b":"x"})") == R"([{"op":"add","path":"/a/-","value":4}])");
  CHECK(delta_of(R"({"a":[1,2],"b":"x"})", at_page_end) == R"([{"op":"add","path":"/a/-","value":3}])");
}

// The positions compress() and apply_delta() rely on must agree however they are computed:
// counting a subtree's tokens, equal_span's count, and apply_delta's positions of children (from
// the nearest known one, forward or backward). This guards the reading of simdjson's tape and
// token index on real documents.
TEST_CASE("Token positions agree however they are computed", "[compression][internals]") {
  namespace impl = stageflow::detail::compression;
  std::vector<std::string> documents = {R"({"a":[1,-2.5e3,"s",true,null,{}],"b":{"c":[[],[{}]]},"":""})", "[]", "7",
                                        " [ 1 , { \"k\" : [ ] } ] "};
  for (const char* name : {"json/twitter.json", "json/citm_catalog.json"})
    if (const auto file = stageflow::testing::shared_data_file(name)) documents.push_back(stageflow::testing::read_file(*file));
  simdjson::dom::parser parser_a, parser_b;
  impl::PaddedBuffer copy_a, copy_b;
  for (const std::string& text : documents) {
    INFO(text.substr(0, 80));
    const impl::IndexedJson doc = impl::parse_indexed(parser_a, copy_a, text, JsonArgument::base);
    const impl::IndexedJson same = impl::parse_indexed(parser_b, copy_b, text, JsonArgument::current);
    REQUIRE(doc.token_span(impl::IndexedJson::root) == doc.token_count);
    // Every container, walked from its first token: children found from the front and from the
    // back land on the same tokens, and each child's text starts with the character the tape
    // says and ends where the next begins.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> containers = {{impl::IndexedJson::root, 0}};
    std::size_t checked = 0;
    while (!containers.empty() && checked < 3000) {
      const auto [t, k] = containers.back();
      containers.pop_back();
      ++checked;
      const std::uint32_t span = doc.token_span(t);
      REQUIRE(impl::equal_span(doc, t, same, t) == span);
      if (!doc.is_container(t)) continue;
      REQUIRE(text[doc.tokens[k]] == doc.type(t));
      REQUIRE(text[doc.tokens[k + span - 1]] == (doc.type(t) == '{' ? '}' : ']'));
      impl::ChildPositions forward(doc, t, k, span), backward(doc, t, k, span);
      const std::uint32_t n = forward.count();
      for (std::uint32_t i = 0; i < n; ++i) (void)forward.start(i);      // front to back
      for (std::uint32_t i = n; i-- > 0;) (void)backward.start(i);        // back to front
      for (std::uint32_t i = 0; i < n; ++i) {
        REQUIRE(forward.start(i) == backward.start(i));
        REQUIRE(forward.value_span(i) == doc.token_span(forward.value_tape(i)));
        const char first = text[doc.tokens[forward.value_token(i)]];
        const char kind = doc.type(forward.value_tape(i));
        const bool consistent = kind == '{' || kind == '[' || kind == '"' || kind == 't' || kind == 'f' || kind == 'n'
                                    ? first == kind
                                    : (first == '-' || (first >= '0' && first <= '9'));
        REQUIRE(consistent);
        containers.emplace_back(forward.value_tape(i), forward.value_token(i));
      }
    }
    CHECK(checked > 0);
  }
}

TEST_CASE("Deeply nested documents (simdjson's limit of 1024 levels) diff and apply", "[compression]") {
  const auto nested = [](int depth, std::string_view leaf) {
    std::string text;
    for (int i = 0; i < depth; ++i) text += i % 2 ? "{\"k\":" : "[";
    text += leaf;
    for (int i = depth; i-- > 0;) text += i % 2 ? "}" : "]";
    return text;
  };
  const std::string base = nested(1000, "1"), current = nested(1000, "2");
  const auto [delta, metrics] = compress(base, current);
  CHECK(metrics.operations == 1);
  CHECK(apply_delta(base, delta) == current);
  // Below 256 levels the walk descends; deeper, the changed container is replaced whole.
  const std::size_t path_start = delta.find("\"path\":\"") + 8, path_end = delta.find('"', path_start);
  CHECK(std::count(delta.begin() + path_start, delta.begin() + path_end, '/') == 256);
  CHECK(compress(nested(100, "1"), nested(100, "2")).delta.find("\"value\":2}") != std::string::npos);
  CHECK(compress(base, nested(1000, "[]")).metrics.operations == 1);
  // test compares the innermost two levels, 998 levels down.
  std::string path;
  for (int i = 0; i < 998; ++i) path += i % 2 ? "/k" : "/0";
  CHECK(apply_delta(base, R"([{"op":"test","path":")" + path + R"(","value":)" + nested(2, "1") + "}]") == base);
}

TEST_CASE("compress on reflected values: a snapshot and its edited copy", "[compression][reflected]") {
  stageflow::ContextSnapshot before{.input_text = "hi",
                                    .messages = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}},
                                    .metadata = stageflow::JsonValue::object({{"user", stageflow::JsonValue::object({{"tier", "gold"}})}})};
  stageflow::ContextSnapshot after = before;
  after.messages[2].content = "changed";
  after.metadata["user"]["tier"] = "platinum";
  const auto [delta, metrics] = stageflow::compression::compress(before, after);
  CHECK(delta.find("\"/messages/2/content\"") != std::string::npos);
  CHECK(delta.find("\"/metadata/user/tier\"") != std::string::npos);
  CHECK(metrics.original_bytes == stageflow::serialization::to_json(after).size());
  CHECK(stageflow::compression::apply_delta(stageflow::serialization::to_json(before), delta) ==
        stageflow::serialization::to_json(after));
  CHECK(stageflow::compression::compress(before, before).delta == "[]");
}
