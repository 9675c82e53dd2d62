// SPDX-License-Identifier: BSL-1.0
// PipelineRunner: the seed's runtime-flag runner, for when the checks are chosen at run time.
//
//   stageflow::helpers::PipelineRunner runner({.enable_memory_tracker = true, .memory_tracker_auto_start = true});
//   stageflow::helpers::PipelineRunner runner({.enable_immutability_check = true});
//   stageflow::helpers::PipelineRunner runner({.enable_context_size_monitor = true});
//   auto result = runner.run(pipeline, runner.create_snapshot({.input_text = "hello"}));
//
// It is a Runner<...> of the four hardening policies, each wrapped in OptionalPolicy: a flag that
// is off costs one branch per hook. When the choice is known at compile time (debug vs release),
// compose Runner<debug_only<...>> yourself instead: off, that costs nothing at all.
//
// Unlike the Python original, the monitor and tracker are reachable (uuid_monitor(),
// memory_tracker()), `memory_tracker_auto_start = false` leaves the tracker to you instead of
// failing the first run, and a collision, a violation or a size warning reaches `on_event`.
#pragma once

#include <stageflow/config.hpp>  // first: the C++20 check
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/core/shared.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/optional_policy.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/callback_sink.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>

namespace stageflow::helpers {

struct PipelineRunnerOptions {
  // The seed's flags, in its order.
  bool enable_uuid_monitor = false;
  double uuid_monitor_ttl_seconds = 300.0;
  bool enable_memory_tracker = false;
  bool memory_tracker_auto_start = true;
  bool enable_immutability_check = false;
  bool enable_context_size_monitor = false;
  // Beyond the seed: the monitor and the tracker, as options or as instances you share (the one
  // ownership rule of <stageflow/core/shared.hpp>: a value is the runner's own, a shared_ptr is
  // shared, e.g. with a ToolExecutor).
  /// The monitor's other options; its ttl_seconds is always uuid_monitor_ttl_seconds.
  UuidCollisionMonitorOptions uuid_monitor_options = {.category = "pipeline"};
  /// A monitor to use instead of making one from the options (enable_uuid_monitor still decides).
  Shared<UuidCollisionMonitor> uuid_monitor = {};
  /// A collision fails the run before any stage starts, instead of only being reported.
  bool fail_on_collision = false;
  /// The tracker's other options; its auto_start is always memory_tracker_auto_start.
  MemoryTrackerOptions memory_tracker_options = {};
  /// A tracker to use instead of making one from the options (enable_memory_tracker still decides).
  Shared<MemoryTracker> memory_tracker = {};
  /// Receives every event of every run (lifecycle, collisions, violations, warnings). Never called
  /// from two threads at once, even with an executor.
  std::function<void(const Event&)> on_event = {};
  /// Runs independent stages at the same time on this executor; none: one after another.
  std::optional<ParallelExecutor> executor = std::nullopt;
  pipeline::ImmutabilityOptions immutability = {};
  pipeline::ContextSizeOptions context_size = {};
};

/// What create_snapshot fills in; ids are fresh UUIDv7s.
struct SnapshotOptions {
  std::string input_text = {};
  std::string execution_mode = "practice";
  std::string topology = "pipeline";
  std::string channel = "cli";  // stored in metadata["channel"]
  JsonValue metadata = {};      // merged with the channel (an object, or null)
};

class PipelineRunner {
  // MemoryTracking comes last so its samples sit closest to the stage, outside the other
  // policies' work (their before-hooks run first, their after-hooks last).
  template <class... RunnerOptions>
  using EngineWith =
      Runner<RunnerOptions..., OptionalPolicy<CallbackSink<>>, OptionalPolicy<pipeline::UuidTelemetry<>>,
             OptionalPolicy<pipeline::ImmutabilityInterceptor>, OptionalPolicy<pipeline::ContextSizeInterceptor>,
             OptionalPolicy<pipeline::MemoryTracking>>;
  using Engine = EngineWith<>;
  using ParallelEngine = EngineWith<use_executor<ParallelExecutor>>;

 public:
  using Options = PipelineRunnerOptions;

  explicit PipelineRunner(Options options = {}) : engine_(make_engine(options)) {
    // The parallel engine holds copies of the same policies: they share the monitor, the tracker
    // and the event callback.
    if (options.executor)
      parallel_.emplace(*options.executor, engine_.policy<OptionalPolicy<CallbackSink<>>>(),
                        engine_.policy<OptionalPolicy<pipeline::UuidTelemetry<>>>(),
                        engine_.policy<OptionalPolicy<pipeline::ImmutabilityInterceptor>>(),
                        engine_.policy<OptionalPolicy<pipeline::ContextSizeInterceptor>>(),
                        engine_.policy<OptionalPolicy<pipeline::MemoryTracking>>());
  }

  template <class Pipeline, class Snapshot>
  auto run(const Pipeline& pipeline, const Snapshot& snapshot, std::stop_token stop = {}) const {
    if (parallel_) return parallel_->run(pipeline, snapshot, std::move(stop));
    return engine_.run(pipeline, snapshot, std::move(stop));
  }
  /// With a deadline (see <stageflow/runner/run_options.hpp>).
  template <class Pipeline, class Snapshot>
  auto run(const Pipeline& pipeline, const Snapshot& snapshot, RunOptions options) const {
    if (parallel_) return parallel_->run(pipeline, snapshot, std::move(options));
    return engine_.run(pipeline, snapshot, std::move(options));
  }

  /// A snapshot with fresh ids (org_id stays nil) and the channel in its metadata.
  static ContextSnapshot create_snapshot(SnapshotOptions options = {}) {
    JsonValue metadata = options.metadata.is_null() ? JsonValue::object() : std::move(options.metadata);
    metadata["channel"] = std::move(options.channel);
    return ContextSnapshot{.run = RunIdentity::generate(),
                           .input_text = std::move(options.input_text),
                           .metadata = std::move(metadata),
                           .topology = std::move(options.topology),
                           .execution_mode = std::move(options.execution_mode)};
  }

  /// The run-id collision monitor, or nullptr when enable_uuid_monitor is off.
  UuidCollisionMonitor* uuid_monitor() const noexcept {
    const auto& policy = engine_.policy<OptionalPolicy<pipeline::UuidTelemetry<>>>();
    return policy.enabled() ? &policy.get().monitor() : nullptr;
  }
  /// The memory tracker, or nullptr when enable_memory_tracker is off.
  MemoryTracker* memory_tracker() const noexcept {
    const auto& policy = engine_.policy<OptionalPolicy<pipeline::MemoryTracking>>();
    return policy.enabled() ? &policy.get().tracker() : nullptr;
  }
  /// The instances, to share with another component (null when off).
  std::shared_ptr<UuidCollisionMonitor> shared_uuid_monitor() const noexcept {
    const auto& policy = engine_.policy<OptionalPolicy<pipeline::UuidTelemetry<>>>();
    return policy.enabled() ? policy.get().shared_monitor() : nullptr;
  }
  std::shared_ptr<MemoryTracker> shared_memory_tracker() const noexcept {
    const auto& policy = engine_.policy<OptionalPolicy<pipeline::MemoryTracking>>();
    return policy.enabled() ? policy.get().shared_tracker() : nullptr;
  }

 private:
  static Engine make_engine(const Options& o) {
    OptionalPolicy<CallbackSink<>> sink;
    if (o.on_event)
      sink = OptionalPolicy<CallbackSink<>>(CallbackSink<>(o.on_event));  // CallbackSink<> serializes its calls
    OptionalPolicy<pipeline::UuidTelemetry<>> uuid;
    if (o.enable_uuid_monitor) {
      if (o.uuid_monitor) {
        uuid = OptionalPolicy(pipeline::UuidTelemetry<>(o.uuid_monitor.shared(), o.fail_on_collision));
      } else {
        UuidCollisionMonitorOptions monitor = o.uuid_monitor_options;
        monitor.ttl_seconds = o.uuid_monitor_ttl_seconds;
        uuid = OptionalPolicy(pipeline::UuidTelemetry<>({.monitor = monitor, .fail_on_collision = o.fail_on_collision}));
      }
    }
    OptionalPolicy<pipeline::ImmutabilityInterceptor> immutability;
    if (o.enable_immutability_check) immutability = OptionalPolicy(pipeline::ImmutabilityInterceptor(o.immutability));
    OptionalPolicy<pipeline::ContextSizeInterceptor> context_size;
    if (o.enable_context_size_monitor) context_size = OptionalPolicy(pipeline::ContextSizeInterceptor(o.context_size));
    OptionalPolicy<pipeline::MemoryTracking> memory;
    if (o.enable_memory_tracker) {
      if (o.memory_tracker) {
        memory = OptionalPolicy(pipeline::MemoryTracking(o.memory_tracker.shared()));
      } else {
        MemoryTrackerOptions tracker = o.memory_tracker_options;
        tracker.auto_start = o.memory_tracker_auto_start;
        memory = OptionalPolicy(pipeline::MemoryTracking(std::move(tracker)));
      }
    }
    return Engine(std::move(sink), std::move(uuid), std::move(immutability), std::move(context_size), std::move(memory));
  }

  Engine engine_;
  std::optional<ParallelEngine> parallel_;
};

}  // namespace stageflow::helpers
