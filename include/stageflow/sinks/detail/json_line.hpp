// SPDX-License-Identifier: BSL-1.0
// The JSON line of an event: the one place that spells the schema's keys (docs/events.md "Events and
// sinks"), shared by JsonLinesSink and, through it, AsyncSink.
//
//   {"type":"stage.failed","timestamp":"2026-11-29T21:51:51.123456Z","pipeline_run_id":"0193...",
//    "stage":"parse","status":"failed","duration_ns":48211,"reason":"cannot parse","fields":{}}
//
// Text is written as valid UTF-8 whatever the event holds: each byte that does not begin a
// well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF) is
// replaced by U+FFFD, and what JSON requires is escaped.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/core/trace_context.hpp>
#include <stageflow/json/detail/escape.hpp>
#include <stageflow/json/detail/utf8.hpp>
#include <stageflow/sinks/detail/utc_timestamp.hpp>
#include <stageflow/uuid/text.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace stageflow::detail {

/// Appends `text` as a JSON string, invalid UTF-8 bytes replaced by U+FFFD.
inline void append_json_text(std::string& out, std::string_view text) {
  const auto* const begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = begin + text.size();
  const auto* q = std::find_if(begin, end, [](unsigned char c) { return c >= 0x80; });
  if (q == end) {  // ASCII, the common case: nothing to check
    append_json_string(out, text);
    return;
  }
  auto view = [](const unsigned char* from, const unsigned char* to) {
    return std::string_view(reinterpret_cast<const char*>(from), static_cast<std::size_t>(to - from));
  };
  out.push_back('"');
  const unsigned char* run = begin;  // start of the bytes not yet written
  while (q != end) {
    if (*q < 0x80) {
      ++q;
      continue;
    }
    const Utf8Sequence sequence = check_utf8_sequence(q, end);
    if (sequence.problem == Utf8Sequence::Problem::none) {
      q += sequence.size;
      continue;
    }
    append_json_string_body(out, view(run, q));
    out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    run = ++q;
  }
  append_json_string_body(out, view(run, end));
  out.push_back('"');
}

/// Appends a number as JSON; NaN and infinities, which JSON cannot spell, as null.
template <class Number>
void append_json_number(std::string& out, Number value) {
  if constexpr (std::is_floating_point_v<Number>) {
    if (!(value == value) || value - value != 0) {
      out += "null";
      return;
    }
  }
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

/// Writes the members of one JSON object: `"key":value` pairs with the commas between them.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(&out) { out_->push_back('{'); }
  void close() { out_->push_back('}'); }

  void text(std::string_view key, std::string_view value) {
    name(key);
    append_json_text(*out_, value);
  }
  void integer(std::string_view key, std::int64_t value) {
    name(key);
    append_json_number(*out_, value);
  }
  void uuid(std::string_view key, const boost::uuids::uuid& id) {
    name(key);
    out_->push_back('"');
    append_uuid(*out_, id);
    out_->push_back('"');
  }
  void timestamp(std::string_view key, std::chrono::system_clock::time_point t) {
    name(key);
    out_->push_back('"');
    append_utc_timestamp(*out_, t);
    out_->push_back('"');
  }
  /// One field's value, by its type: one branch per EventValue alternative.
  void value(std::string_view key, const EventValue& value) {
    name(key);
    std::visit(overloaded{
                   [&](std::int64_t v) { append_json_number(*out_, v); },
                   [&](double v) { append_json_number(*out_, v); },
                   [&](bool v) { *out_ += v ? "true" : "false"; },
                   [&](std::string_view v) { append_json_text(*out_, v); },
                   [&](std::span<const std::string_view> texts) {
                     out_->push_back('[');
                     for (std::size_t i = 0; i < texts.size(); ++i) {
                       if (i != 0) out_->push_back(',');
                       append_json_text(*out_, texts[i]);
                     }
                     out_->push_back(']');
                   },
               },
               value);
  }
  /// Bytes as a lower-case hex string (trace and span ids).
  template <std::size_t N>
  void hex(std::string_view key, const std::array<std::uint8_t, N>& bytes) {
    name(key);
    out_->push_back('"');
    append_hex(*out_, bytes);
    out_->push_back('"');
  }
  /// Starts a nested object as this member's value; close it with its own close().
  JsonObjectWriter object(std::string_view key) {
    name(key);
    return JsonObjectWriter(*out_);
  }

 private:
  void name(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    append_json_text(*out_, key);
    out_->push_back(':');
  }

  std::string* out_;
  bool first_ = true;
};

/// Appends the event's JSON line, newline included. The envelope's keys come first in a fixed
/// order; the optional ones (stage, status, duration_ns, reason) only when the event has them;
/// "fields" always, as an object. A key repeated within the fields keeps its first value.
inline void append_json_line(std::string& out, const Event& event) {
  JsonObjectWriter line(out);
  line.text("type", event.type);
  line.timestamp("timestamp", event.timestamp);
  line.uuid("pipeline_run_id", event.pipeline_run_id);
  if (event.trace.trace_id.is_valid()) {  // W3C trace context, lower-case hex; none without a trace
    line.hex("trace_id", event.trace.trace_id.bytes);
    line.hex("span_id", event.trace.span_id.bytes);
    if (event.trace.parent_span_id.is_valid()) line.hex("parent_span_id", event.trace.parent_span_id.bytes);
  }
  if (!event.stage.empty()) line.text("stage", event.stage);
  if (!event.status.empty()) line.text("status", event.status);
  if (event.has_duration()) line.integer("duration_ns", event.duration.count());
  if (!event.reason.empty()) line.text("reason", event.reason);
  JsonObjectWriter fields = line.object("fields");
  for (std::size_t i = 0; i < event.fields.size(); ++i) {
    const EventField& field = event.fields[i];
    const bool repeated = std::any_of(event.fields.begin(), event.fields.begin() + static_cast<std::ptrdiff_t>(i),
                                      [&](const EventField& earlier) { return earlier.key == field.key; });
    if (!repeated) fields.value(field.key, field.value);
  }
  fields.close();
  line.close();
  out.push_back('\n');
}

}  // namespace stageflow::detail
