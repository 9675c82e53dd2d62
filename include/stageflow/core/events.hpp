// Structured events: what happened in a run, for event sinks (policies that have `emit`).
//
// An Event is a view: its strings and fields live only as long as the `emit` call, so building
// one costs no allocation. A sink that keeps events copies them (see CollectingSink).
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

/// A field value: integers, floating point, booleans and text.
using EventValue = std::variant<std::int64_t, double, bool, std::string_view>;

struct EventField {
  std::string_view key;
  EventValue value;

  EventField(std::string_view k, std::string_view v) noexcept : key(k), value(v) {}
  EventField(std::string_view k, const char* v) noexcept : key(k), value(std::string_view(v)) {}
  EventField(std::string_view k, bool v) noexcept : key(k), value(v) {}
  EventField(std::string_view k, double v) noexcept : key(k), value(v) {}
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
  std::span<const EventField> fields;             // anything else, e.g. {"error", "..."}
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
  /// A number field's value (integer or floating point); nullopt when missing or not a number.
  std::optional<double> number(std::string_view key) const noexcept { return detail::field_number(field(key)); }
  /// A boolean field's value; nullopt when missing or not a boolean.
  std::optional<bool> flag(std::string_view key) const noexcept { return detail::field_flag(field(key)); }
};

/// A policy that receives events: `void emit(const Event&) const`. A runner may have several.
template <class S>
concept EventSink = requires(const S& sink, const Event& event) { sink.emit(event); };

}  // namespace stageflow
