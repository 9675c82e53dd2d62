// SPDX-License-Identifier: BSL-1.0
// UuidTelemetry: the runner policy that watches every run's ids for collisions and clock skew.
//
//   stageflow::Runner<stageflow::JsonLinesSink<>, stageflow::pipeline::UuidTelemetry<>> runner(
//       stageflow::JsonLinesSink<>(std::cerr),
//       stageflow::pipeline::UuidTelemetry<>({.monitor = {.category = "pipeline", .check_skew = true}}));
//
// At the start of each run it observes the run's pipeline_run_id and the correlation ids the
// snapshot carries (see below) in one UuidCollisionMonitor shared by all runs (and by copies of the
// policy), and emits `uuid.collision` / `uuid.clock_skew` events. With `fail_on_collision` a
// collision fails the run before any stage starts, instead of only being reported.
//
// Correlation ids: a snapshot that has `correlation_ids()` returning (name, uuid) pairs gets each
// non-nil id observed; ContextSnapshot returns its request_id and interaction_id. Session, user
// and organisation ids repeat across runs by design and are not observed.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/uuid/text.hpp>
#include <stageflow/uuid/collision_monitor.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow::events {
inline constexpr std::string_view uuid_collision = "uuid.collision";
inline constexpr std::string_view uuid_clock_skew = "uuid.clock_skew";
}  // namespace stageflow::events

namespace stageflow::pipeline {

struct UuidTelemetryOptions {
  /// The monitor this policy makes (ttl_seconds, max_entries, category, check_skew, max_skew_ms).
  helpers::UuidCollisionMonitorOptions monitor = {.category = "pipeline"};
  /// A collision fails the run (before any stage starts) instead of only being reported.
  bool fail_on_collision = false;
};

template <class Monitor = helpers::UuidCollisionMonitor>
class UuidTelemetry {
 public:
  UuidTelemetry() : UuidTelemetry(UuidTelemetryOptions{}) {}
  explicit UuidTelemetry(UuidTelemetryOptions options)
      : monitor_(std::make_shared<Monitor>(std::move(options.monitor))), fail_on_collision_(options.fail_on_collision) {}
  /// Shares a monitor you also use elsewhere (a ToolExecutor, your own request handler).
  explicit UuidTelemetry(std::shared_ptr<Monitor> monitor, bool fail_on_collision = false)
      : monitor_(std::move(monitor)), fail_on_collision_(fail_on_collision) {}

  Monitor& monitor() const noexcept { return *monitor_; }
  const std::shared_ptr<Monitor>& shared_monitor() const noexcept { return monitor_; }

  template <class Run>
  void on_run_start(Run& run) const {
    observe(run, "pipeline_run_id", run.pipeline_run_id());
    if constexpr (requires { run.snapshot().correlation_ids(); }) {
      for (const auto& [field, id] : run.snapshot().correlation_ids())
        if (!id.is_nil()) observe(run, field, id);
    }
  }

 private:
  template <class Run>
  void observe(Run& run, std::string_view field, const boost::uuids::uuid& id) const {
    const helpers::UuidObservation seen = monitor_->observe_detailed(id);
    if (!seen.collided && !seen.skew_ms) return;
    std::string text;
    detail::append_uuid(text, id);
    const std::string& category = monitor_->category();
    if (seen.collided) {
      run.emit(stageflow::events::uuid_collision, {},
               {{"id", text}, {"field", field}, {"category", category}, {"scope", "local"}});
      if (fail_on_collision_) run.fail("uuid collision: " + std::string(field) + " " + text + " was already seen");
    }
    if (seen.skew_ms)
      run.emit(stageflow::events::uuid_clock_skew, {},
               {{"id", text},
                {"field", field},
                {"category", category},
                {"skew_ns", static_cast<std::int64_t>(*seen.skew_ms * 1e6)}});
  }

  std::shared_ptr<Monitor> monitor_;
  bool fail_on_collision_ = false;
};

}  // namespace stageflow::pipeline
