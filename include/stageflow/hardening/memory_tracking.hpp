// SPDX-License-Identifier: BSL-1.0
// MemoryTracking: the runner policy that samples memory around runs and stages.
//
//   auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>();
//   stageflow::Runner<stageflow::pipeline::MemoryTracking> runner{stageflow::pipeline::MemoryTracking(tracker)};
//   auto result = runner.run(pipeline, snapshot);
//   result.metric("enrich", "heap_delta_bytes");        // what that stage added to the heap
//   tracker->samples();                                 // pipeline:start, enrich:start, enrich:end, ...
//
// Samples: `pipeline:start`, `<stage>:start` and `<stage>:end` around every stage, and
// `pipeline:end`, `pipeline:error`, `pipeline:cancelled` or `pipeline:timed_out` at the end. Only the run-end samples
// feed the tracker's sustained-growth window (comparable points, so a leak across runs shows as a
// steady rise); every sample is checked against the absolute thresholds. Each sample is a
// `memory.sample` event and each warning a `memory.growth_warning` event. Per stage, the RunResult
// gets the metrics heap_delta_bytes, rss_delta_bytes and, with the allocation counter installed,
// allocations; the run as a whole gets heap_delta_bytes and rss_delta_bytes under "pipeline".
//
// Under a concurrent executor (ParallelExecutor) several stages run at once, so a process-wide
// reading cannot say which stage allocated. Per stage, the result then holds only what the calling
// thread's exact allocation counter saw (heap_delta_bytes, allocations: a synchronous stage runs
// on one thread; an async stage does not, so it never gets per-stage figures); without the counter
// there are no per-stage figures, only the run's. The metric
// ("pipeline", "memory_per_stage") says which: 1 attributed per stage, 0 per run only.
//
// A tracker that is not started (auto_start = false) records nothing and breaks nothing: the runner
// leaves it to you, and the policy records from the first run after you call start().
//
// Cost: two samples per stage. With RSS reading on (the default) a sample is about 1.3 us on
// Linux; with the allocation counter alone about 0.1 us. Keep it debug_only<> on hot paths, or
// give it a tracker with read_rss = false.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/memory/detail/allocation_counter_state.hpp>
#include <stageflow/memory/scope.hpp>

#include <memory>
#include <optional>
#include <string_view>
#include <utility>

namespace stageflow::events {
inline constexpr std::string_view memory_sample = "memory.sample";
inline constexpr std::string_view memory_growth_warning = "memory.growth_warning";
}  // namespace stageflow::events

namespace stageflow::pipeline {

class MemoryTracking {
 public:
  /// A tracker of its own, with default options.
  MemoryTracking() : MemoryTracking(helpers::MemoryTrackerOptions{}) {}
  explicit MemoryTracking(helpers::MemoryTrackerOptions options)
      : tracker_(std::make_shared<helpers::MemoryTracker>(std::move(options))) {}
  /// A tracker you also read or use elsewhere (track_memory, a ToolExecutor).
  explicit MemoryTracking(std::shared_ptr<helpers::MemoryTracker> tracker) : tracker_(std::move(tracker)) {}

  helpers::MemoryTracker& tracker() const noexcept { return *tracker_; }
  const std::shared_ptr<helpers::MemoryTracker>& shared_tracker() const noexcept { return tracker_; }

  struct run_state {
    std::optional<helpers::MemorySample> run_start;
  };
  struct stage_state {
    std::optional<helpers::MemorySample> start;
    std::optional<detail::AllocationTotals> thread_start;  // this thread's counts (concurrent runs)
  };

  template <class Run>
  void on_run_start(run_state& state, Run& run) const {
    state.run_start = sample(run, "pipeline", ":start", false);
  }

  template <class Run, class Stage>
  void before_stage(stage_state& state, Run& run, Stage& stage) const {
    state.start = sample(run, stage.name, ":start", false);
    if constexpr (Run::concurrent) state.thread_start = thread_counts();
  }

  template <class Run, class Stage>
  void after_stage(stage_state& state, Run& run, Stage& stage) const {
    auto end = sample(run, stage.name, ":end", false);
    if (!end || !state.start) return;
    if constexpr (Run::concurrent) {
      // Process-wide readings mix the stages running at the same time: only this thread's exact
      // counts (the allocation counter) belong to this stage. Not even those for an async stage,
      // which lends its thread to other stages while it waits.
      if constexpr (is_async_stage_v<typename Run::snapshot_type, typename Run::pipeline_type,
                                     typename Stage::stage_type>)
        return;
      const auto now = thread_counts();
      if (!now || !state.thread_start) return;
      run.record_metric(stage.name, "heap_delta_bytes",
                        static_cast<double>(now->live_bytes - state.thread_start->live_bytes));
      run.record_metric(stage.name, "allocations",
                        static_cast<double>(now->allocations - state.thread_start->allocations));
    } else {
      const helpers::MemoryDelta delta = end->since(*state.start);
      if (delta.heap_bytes) run.record_metric(stage.name, "heap_delta_bytes", static_cast<double>(*delta.heap_bytes));
      if (delta.rss_bytes) run.record_metric(stage.name, "rss_delta_bytes", static_cast<double>(*delta.rss_bytes));
      if (delta.allocations) run.record_metric(stage.name, "allocations", static_cast<double>(*delta.allocations));
    }
  }

  template <class Run>
  void on_run_end(run_state& state, Run& run) const {
    std::optional<helpers::MemorySample> end;
    switch (run.status()) {
      case RunStatus::completed: end = sample(run, "pipeline", ":end", true); break;
      case RunStatus::failed: end = sample(run, "pipeline", ":error", true); break;
      case RunStatus::cancelled: end = sample(run, "pipeline", ":cancelled", true); break;
      case RunStatus::timed_out: end = sample(run, "pipeline", ":timed_out", true); break;
    }
    if (end && state.run_start) {
      const helpers::MemoryDelta delta = end->since(*state.run_start);
      if (delta.heap_bytes) run.record_metric("pipeline", "heap_delta_bytes", static_cast<double>(*delta.heap_bytes));
      if (delta.rss_bytes) run.record_metric("pipeline", "rss_delta_bytes", static_cast<double>(*delta.rss_bytes));
    }
    if constexpr (Run::concurrent)
      run.record_metric("pipeline", "memory_per_stage", thread_counts() ? 1.0 : 0.0);
  }

 private:
  /// The calling thread's allocation counts, when the allocation counter is installed.
  static std::optional<detail::AllocationTotals> thread_counts() noexcept {
    if (!detail::allocation_counter_registry.installed.load(std::memory_order_relaxed)) return std::nullopt;
    const auto* slot = detail::thread_allocation_state.slot;
    if (slot == nullptr) return detail::AllocationTotals{};
    return detail::AllocationTotals{slot->allocations.load(std::memory_order_relaxed),
                                    slot->deallocations.load(std::memory_order_relaxed),
                                    slot->live_bytes.load(std::memory_order_relaxed)};
  }

  /// Takes a sample when the tracker is active, and reports it and its warnings as events.
  template <class Run>
  std::optional<helpers::MemorySample> sample(Run& run, std::string_view label, std::string_view suffix,
                                              bool in_growth_window) const {
    auto observation = tracker_->try_observe(label, {.label_suffix = suffix, .in_growth_window = in_growth_window});
    if (!observation) return std::nullopt;
    if constexpr (Run::has_event_sink) {
      const auto& s = observation->sample;
      const std::string_view stage = label == "pipeline" ? std::string_view{} : label;
      run.emit(stageflow::events::memory_sample, stage,
               {{"label", s.label},
                {"heap_bytes", static_cast<std::int64_t>(s.heap_bytes.value_or(0))},
                {"rss_bytes", static_cast<std::int64_t>(s.rss_bytes.value_or(0))},
                {"heap_known", s.heap_bytes.has_value()},
                {"rss_known", s.rss_bytes.has_value()}});
      for (const auto& warning : observation->warnings) {
        const std::string message = helpers::to_string(warning);
        run.emit(stageflow::events::memory_growth_warning, stage,
                 {{"kind", helpers::to_string(warning.kind)},
                  {"metric", helpers::to_string(warning.metric)},
                  {"label", warning.label},
                  {"growth_bytes", warning.growth_bytes},
                  {"baseline_bytes", warning.baseline_bytes},
                  {"current_bytes", warning.current_bytes},
                  {"threshold_bytes", warning.threshold_bytes},
                  {"slope_bytes_per_sample", warning.slope_bytes_per_sample},
                  {"trend", warning.trend},
                  {"message", message}});
      }
    }
    return std::move(observation->sample);
  }

  std::shared_ptr<helpers::MemoryTracker> tracker_;
};

}  // namespace stageflow::pipeline
