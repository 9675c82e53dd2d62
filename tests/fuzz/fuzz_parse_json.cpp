// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for stageflow::serialization::parse_json. Checks:
//   - it accepts exactly what simdjson's DOM parser accepts (the two entry points agree), and a
//     refusal is a json_parse_error whose offset lies inside the text (or at its end);
//   - the round trip: the canonical JSON written from the value (to_json) is valid JSON equal to
//     the input (type-exact), and parsing it again writes the same bytes (the writer is a fixed point);
//   - byte_count agrees with the size to_json writes.
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/json_parse.hpp>
#include <stageflow/serialization/json_writer.hpp>

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "json_oracle.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view text, std::string_view detail) {
  std::fprintf(stderr, "%s\n--- text (%zu bytes)\n%.*s\n--- detail\n%.*s\n", what, text.size(),
               static_cast<int>(text.size()), text.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ser = stageflow::serialization;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = stageflow::testing::json_valid(text);  // integers beyond 64 bits read as doubles
  stageflow::JsonValue value;
  try {
    value = ser::parse_json(text);
  } catch (const ser::json_parse_error& error) {
    if (valid) fail("parse_json refused what simdjson accepts", text, error.what());
    if (error.offset() > text.size() || error.line() == 0 || error.column() == 0)
      fail("the error position is outside the text", text, error.what());
    return 0;
  }
  if (!valid) fail("parse_json accepted what simdjson refuses", text, "");
  const std::string written = ser::to_json(value);
  if (!stageflow::testing::json_equal(written, text)) fail("to_json(parse_json(text)) differs from the text", text, written);
  const std::string again = ser::to_json(ser::parse_json(written));
  if (again != written) fail("the canonical text is not a fixed point", text, again);
  if (ser::byte_count(value) != written.size()) fail("byte_count disagrees with to_json", text, written);
  return 0;
}
