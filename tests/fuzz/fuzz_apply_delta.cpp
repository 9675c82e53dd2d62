// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for stageflow::compression::apply_delta with both inputs fuzzed: the input is
// BASE, a NUL byte, then PATCH (no NUL: the input is used as the base and as the patch). Checks,
// beyond "no crash, no sanitizer report":
//   - apply_delta throws ParseError naming the argument that is not JSON (by simdjson's verdict),
//     or DeltaError, or returns minified JSON;
//   - apply_delta_to (the streaming entry point) hands over exactly the bytes apply_delta returns;
//   - the result does not depend on the base's whitespace: the base minified gives the same bytes;
//   - the round trip: compress(base, result) applied to the base rebuilds the result (as JSON).
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

[[noreturn]] void fail(const char* what, std::string_view base, std::string_view patch, std::string_view detail) {
  std::fprintf(stderr, "%s\n--- base (%zu bytes)\n%.*s\n--- patch (%zu bytes)\n%.*s\n--- detail\n%.*s\n", what,
               base.size(), static_cast<int>(base.size()), base.data(), patch.size(), static_cast<int>(patch.size()),
               patch.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// simdjson's verdict as the library reads JSON: integers beyond 64 bits as doubles.
bool simdjson_accepts(std::string_view text) { return stageflow::testing::json_valid(text); }

void check(std::string_view base, std::string_view patch) {
  std::string result;
  try {
    result = sc::apply_delta(base, patch);
  } catch (const sc::ParseError& error) {
    const bool blamed_base = error.argument() == sc::JsonArgument::base;
    if (blamed_base ? simdjson_accepts(base) : (simdjson_accepts(patch) || !simdjson_accepts(base)))
      fail("apply_delta blamed the wrong argument", base, patch, error.what());
    return;
  } catch (const sc::DeltaError& error) {
    if (!simdjson_accepts(base) || !simdjson_accepts(patch)) fail("DeltaError for invalid JSON", base, patch, error.what());
    return;
  }
  if (!stageflow::testing::is_minified_json(result)) fail("apply_delta returned invalid JSON", base, patch, result);
  std::string streamed;
  sc::apply_delta_to(base, patch, [&](std::string_view piece) { streamed += piece; });
  if (streamed != result) fail("apply_delta_to and apply_delta disagree", base, patch, streamed);
  const std::string minified_base = stageflow::testing::minify_json(base);
  if (minified_base != base) {
    std::string again;
    try {
      again = sc::apply_delta(minified_base, patch);
    } catch (const std::exception& error) {
      fail("the minified base does not take the patch", base, patch, error.what());
    }
    if (again != result) fail("the result depends on the base's whitespace", base, patch, again);
  }
  const auto [delta, metrics] = sc::compress(base, result);
  std::string rebuilt;
  try {
    rebuilt = sc::apply_delta(base, delta);
  } catch (const std::exception& error) {
    fail("compress(base, result) does not apply", base, patch, std::string(error.what()) + "\ndelta: " + delta);
  }
  // Equal as JSON, not byte for byte: an object apply_delta edited keeps one of duplicated keys (the
  // last wins, as readers take it), while an untouched one is copied with its duplicates.
  if (!stageflow::testing::json_equal(rebuilt, result))
    fail("compress(base, result) does not rebuild the result", base, patch, rebuilt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t separator = input.find('\0');
  if (separator == std::string_view::npos) {
    check(input, input);
    check(R"({"a":[1,{"b":null}],"c":"d"})", input);
    return 0;
  }
  check(input.substr(0, separator), input.substr(separator + 1));
  return 0;
}
