// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for stageflow::compression. The input is one JSON text, or two separated by a
// NUL byte (a NUL cannot appear in valid JSON). Checks, beyond "no crash, no sanitizer report":
//   - compress(a, b) then apply_delta(a, delta) rebuilds b (type-exact, by an oracle that uses
//     only simdjson's public DOM API), as minified JSON;
//   - apply_delta(a, b) with b as a patch either throws ParseError / DeltaError or returns valid
//     minified JSON;
//   - the syntax checker that locates errors agrees with simdjson on what is valid JSON.
#include <stageflow/compression.hpp>

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "json_oracle.hpp"

namespace {

namespace sc = stageflow::compression;

[[noreturn]] void fail(const char* what, std::string_view a, std::string_view b, std::string_view detail) {
  std::fprintf(stderr, "%s\n--- a (%zu bytes)\n%.*s\n--- b (%zu bytes)\n%.*s\n--- detail\n%.*s\n", what, a.size(),
               static_cast<int>(a.size()), a.data(), b.size(), static_cast<int>(b.size()), b.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// simdjson's verdict as compress reads it: integers beyond 64 bits as doubles (big_integers.hpp).
bool simdjson_accepts(std::string_view text, simdjson::error_code* code = nullptr) {
  simdjson::dom::parser parser;
  simdjson::padded_string copy(text);
  auto error = parser.parse(copy).error();
  if (error == simdjson::NUMBER_ERROR && stageflow::detail::rewrite_big_integers(copy.data(), copy.size()) > 0)
    error = parser.parse(copy).error();
  if (code) *code = error;
  return !error;
}

void check_syntax_checker(std::string_view text) {
  simdjson::error_code code;
  const bool valid = simdjson_accepts(text, &code);
  const auto issue = stageflow::detail::compression::find_syntax_error(text, simdjson::DEFAULT_MAX_DEPTH);
  if (valid && issue) fail("the syntax checker rejects what simdjson accepts", text, {}, issue->reason);
  // simdjson counts object depth slightly differently near its limit; anything else must agree.
  if (!valid && !issue && code != simdjson::DEPTH_ERROR && code != simdjson::CAPACITY)
    fail("the syntax checker accepts what simdjson rejects", text, {}, simdjson::error_message(code));
}

void check_round_trip(std::string_view a, std::string_view b) {
  sc::CompressResult result;
  try {
    result = sc::compress(a, b);
  } catch (const sc::ParseError& error) {
    const bool a_valid = simdjson_accepts(a);
    const bool b_valid = simdjson_accepts(b);
    if ((error.argument() == sc::JsonArgument::base && a_valid) ||
        (error.argument() == sc::JsonArgument::current && (b_valid || !a_valid)))
      fail("compress blamed the wrong argument", a, b, error.what());
    return;
  }
  if (!simdjson_accepts(a) || !simdjson_accepts(b)) fail("compress accepted invalid JSON", a, b, result.delta);
  std::string rebuilt;
  try {
    rebuilt = sc::apply_delta(a, result.delta);
  } catch (const std::exception& error) {
    fail("our delta does not apply", a, b, std::string(error.what()) + "\ndelta: " + result.delta);
  }
  if (!stageflow::testing::json_equal(rebuilt, b)) fail("the round trip changed the document", a, b, rebuilt);
  if (!stageflow::testing::is_minified_json(rebuilt)) fail("apply_delta output is not minified JSON", a, b, rebuilt);
  if (sc::compress(rebuilt, b).delta != "[]") fail("rebuilt and current differ by compress", a, b, rebuilt);
  const auto& m = result.metrics;
  if (m.delta_bytes != result.delta.size() || m.original_bytes != stageflow::testing::minify_json(b).size())
    fail("metrics do not match", a, b, result.delta);
}

void check_apply(std::string_view base, std::string_view patch) {
  try {
    const std::string result = sc::apply_delta(base, patch);
    if (!stageflow::testing::is_minified_json(result)) fail("apply_delta returned invalid JSON", base, patch, result);
  } catch (const sc::ParseError&) {
  } catch (const sc::DeltaError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t separator = input.find('\0');
  if (separator == std::string_view::npos) {
    check_syntax_checker(input);
    check_round_trip(input, input);
    check_round_trip("{}", input);
    check_round_trip(input, "[]");
    check_apply(input, "[]");
    check_apply("{\"a\":[1,{\"b\":null}]}", input);
    return 0;
  }
  const std::string_view a = input.substr(0, separator), b = input.substr(separator + 1);
  check_round_trip(a, b);
  check_round_trip(b, a);
  check_apply(a, b);
  return 0;
}
