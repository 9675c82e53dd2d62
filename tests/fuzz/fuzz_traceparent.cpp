// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for W3C traceparent parsing (<stageflow/core/trace_context.hpp>). Checks:
//   - what TraceParent::parse accepts is exactly the specification's grammar (version 00: 55
//     characters; a later version 01..fe: the 00 layout, then nothing or '-' and anything; lowercase
//     hex, no all-zero id, version ff invalid), after optional whitespace (spaces, tabs) around the
//     value, checked by an independent reading;
//   - an accepted value formats to the canonical 55 characters, which parse back to the same ids
//     and flags;
//   - optional whitespace added around any input changes nothing.
#include <stageflow/core/trace_context.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "%s\n--- text (%zu bytes)\n%.*s\n", what, text.size(), static_cast<int>(text.size()), text.data());
  std::abort();
}

bool lower_hex(std::string_view text) {
  for (const char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view text) { return text.find_first_not_of('0') == std::string_view::npos; }

// The specification's rules, read independently of the library.
bool grammar_accepts(std::string_view text) {
  const auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && ows(text.back())) text.remove_suffix(1);
  if (text.size() < 55) return false;
  const std::string_view version = text.substr(0, 2);
  if (!lower_hex(version) || version == "ff") return false;
  if (version == "00" && text.size() != 55) return false;
  if (text.size() > 55 && text[55] != '-') return false;
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return false;
  const std::string_view trace = text.substr(3, 32), parent = text.substr(36, 16), flags = text.substr(53, 2);
  return lower_hex(trace) && lower_hex(parent) && lower_hex(flags) && !all_zero(trace) && !all_zero(parent);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using stageflow::TraceParent;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = TraceParent::parse(text);
  if (parsed.has_value() != grammar_accepts(text))
    fail(parsed ? "parse accepted what the grammar refuses" : "parse refused what the grammar accepts", text);
  const auto padded = TraceParent::parse(" \t" + std::string(text) + "\t ");
  if (padded != parsed) fail("whitespace around the value changed the result", text);
  if (!parsed) return 0;
  if (!parsed->trace_id.is_valid() || !parsed->parent_id.is_valid()) fail("an accepted value has a zero id", text);
  const std::string formatted = parsed->format();
  if (formatted.size() != TraceParent::size || formatted.compare(0, 3, "00-") != 0)
    fail("format() is not 55 characters of version 00", text);
  const auto again = TraceParent::parse(formatted);
  if (!again || *again != *parsed) fail("format() does not parse back to the same value", text);
  std::string_view trimmed = text;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) trimmed.remove_prefix(1);
  if (trimmed.compare(3, 52, std::string_view(formatted).substr(3)) != 0)
    fail("the ids or flags differ from the text", text);
  return 0;
}
