// SPDX-License-Identifier: BSL-1.0
// Structured events: what happened in a run, for event sinks (policies that have `emit`).
//
// An Event is a view: its strings and fields live only as long as the `emit` call, so building
// one costs no allocation. A sink that keeps events copies them (see CollectingSink, AsyncSink).
//
// One schema for every event, the library's and a policy's alike (docs/events.md; the
// list of every event type the library emits is <stageflow/sinks/event_schema.hpp>):
//   envelope  type, timestamp, pipeline_run_id, stage, status, duration, reason: fixed members
//             (trace_id, span_id, parent_span_id are reserved for W3C trace context);
//   fields    what is particular to one event type, e.g. {"size_bytes", 2048}. A JSON line nests
//             them under "fields", so a policy's key can never clash with an envelope key.
// Statuses are the words of to_string(StageStatus) / to_string(RunStatus), durations nanoseconds.
#pragma once

#include <stageflow/core/trace_context.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <type_traits>
#include <string_view>
#include <variant>

namespace stageflow {

/// The names of the events stageflow emits. Policies add their own with the same dotted style.
namespace events {
inline constexpr std::string_view pipeline_started = "pipeline.started";
inline constexpr std::string_view pipeline_completed = "pipeline.completed";
inline constexpr std::string_view pipeline_failed = "pipeline.failed";
inline constexpr std::string_view pipeline_cancelled = "pipeline.cancelled";
inline constexpr std::string_view pipeline_timed_out = "pipeline.timed_out";
inline constexpr std::string_view stage_started = "stage.started";
inline constexpr std::string_view stage_completed = "stage.completed";
inline constexpr std::string_view stage_skipped = "stage.skipped";
inline constexpr std::string_view stage_cancelled = "stage.cancelled";
inline constexpr std::string_view stage_failed = "stage.failed";
inline constexpr std::string_view stage_timed_out = "stage.timed_out";
/// A stage that declares `retry` failed an attempt and will try again after a backoff.
inline constexpr std::string_view stage_retrying = "stage.retrying";
/// A hedged stage's attempt ran past its `after`: another copy starts beside it.
inline constexpr std::string_view stage_hedged = "stage.hedged";
}  // namespace events

namespace detail {
/// The typed readers of event fields, for Event's and RecordedEvent's variants alike.
template <class Variant>
std::optional<double> field_number(const Variant* value) noexcept {
  if (value == nullptr) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(value)) return *d;
  return std::nullopt;
}
template <class Variant>
std::optional<bool> field_flag(const Variant* value) noexcept {
  if (value == nullptr) return std::nullopt;
  if (const auto* b = std::get_if<bool>(value)) return *b;
  return std::nullopt;
}
}  // namespace detail

/// A field value: integers, floating point, booleans, text and a list of text (e.g. field paths).
/// Sinks handle it with one std::visit branch per alternative (detail::overloaded), so a new
/// alternative is one more case in each sink, and a sink that misses it does not compile.
using EventValue = std::variant<std::int64_t, double, bool, std::string_view, std::span<const std::string_view>>;

namespace detail {
/// The visitor of one lambda per alternative: std::visit(overloaded{[](A) {}, [](B) {}}, v).
template <class... Cases>
struct overloaded : Cases... {
  using Cases::operator()...;
};
template <class... Cases>
overloaded(Cases...) -> overloaded<Cases...>;
}  // namespace detail

struct EventField {
  std::string_view key;
  EventValue value;

  constexpr EventField() noexcept = default;
  EventField(std::string_view k, std::string_view v) noexcept : key(k), value(v) {}
  EventField(std::string_view k, const char* v) noexcept : key(k), value(std::string_view(v)) {}
  EventField(std::string_view k, bool v) noexcept : key(k), value(v) {}
  EventField(std::string_view k, double v) noexcept : key(k), value(v) {}
  /// A list of text; the strings and the span must outlive the emit call, like the event.
  EventField(std::string_view k, std::span<const std::string_view> v) noexcept : key(k), value(v) {}
  template <class Int>
    requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool>)
  EventField(std::string_view k, Int v) noexcept : key(k), value(static_cast<std::int64_t>(v)) {}
};

struct Event {
  std::string_view type;                          // e.g. events::stage_completed, "uuid.collision"
  boost::uuids::uuid pipeline_run_id{};           // nil outside a run
  std::string_view stage;                         // empty for run-level events
  std::chrono::nanoseconds duration{-1};          // negative: not applicable
  std::chrono::system_clock::time_point timestamp{};
  std::span<const EventField> fields;             // what is particular to this type, e.g. {"size_bytes", 2048}
  std::string_view status;                        // outcome events: to_string(StageStatus or RunStatus)
  std::string_view reason;                        // outcome events: why it skipped, cancelled, failed, timed out
  TraceIds trace{};                               // the run's or the stage's span (W3C trace context)

  bool has_duration() const noexcept { return duration.count() >= 0; }
  /// The field with this key, or nullptr.
  const EventValue* field(std::string_view key) const noexcept {
    for (const auto& f : fields)
      if (f.key == key) return &f.value;
    return nullptr;
  }
  /// A text field's value; nullopt when the field is missing or not text. Valid during the call.
  std::optional<std::string_view> text(std::string_view key) const noexcept {
    const EventValue* value = field(key);
    if (value == nullptr) return std::nullopt;
    if (const auto* s = std::get_if<std::string_view>(value)) return *s;
    return std::nullopt;
  }
  /// A text-list field's value; nullopt when the field is missing or not a list. Valid during the call.
  std::optional<std::span<const std::string_view>> texts(std::string_view key) const noexcept {
    const EventValue* value = field(key);
    if (value == nullptr) return std::nullopt;
    if (const auto* list = std::get_if<std::span<const std::string_view>>(value)) return *list;
    return std::nullopt;
  }
  /// A number field's value (integer or floating point); nullopt when missing or not a number.
  std::optional<double> number(std::string_view key) const noexcept { return detail::field_number(field(key)); }
  /// A boolean field's value; nullopt when missing or not a boolean.
  std::optional<bool> flag(std::string_view key) const noexcept { return detail::field_flag(field(key)); }
};

/// A policy that receives events: `void emit(const Event&) const`. A runner may have several.
template <class S>
concept EventSink = requires(const S& sink, const Event& event) { sink.emit(event); };

}  // namespace stageflow
