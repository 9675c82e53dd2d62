// SPDX-License-Identifier: BSL-1.0
// apply_delta(): RFC 6902 conformance (the RFC's appendix A examples), all-or-nothing failures
// with errors that name the operation and path, and the text it writes.
#include <stageflow/compression.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>

#include "catch2_shim.hpp"
#include "json_oracle.hpp"

using stageflow::compression::apply_delta;
using stageflow::compression::compress;
using stageflow::compression::DeltaError;
using stageflow::compression::JsonArgument;
using stageflow::compression::ParseError;
using stageflow::testing::json_equal;

namespace {

void check_applies(std::string_view base, std::string_view patch, std::string_view expected) {
  INFO("base: " << base << "\npatch: " << patch);
  const std::string result = apply_delta(base, patch);
  INFO("result: " << result);
  CHECK(json_equal(result, expected));
  CHECK(stageflow::testing::is_minified_json(result));
}

DeltaError delta_error(std::string_view base, std::string_view patch) {
  try {
    const std::string result = apply_delta(base, patch);
    FAIL("no DeltaError; result: " << result);
  } catch (const DeltaError& error) {
    return error;
  }
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("RFC 6902 appendix A: the examples that succeed", "[compression][apply]") {
  // A.1 .. A.8, A.10, A.11, A.14, A.16
  check_applies(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])", R"({"baz":"qux","foo":"bar"})");
  check_applies(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
                R"({"foo":["bar","qux","baz"]})");
  check_applies(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])", R"({"foo":"bar"})");
  check_applies(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})");
  check_applies(R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])",
                R"({"baz":"boo","foo":"bar"})");
  check_applies(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
                R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})");
  check_applies(R"({"foo":["all","grass","cows","eat"]})", R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
                R"({"foo":["all","cows","eat","grass"]})");
  check_applies(R"({"baz":"qux","foo":["a",2,"c"]})",
                R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
                R"({"baz":"qux","foo":["a",2,"c"]})");
  check_applies(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
                R"({"foo":"bar","child":{"grandchild":{}}})");
  check_applies(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])",
                R"({"foo":"bar","baz":"qux"})");
  check_applies(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])", R"({"/":9,"~1":10})");
  check_applies(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
                R"({"foo":["bar",["abc","def"]]})");
}

TEST_CASE("RFC 6902 appendix A: the examples that fail", "[compression][apply]") {
  // A.9: test fails.
  CHECK_THAT(delta_error(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])").reason(),
             Catch::Contains("test failed"));
  // A.12: adding to a nonexistent target.
  const DeltaError missing = delta_error(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])");
  CHECK(missing.operation_index() == 0);
  CHECK(missing.op() == "add");
  CHECK(missing.path() == "/baz/bat");
  CHECK_THAT(missing.reason(), Catch::Contains("no member \"baz\""));
  // A.15: a string is not a number.
  CHECK_THAT(delta_error(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])").reason(),
             Catch::Contains("test failed"));
}

TEST_CASE("test compares as RFC 6902 says: numbers by value, objects regardless of order", "[compression][apply]") {
  const std::string base = R"({"n":1,"d":1.5,"o":{"a":1,"b":[1,2]},"big":18446744073709551615,"neg":-3})";
  check_applies(base, R"([{"op":"test","path":"/n","value":1.0}])", base);
  check_applies(base, R"([{"op":"test","path":"/d","value":15e-1}])", base);
  check_applies(base, R"([{"op":"test","path":"/o","value":{"b":[1,2],"a":1}}])", base);
  check_applies(base, R"([{"op":"test","path":"/big","value":18446744073709551615}])", base);
  check_applies(base, R"([{"op":"test","path":"/neg","value":-3.0}])", base);
  check_applies(base, R"([{"op":"test","path":"","value":)" + base + "}]", base);
  CHECK_NOTHROW(apply_delta(base, R"([{"op":"test","path":"/o/b/1","value":2}])"));
  CHECK_THROWS_AS(apply_delta(base, R"([{"op":"test","path":"/n","value":true}])"), DeltaError);
  CHECK_THROWS_AS(apply_delta(base, R"([{"op":"test","path":"/n","value":1.5}])"), DeltaError);
  CHECK_THROWS_AS(apply_delta(base, R"([{"op":"test","path":"/o","value":{"a":1}}])"), DeltaError);
  CHECK_THROWS_AS(apply_delta(base, R"([{"op":"test","path":"/o/b","value":[2,1]}])"), DeltaError);
  CHECK_THROWS_AS(apply_delta(base, R"([{"op":"test","path":"/neg","value":18446744073709551613}])"), DeltaError);
  // After an add, test sees the new value.
  check_applies(base, R"([{"op":"add","path":"/o/c","value":[true]},{"op":"test","path":"/o","value":{"a":1,"b":[1,2],"c":[true]}}])",
                R"({"n":1,"d":1.5,"o":{"a":1,"b":[1,2],"c":[true]},"big":18446744073709551615,"neg":-3})");
}

TEST_CASE("Operations apply in order and see each other's results", "[compression][apply]") {
  check_applies(R"({})", R"([{"op":"add","path":"/a","value":{}},{"op":"add","path":"/a/b","value":[]},
                             {"op":"add","path":"/a/b/0","value":1},{"op":"add","path":"/a/b/-","value":2},
                             {"op":"replace","path":"/a/b/0","value":0}])",
                R"({"a":{"b":[0,2]}})");
  check_applies(R"({"a":[1,2,3]})", R"([{"op":"copy","from":"/a","path":"/b"},{"op":"remove","path":"/a/0"},
                                        {"op":"add","path":"/b/0","value":0}])",
                R"({"a":[2,3],"b":[0,1,2,3]})");
  // A copy is independent of its source.
  check_applies(R"({"a":{"x":1}})", R"([{"op":"add","path":"/a/y","value":2},{"op":"copy","from":"/a","path":"/b"},
                                        {"op":"add","path":"/b/z","value":3},{"op":"remove","path":"/a/x"}])",
                R"({"a":{"y":2},"b":{"x":1,"y":2,"z":3}})");
  // Moving a value to where it is changes nothing.
  check_applies(R"({"a":1})", R"([{"op":"move","from":"/a","path":"/a"}])", R"({"a":1})");
  // Replacing or adding at the root replaces the document.
  check_applies(R"({"a":1})", R"([{"op":"replace","path":"","value":[1]},{"op":"add","path":"/-","value":2}])", "[1,2]");
  check_applies(R"({"a":1})", R"([{"op":"add","path":"","value":"s"}])", R"("s")");
  // "add" on an existing member replaces it.
  check_applies(R"({"a":1})", R"([{"op":"add","path":"/a","value":2}])", R"({"a":2})");
  // The empty patch.
  check_applies("{\n \"a\" : [ 1 , 2 ]\n}", "[]", R"({"a":[1,2]})");
  check_applies("{\n \"a\" : [ 1 , 2 ]\n}", " [ ] ", R"({"a":[1,2]})");
}

TEST_CASE("apply_delta writes untouched values as their source text, minified", "[compression][apply]") {
  CHECK(apply_delta("{ \"n\" : 1.50 , \"s\" : \"\\u0041 b\" , \"k\\u00e9\" : [ 1e2 ] }", "[]") ==
        R"({"n":1.50,"s":"\u0041 b","k\u00e9":[1e2]})");
  CHECK(apply_delta("{ \"n\" : 1.50 , \"s\" : \"x\" , \"k\\u00e9\" : [ 1e2 ] }",
                    R"([{"op":"replace","path":"/s","value": 2.50 }])") == R"({"n":1.50,"s":2.50,"k\u00e9":[1e2]})");
  // Keys added by a path are written JSON-escaped.
  CHECK(apply_delta("{}", R"([{"op":"add","path":"/a~1b\"c\n","value":1}])") == R"({"a/b\"c\n":1})");
}

TEST_CASE("Duplicated keys in the base: the last value is the member; an edited object lists it once",
          "[compression][apply]") {
  CHECK(apply_delta(R"({"a":1,"a":2})", R"([{"op":"test","path":"/a","value":2}])") == R"({"a":1,"a":2})");
  CHECK(apply_delta(R"({"a":1,"a":2,"b":0})", R"([{"op":"replace","path":"/a","value":3}])") == R"({"a":3,"b":0})");
  CHECK(apply_delta(R"({"a":1,"a":2,"b":0})", R"([{"op":"remove","path":"/a"}])") == R"({"b":0})");
  CHECK(apply_delta(R"({"a":1,"b":0,"a":2})", R"([{"op":"add","path":"/c","value":1}])") == R"({"a":2,"b":0,"c":1})");
  // In the delta too: a duplicated member of an operation, the last one wins.
  CHECK(apply_delta(R"({"a":1})", R"([{"op":"remove","path":"/x","path":"/a"}])") == "{}");
}

TEST_CASE("A delta that does not fit throws DeltaError naming the operation and path", "[compression][apply]") {
  const std::string base = R"({"a":[1,2,3],"o":{"k":"v"},"s":"text"})";
  struct Case {
    const char* patch;
    std::size_t index;
    const char* op;
    const char* path;
    const char* reason;
  };
  const Case cases[] = {
      {R"([{"op":"remove","path":"/missing"}])", 0, "remove", "/missing", "has no member \"missing\""},
      {R"([{"op":"replace","path":"/o/x","value":1}])", 0, "replace", "/o/x", "has no member \"x\""},
      {R"([{"op":"remove","path":"/a/3"}])", 0, "remove", "/a/3", "index 3 is out of range"},
      {R"([{"op":"replace","path":"/a/7","value":0}])", 0, "replace", "/a/7", "index 7 is out of range"},
      {R"([{"op":"add","path":"/a/4","value":0}])", 0, "add", "/a/4", "out of range for add"},
      {R"([{"op":"add","path":"/a/01","value":0}])", 0, "add", "/a/01", "not an array index"},
      {R"([{"op":"remove","path":"/a/-"}])", 0, "remove", "/a/-", "not an index"},
      {R"([{"op":"remove","path":"/a/x"}])", 0, "remove", "/a/x", "not an index"},
      {R"([{"op":"add","path":"/s/x","value":0}])", 0, "add", "/s/x", "it is a string"},
      {R"([{"op":"remove","path":"/s/x/y"}])", 0, "remove", "/s/x/y", "is a string, which has no members"},
      {R"([{"op":"remove","path":""}])", 0, "remove", "", "whole document"},
      {R"([{"op":"replace","path":"a"}])", 0, "replace", "a", "start with '/'"},
      {R"([{"op":"add","path":"/o/~2","value":1}])", 0, "add", "/o/~2", "invalid escape"},
      {R"([{"op":"frob","path":"/a"}])", 0, "frob", "/a", "unknown op \"frob\""},
      {R"([{"path":"/a"}])", 0, "", "/a", "missing \"op\""},
      {R"([{"op":1,"path":"/a"}])", 0, "", "/a", "\"op\" must be a string"},
      {R"([{"op":"remove"}])", 0, "remove", "", "missing \"path\""},
      {R"([{"op":"remove","path":7}])", 0, "remove", "", "\"path\" must be a string"},
      {R"([{"op":"add","path":"/b"}])", 0, "add", "/b", "missing \"value\""},
      {R"([{"op":"replace","path":"/a"}])", 0, "replace", "/a", "missing \"value\""},
      {R"([{"op":"test","path":"/a"}])", 0, "test", "/a", "missing \"value\""},
      {R"([{"op":"move","path":"/b"}])", 0, "move", "/b", "missing \"from\""},
      {R"([{"op":"copy","path":"/b","from":3}])", 0, "copy", "/b", "\"from\" must be a string"},
      {R"([{"op":"move","from":"/nope","path":"/b"}])", 0, "move", "/b", "no member \"nope\""},
      {R"([{"op":"move","from":"/o","path":"/o/inner"}])", 0, "move", "/o/inner", "into one of its own members"},
      {R"([{"op":"copy","from":"/a/9","path":"/b"}])", 0, "copy", "/b", "index 9 is out of range"},
      {R"(["remove"])", 0, "", "", "must be a JSON object, got a string"},
      // The failing operation is named by its index, after operations that succeeded.
      {R"([{"op":"add","path":"/n","value":1},{"op":"remove","path":"/a/0"},{"op":"remove","path":"/zz"}])", 2,
       "remove", "/zz", "no member \"zz\""},
  };
  for (const Case& c : cases) {
    INFO("patch: " << c.patch);
    const DeltaError error = delta_error(base, c.patch);
    CHECK(error.operation_index() == c.index);
    CHECK(error.op() == c.op);
    CHECK(error.path() == c.path);
    CHECK_THAT(error.reason(), Catch::Contains(c.reason));
    CHECK_THAT(error.what(), Catch::Contains("operation " + std::to_string(c.index)));
  }
}

TEST_CASE("A delta that is not an array of operations is rejected as a whole", "[compression][apply]") {
  for (const char* patch : {R"({"op":"remove","path":"/a"})", "\"[]\"", "null", "3"}) {
    INFO(patch);
    const DeltaError error = delta_error(R"({"a":1})", patch);
    CHECK(error.operation_index() == DeltaError::no_operation);
    CHECK_THAT(error.what(), Catch::Contains("not a JSON Patch"));
  }
}

TEST_CASE("All or nothing: a failing operation leaves no result, and the next call is unaffected",
          "[compression][apply]") {
  const std::string base = R"({"a":[1,2,3],"o":{"k":"v"}})";
  const std::string failing =
      R"([{"op":"remove","path":"/a/0"},{"op":"add","path":"/o/new","value":1},{"op":"test","path":"/a/0","value":1}])";
  std::string result = "untouched";
  CHECK_THROWS_AS(result = apply_delta(base, failing), DeltaError);
  CHECK(result == "untouched");
  // The same base and a good patch still give exactly the expected document.
  CHECK(apply_delta(base, R"([{"op":"test","path":"/a/0","value":1}])") == R"({"a":[1,2,3],"o":{"k":"v"}})");
  CHECK(compress(base, R"({"a":[1,2,3],"o":{"k":"v"}})").delta == "[]");
}

TEST_CASE("apply_delta: malformed JSON names the base or the delta", "[compression][apply][errors]") {
  try {
    (void)apply_delta("{\"a\":}", "[]");
    FAIL("no ParseError");
  } catch (const ParseError& error) {
    CHECK(error.argument() == JsonArgument::base);
    CHECK(error.column() == 6);
  }
  try {
    (void)apply_delta("{}", "[{\"op\":\"add\",\n\"path\":\"/a\",\"value\":[1,]}]");
    FAIL("no ParseError");
  } catch (const ParseError& error) {
    CHECK(error.argument() == JsonArgument::delta);
    CHECK(error.line() == 2);
    CHECK_THAT(error.what(), Catch::Contains("delta is not valid JSON"));
  }
}

// Regression (issue 16, defect 6): errors about a bad "from" were labelled with the path only
// ("(copy "/foo"): path does not exist ..."), and an operation without "path" looked like one on the
// root pointer ("(add "")").
TEST_CASE("DeltaError labels move and copy with their from, and a missing path as missing", "[compression][apply]") {
  const std::string base = R"({"foo":{"x":1},"a":[1]})";
  const DeltaError copy = delta_error(base, R"([{"op":"copy","from":"/foo/bar","path":"/foo/y"}])");
  CHECK(copy.from() == std::optional<std::string>("/foo/bar"));
  CHECK(copy.path() == "/foo/y");
  CHECK_THAT(copy.what(), Catch::Contains(R"(operation 0 (copy from "/foo/bar" to "/foo/y"): "from" does not exist: the object at "/foo" has no member "bar")"));
  const DeltaError move = delta_error(base, R"([{"op":"move","from":"/a/5","path":"/b"}])");
  CHECK_THAT(move.what(), Catch::Contains(R"((move from "/a/5" to "/b"): "from" does not exist: index 5 is out of range)"));
  const DeltaError move_onto_itself = delta_error(base, R"([{"op":"move","from":"/nope","path":"/nope"}])");
  CHECK_THAT(move_onto_itself.reason(), Catch::StartsWith("\"from\" does not exist"));
  // The path of a copy is still the path.
  const DeltaError copy_path = delta_error(base, R"([{"op":"copy","from":"/foo","path":"/zz/y"}])");
  CHECK_THAT(copy_path.what(), Catch::Contains(R"((copy from "/foo" to "/zz/y"): path does not exist)"));

  const DeltaError no_path = delta_error(base, R"([{"op":"add","value":1}])");
  CHECK_FALSE(no_path.has_path());
  CHECK_THAT(no_path.what(), Catch::EndsWith(R"(delta operation 0 (add): missing "path")"));
  const DeltaError root = delta_error(base, R"([{"op":"remove","path":""}])");
  CHECK(root.has_path());
  CHECK_THAT(root.what(), Catch::Contains(R"(operation 0 (remove ""))"));
  const DeltaError not_string = delta_error(base, R"([{"op":"remove","path":7}])");
  CHECK_FALSE(not_string.has_path());
  CHECK_THAT(not_string.what(), Catch::Contains(R"(operation 0 (remove): "path" must be a string)"));
}

// apply_delta_to streams the same bytes apply_delta returns, in bounded pieces, and throws before
// the first piece when the delta does not fit (issue 16, defect 5: the CLI held the whole result).
TEST_CASE("apply_delta_to hands the result over in pieces, all or nothing", "[compression][apply]") {
  std::string base = "[";
  for (int i = 0; i < 60'000; ++i) {
    if (i) base += ",\n  ";
    base += R"({"id": )" + std::to_string(i) + R"(, "name": "item", "tags": ["a", "b"]})";
  }
  base += "]";
  REQUIRE(base.size() > (std::size_t{3} << 20));
  const std::string patch =
      R"([{"op":"replace","path":"/7/name","value":"seven"},{"op":"remove","path":"/30000"},)"
      R"({"op":"add","path":"/59000/tags/-","value":{"deep":[1,2]}},{"op":"copy","from":"/1","path":"/-"}])";
  const std::string whole = apply_delta(base, patch);
  std::string streamed;
  std::size_t pieces = 0, largest = 0;
  stageflow::compression::apply_delta_to(base, patch, [&](std::string_view piece) {
    ++pieces;
    largest = std::max(largest, piece.size());
    streamed += piece;
  });
  CHECK(streamed == whole);
  CHECK(pieces >= 2);
  CHECK(largest <= (std::size_t{3} << 20));  // about 1 MiB, at most a piece plus what came before it
  bool called = false;
  CHECK_THROWS_AS(stageflow::compression::apply_delta_to(base, R"([{"op":"remove","path":"/99999"}])",
                                                         [&](std::string_view) { called = true; }),
                  DeltaError);
  CHECK_FALSE(called);
  std::string small;
  stageflow::compression::apply_delta_to(R"({"a":1})", R"([{"op":"add","path":"/b","value":[true]}])",
                                         [&](std::string_view piece) { small += piece; });
  CHECK(small == R"({"a":1,"b":[true]})");
}

namespace {
// `copies` operations that each copy the whole document into one of its own members: the
// document doubles with each (issue 25, defect 13: 24 of them, 1,142 bytes, took 2.6 GB).
std::string doubling_patch(int copies) {
  std::string patch = "[";
  for (int i = 0; i < copies; ++i) {
    if (i) patch += ',';
    patch += R"({"op":"copy","from":"","path":"/k)" + std::to_string(i) + "\"}";
  }
  return patch + "]";
}
}  // namespace

TEST_CASE("apply_delta bounds the document it builds: copies that double it fail before allocating",
          "[compression][apply][limits]") {
  using stageflow::compression::ApplyOptions;
  using stageflow::compression::DocumentLimitError;
  const std::string base = R"({"x":")" + std::string(1000, 'a') + "\"}";
  // 12 doublings: about 4 MB, past the default bound (4 x the inputs + 1 MiB).
  const std::string bomb = doubling_patch(12);
  const std::size_t limit = stageflow::compression::default_max_document_bytes(base.size(), bomb.size());
  CHECK(limit == 4 * (base.size() + bomb.size()) + (std::size_t{1} << 20));
  try {
    const std::string result = apply_delta(base, bomb);
    FAIL("no DocumentLimitError; result of " << result.size() << " bytes");
  } catch (const DocumentLimitError& error) {
    CHECK(error.limit() == limit);
    CHECK(error.op() == "copy");
    CHECK(error.operation_index() >= 8);  // copy i makes 2^(i+1) KB: past 1 MiB at the 11th
    CHECK(error.operation_index() < 12);
    CHECK_THAT(error.what(), Catch::Contains("over the limit of " + std::to_string(limit) + " bytes"));
    CHECK_THAT(error.what(), Catch::Contains("max_document_bytes"));
  }
  // Many more (the reported 30 ended in bad_alloc): the same clear error, at once.
  CHECK_THROWS_AS(apply_delta(base, doubling_patch(64)), DocumentLimitError);
  bool called = false;
  CHECK_THROWS_AS(stageflow::compression::apply_delta_to(base, doubling_patch(64), [&](std::string_view) { called = true; }),
                  DocumentLimitError);
  CHECK_FALSE(called);

  // A few doublings stay within the default bound and give the exact document.
  const std::string small = R"({"x":0})";
  const std::string two = apply_delta(small, doubling_patch(2));
  CHECK(json_equal(two, R"({"x":0,"k0":{"x":0},"k1":{"x":0,"k0":{"x":0}}})"));

  // The bound is an option: raised, the 12 doublings apply; the size it counts covers the result.
  const std::string big = apply_delta(base, bomb, ApplyOptions{.max_document_bytes = std::size_t{64} << 20});
  CHECK(big.size() > (std::size_t{3} << 20));
  CHECK(big.size() < (std::size_t{64} << 20));
  CHECK_THROWS_AS(apply_delta(base, bomb, ApplyOptions{.max_document_bytes = big.size() - 1}), DocumentLimitError);
  CHECK(apply_delta(base, bomb, ApplyOptions{.max_document_bytes = 3 * big.size()}) == big);

  // It bounds every growing operation, and removing makes room again.
  const ApplyOptions tight{.max_document_bytes = 20};
  CHECK_THROWS_AS(apply_delta(small, doubling_patch(64)), DocumentLimitError);
  CHECK(apply_delta(small, R"([{"op":"add","path":"/y","value":[1,2]}])", tight) == R"({"x":0,"y":[1,2]})");
  CHECK_THROWS_AS(apply_delta(small, R"([{"op":"add","path":"/y","value":[1,2,3,4,5,6]}])", tight), DocumentLimitError);
  CHECK_THROWS_AS(apply_delta(small, R"([{"op":"replace","path":"/x","value":"0123456789abcdef"}])", tight),
                  DocumentLimitError);
  CHECK(apply_delta(small, R"([{"op":"remove","path":"/x"},{"op":"add","path":"/z","value":"0123456789"}])", tight) ==
        R"({"z":"0123456789"})");
  // A base larger than the bound may still shrink.
  CHECK(apply_delta(small, R"([{"op":"remove","path":"/x"}])", ApplyOptions{.max_document_bytes = 1}) == "{}");
}

namespace {
// The fastest of three: a loaded machine only ever adds time.
double seconds_to_apply(std::string_view base, std::string_view patch, std::string& result) {
  double best = 1e9;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
    result = apply_delta(base, patch, stageflow::compression::ApplyOptions{.max_document_bytes = std::size_t{1} << 30});
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}
}  // namespace

// Issue 25, defect 14: each "add /a/0" moved the whole array (a std::vector insert at the front):
// 100k of them took 17.6 s, 1M over 5 minutes. Front inserts and front removes now cost about as
// much as appends (benchmarks/bench_compression.cpp measures 1M).
TEST_CASE("apply_delta: front inserts and removes cost about what appends cost", "[compression][apply][limits]") {
  constexpr int n = 100'000;
  std::string front = "[", append = "[", remove = "[", base = R"({"a":[)", expected_front = R"({"a":[)";
  for (int i = 0; i < n; ++i) {
    const char* comma = i ? "," : "";
    front += comma + (R"({"op":"add","path":"/a/0","value":)" + std::to_string(i) + "}");
    append += comma + (R"({"op":"add","path":"/a/-","value":)" + std::to_string(i) + "}");
    remove += comma + std::string(R"({"op":"remove","path":"/a/0"})");
    base += comma + std::to_string(i);
    expected_front += comma + std::to_string(n - 1 - i);
  }
  front += "]", append += "]", remove += "]";
  for (int i = 0; i < n; ++i) base += "," + std::to_string(n + i);
  base += "]}";
  std::string front_result, append_result, remove_result;
  const double front_seconds = seconds_to_apply(R"({"a":[]})", front, front_result);
  const double append_seconds = seconds_to_apply(R"({"a":[]})", append, append_result);
  const double remove_seconds = seconds_to_apply(base, remove, remove_result);
  CHECK(front_result == expected_front + "]}");
  CHECK(append_result.size() == front_result.size());
  CHECK(remove_result.rfind(R"({"a":[)" + std::to_string(n) + "," + std::to_string(n + 1) + ",", 0) == 0);
  CHECK(remove_result.size() == base.size() - (front_result.size() - 8) - 1);  // and one comma
  INFO("front " << front_seconds << " s, remove " << remove_seconds << " s, append " << append_seconds << " s");
  // Quadratic, the front inserts took 17 times the appends here (debug build), the removes more;
  // now about 1.5 times. A loaded machine varies a little.
  CHECK(front_seconds < 4 * append_seconds + 0.3);
  CHECK(remove_seconds < 4 * append_seconds + 0.3);
  // Inserts in the middle, at ascending and at the same index, land where RFC 6902 says.
  check_applies(R"([0,1,2,3])",
                R"([{"op":"add","path":"/2","value":"x"},{"op":"add","path":"/2","value":"y"},{"op":"add","path":"/5","value":"z"},)"
                R"({"op":"remove","path":"/0"},{"op":"add","path":"/-","value":"end"},{"op":"remove","path":"/1"},{"op":"add","path":"/0","value":"first"}])",
                R"(["first",1,"x",2,"z",3,"end"])");
}
