// SPDX-License-Identifier: BSL-1.0
// forward_fleet_events: what a monitor's shared window finds, as events on a sink.
//
//   auto sink = stageflow::JsonLinesSink<>(std::cerr);
//   stageflow::fleet::forward_fleet_events(monitor, sink);   // the same sink your runner holds
//
// A fleet collision is found after observe() returned, on the shared window's thread, when the run
// that observed the id may be over; so it is not a run's event: it goes straight to the sink, with
// the nil pipeline_run_id, as
//   uuid.collision            fields: id, category, scope "fleet", instance (who claimed the id first)
//   uuid.backend_unavailable  fields: category, error, backend_errors, dropped (totals so far)
// (UuidTelemetry's collisions, found in a run, carry scope "local".) Sinks are handles: copies share
// their destination, so the listener keeps a copy of `sink`.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/uuid/collision_monitor.hpp>
#include <stageflow/uuid/text.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace stageflow::fleet {

/// The type of the event a backend-unavailable report becomes (uuid.collision is UuidTelemetry's name).
inline constexpr std::string_view uuid_backend_unavailable_event = "uuid.backend_unavailable";
inline constexpr std::string_view uuid_collision_event = "uuid.collision";

namespace detail {
/// An event outside any run (the nil pipeline_run_id): what the window's thread reports.
template <EventSink Sink, std::size_t N>
void emit_outside_runs(const Sink& sink, std::string_view type, std::chrono::system_clock::time_point when,
                       const EventField (&fields)[N]) {
  Event event;
  event.type = type;
  event.timestamp = when;
  event.fields = fields;
  sink.emit(event);
}
}  // namespace detail

/// Adds listeners to `monitor` that emit its fleet collisions and backend reports on `sink` (see
/// the header comment); local collisions are left to UuidTelemetry. Call before observing.
template <class Monitor, EventSink Sink>
void forward_fleet_events(Monitor& monitor, Sink sink) {
  monitor.add_listener([sink](const helpers::UuidEvent& seen) {
    if (seen.scope != helpers::UuidScope::fleet) return;
    std::string id;
    stageflow::detail::append_uuid(id, seen.id);
    const EventField fields[] = {{"id", id},
                                 {"category", seen.category},
                                 {"scope", helpers::to_string(seen.scope)},
                                 {"instance", seen.other_instance}};
    detail::emit_outside_runs(sink, uuid_collision_event, seen.observed_at, fields);
  });
  monitor.add_backend_listener([sink](const helpers::UuidBackendNotice& notice) {
    const EventField fields[] = {{"category", notice.category},
                                 {"error", notice.error},
                                 {"backend_errors", notice.backend_errors},
                                 {"dropped", notice.fleet_dropped}};
    detail::emit_outside_runs(sink, uuid_backend_unavailable_event, notice.observed_at, fields);
  });
}

}  // namespace stageflow::fleet
