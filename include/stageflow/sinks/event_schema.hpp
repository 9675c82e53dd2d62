// SPDX-License-Identifier: BSL-1.0
// The event schema, machine-readable: every event type stageflow emits, with its envelope members
// and its fields. docs/events.md shows the same table; tests/test_event_schema.cpp checks
// that the page matches this list and that every event the library emits matches its entry.
//
// A JSON line (JsonLinesSink) is one object:
//   type             text, always          the event type, "scope.what"
//   timestamp        text, always          ISO 8601 UTC with microseconds, when the event was emitted (outcome events: the measured end)
//   pipeline_run_id  text, always          the run's UUID (the nil UUID outside a run)
//   trace_id, span_id, parent_span_id      reserved for W3C trace context (lower-case hex)
//   stage            text, when the event is about one stage
//   status           text, outcome events: a word of to_string(StageStatus) or to_string(RunStatus)
//   duration_ns      integer nanoseconds, outcome events (and policy events that carry a duration)
//   reason           text, outcome events other than completed, when there is one
//   fields           object, always: what is particular to the event type (below); a policy's own
//                    events put their fields here too, so no key can clash with the envelope's
// Every line is valid UTF-8 (invalid bytes in any text become U+FFFD). An AsyncSink that had to cut
// an event adds `truncated: true` to its fields.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace stageflow::event_schema {

/// The top-level keys of a JSON line, in the order they are written. No other key appears there.
inline constexpr std::array<std::string_view, 11> envelope_keys = {
    "type", "timestamp", "pipeline_run_id", "trace_id", "span_id", "parent_span_id",
    "stage", "status", "duration_ns", "reason", "fields"};

enum class Presence : std::uint8_t { never, optional, always };
/// A field's type: integer (EventValue's int64), number (double), flag (bool), text, a list of text.
enum class Kind : std::uint8_t { integer, number, flag, text, text_list };

constexpr std::string_view to_string(Kind kind) noexcept {
  switch (kind) {
    case Kind::integer: return "integer";
    case Kind::number: return "number";
    case Kind::flag: return "flag";
    case Kind::text: return "text";
    case Kind::text_list: return "text list";
  }
  return "unknown";
}

struct FieldSpec {
  std::string_view key;
  Kind kind;
  Presence presence = Presence::always;
};

struct EventSpec {
  std::string_view type;
  std::string_view emitted_by;  // "runner", or the policy or sink that emits it
  Presence stage;
  Presence status;    // and duration_ns: outcome events have both
  Presence reason;
  std::span<const FieldSpec> fields;
};

namespace detail {
inline constexpr FieldSpec run_ended[] = {{"error_stage", Kind::text}};
inline constexpr FieldSpec run_timed_out[] = {{"error_stage", Kind::text}, {"abandoned", Kind::flag}};
// scope: "local" (UuidTelemetry, in a run: `field` names the id's place) or "fleet" (forward_fleet_events,
// outside any run: `instance` names who claimed the id first).
inline constexpr FieldSpec uuid_collision[] = {{"id", Kind::text},
                                               {"field", Kind::text, Presence::optional},
                                               {"category", Kind::text},
                                               {"scope", Kind::text},
                                               {"instance", Kind::text, Presence::optional}};
inline constexpr FieldSpec uuid_backend_unavailable[] = {
    {"category", Kind::text}, {"error", Kind::text}, {"backend_errors", Kind::integer}, {"dropped", Kind::integer}};
inline constexpr FieldSpec uuid_clock_skew[] = {
    {"id", Kind::text}, {"field", Kind::text}, {"category", Kind::text}, {"skew_ns", Kind::integer}};
inline constexpr FieldSpec memory_sample[] = {{"label", Kind::text},
                                              {"heap_bytes", Kind::integer},
                                              {"rss_bytes", Kind::integer},
                                              {"heap_known", Kind::flag},
                                              {"rss_known", Kind::flag}};
inline constexpr FieldSpec memory_growth_warning[] = {
    {"kind", Kind::text},           {"metric", Kind::text},          {"label", Kind::text},
    {"growth_bytes", Kind::integer}, {"baseline_bytes", Kind::integer}, {"current_bytes", Kind::integer},
    {"threshold_bytes", Kind::integer}, {"slope_bytes_per_sample", Kind::number}, {"trend", Kind::number},
    {"message", Kind::text}};
inline constexpr FieldSpec context_size_exceeded[] = {{"size_bytes", Kind::integer}, {"limit_bytes", Kind::integer}};
inline constexpr FieldSpec context_growth_warning[] = {
    {"growth_bytes", Kind::integer}, {"size_bytes", Kind::integer}, {"threshold_bytes", Kind::integer}};
inline constexpr FieldSpec immutability_violation[] = {{"paths", Kind::text_list},
                                                       {"changes", Kind::text_list},
                                                       {"truncated", Kind::flag},
                                                       {"stages", Kind::text},
                                                       {"message", Kind::text}};
inline constexpr FieldSpec immutability_unchecked[] = {{"outputs", Kind::text_list}};
inline constexpr FieldSpec stage_retrying[] = {{"attempt", Kind::integer}, {"delay_ns", Kind::integer}, {"reason", Kind::text}};
inline constexpr FieldSpec stage_hedged[] = {{"extra", Kind::integer}, {"after_ns", Kind::integer}};
inline constexpr FieldSpec sink_events_dropped[] = {{"dropped", Kind::integer}, {"dropped_total", Kind::integer}};
// from: the state left ("closed", "open", "half_open"); failures: what opened it (in a row, or in the window).
inline constexpr FieldSpec circuit_opened[] = {
    {"from", Kind::text}, {"failures", Kind::integer}, {"open_for_ns", Kind::integer}};
inline constexpr FieldSpec circuit_probes[] = {{"from", Kind::text}, {"probes", Kind::integer}};

using P = Presence;
}  // namespace detail

/// Every event type the library emits.
inline constexpr std::array<EventSpec, 26> catalog = {{
    {"pipeline.started", "runner", detail::P::never, detail::P::never, detail::P::never, {}},
    {"pipeline.completed", "runner", detail::P::never, detail::P::always, detail::P::never, {}},
    {"pipeline.failed", "runner", detail::P::never, detail::P::always, detail::P::optional, detail::run_ended},
    {"pipeline.cancelled", "runner", detail::P::never, detail::P::always, detail::P::optional, detail::run_ended},
    {"pipeline.timed_out", "runner", detail::P::never, detail::P::always, detail::P::optional, detail::run_timed_out},
    {"stage.started", "runner", detail::P::always, detail::P::never, detail::P::never, {}},
    {"stage.completed", "runner", detail::P::always, detail::P::always, detail::P::never, {}},
    {"stage.skipped", "runner", detail::P::always, detail::P::always, detail::P::optional, {}},
    {"stage.cancelled", "runner", detail::P::always, detail::P::always, detail::P::optional, {}},
    {"stage.failed", "runner", detail::P::always, detail::P::always, detail::P::optional, {}},
    {"stage.timed_out", "runner", detail::P::always, detail::P::always, detail::P::optional, {}},
    {"stage.retrying", "runner", detail::P::always, detail::P::never, detail::P::never, detail::stage_retrying},
    {"stage.hedged", "runner", detail::P::always, detail::P::never, detail::P::never, detail::stage_hedged},
    {"uuid.collision", "UuidTelemetry, forward_fleet_events", detail::P::never, detail::P::never, detail::P::never,
     detail::uuid_collision},
    {"uuid.backend_unavailable", "forward_fleet_events", detail::P::never, detail::P::never, detail::P::never,
     detail::uuid_backend_unavailable},
    {"uuid.clock_skew", "UuidTelemetry", detail::P::never, detail::P::never, detail::P::never, detail::uuid_clock_skew},
    {"memory.sample", "MemoryTracking", detail::P::optional, detail::P::never, detail::P::never, detail::memory_sample},
    {"memory.growth_warning", "MemoryTracking", detail::P::optional, detail::P::never, detail::P::never,
     detail::memory_growth_warning},
    {"context.size_exceeded", "ContextSizeInterceptor", detail::P::optional, detail::P::never, detail::P::never,
     detail::context_size_exceeded},
    {"context.growth_warning", "ContextSizeInterceptor", detail::P::always, detail::P::never, detail::P::never,
     detail::context_growth_warning},
    {"immutability.violation", "ImmutabilityInterceptor", detail::P::always, detail::P::never, detail::P::never,
     detail::immutability_violation},
    {"immutability.unchecked", "ImmutabilityInterceptor", detail::P::never, detail::P::never, detail::P::never,
     detail::immutability_unchecked},
    {"sink.events_dropped", "AsyncSink", detail::P::never, detail::P::never, detail::P::never,
     detail::sink_events_dropped},
    {"circuit.opened", "CircuitBreakers", detail::P::always, detail::P::never, detail::P::never,
     detail::circuit_opened},
    {"circuit.half_opened", "CircuitBreakers", detail::P::always, detail::P::never, detail::P::never,
     detail::circuit_probes},
    {"circuit.closed", "CircuitBreakers", detail::P::always, detail::P::never, detail::P::never,
     detail::circuit_probes},
}};

/// Whether the library emits this event type (a constant expression, also under UBSan).
constexpr bool is_documented(std::string_view type) noexcept {
  for (const auto& spec : catalog)
    if (spec.type == type) return true;
  return false;
}

/// The entry of this event type, or nullptr for a type the library does not emit (a policy's own).
constexpr const EventSpec* find(std::string_view type) noexcept {
  for (const auto& spec : catalog)
    if (spec.type == type) return &spec;
  return nullptr;
}

}  // namespace stageflow::event_schema
