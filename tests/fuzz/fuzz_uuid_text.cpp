// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for UUID text parsing (<stageflow/helpers/uuid_text.hpp>). Checks:
//   - the two entry points agree: parse_uuid throws std::invalid_argument exactly when
//     try_parse_uuid gives nullopt, and otherwise returns the same id;
//   - the round trip: an accepted text is the canonical text of its id (Boost.Uuid's to_string),
//     up to letter case and one pair of braces, and that canonical text parses back to the id;
//   - what is accepted is exactly the documented grammar (36 characters 8-4-4-4-12 hex digits, or
//     that inside braces), checked by an independent reading;
//   - the collision monitor's observe(text) accepts the same texts and sees the id (a repeat collides).
#include <stageflow/helpers/uuid_collision_monitor.hpp>
#include <stageflow/helpers/uuid_text.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "%s\n--- text (%zu bytes)\n%.*s\n", what, text.size(), static_cast<int>(text.size()), text.data());
  std::abort();
}

bool documented_grammar(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::string lower_without_braces(std::string_view text) {
  if (text.size() == 38) text = text.substr(1, 36);
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace h = stageflow::helpers;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = h::try_parse_uuid(text);
  if (parsed.has_value() != documented_grammar(text)) fail("try_parse_uuid disagrees with the documented grammar", text);
  bool threw = false;
  boost::uuids::uuid thrown_for{};
  try {
    thrown_for = h::parse_uuid(text);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  if (threw == parsed.has_value()) fail("parse_uuid and try_parse_uuid disagree on acceptance", text);
  static h::UuidCollisionMonitor monitor({.ttl_seconds = 3600, .max_entries = 1024});
  if (!parsed) {
    try {
      (void)monitor.observe(text);
      fail("the monitor accepted a text the parser refuses", text);
    } catch (const std::invalid_argument&) {
    }
    return 0;
  }
  if (thrown_for != *parsed) fail("parse_uuid and try_parse_uuid give different ids", text);
  const std::string canonical = boost::uuids::to_string(*parsed);
  if (canonical != lower_without_braces(text)) fail("the accepted text is not the id's canonical text", text);
  if (h::try_parse_uuid(canonical) != parsed) fail("the canonical text does not parse back", text);
  (void)monitor.observe(text);
  if (!monitor.observe(canonical)) fail("the same id in canonical spelling did not collide", text);
  return 0;
}
