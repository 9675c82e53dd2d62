// SPDX-License-Identifier: BSL-1.0
// RunCore: the mutable state of one run, in one place. RunContext and StageRun
// (<stageflow/runner/run_context.hpp>) are the views a policy's hooks get of it; the engine
// (<stageflow/runner/detail/>) is the only writer of the rest. Nothing here is for policies to
// touch directly: use the views, whose contract under concurrency is written down.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/events.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/trace_context.hpp>

#include <boost/uuid/uuid.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace stageflow {

namespace detail {

// The synchronization a run needs, chosen at compile time: real locks and atomics under a
// concurrent executor, nothing under SequentialExecutor (where a run's hooks and stages take turns
// on one thread, so a lock would be pure cost).
struct no_lock {
  void lock() noexcept {}
  void unlock() noexcept {}
};
/// What a member is when the build does not need it (under [[no_unique_address]]: no space).
struct absent {};
template <bool Concurrent>
using run_mutex = std::conditional_t<Concurrent, std::mutex, no_lock>;
/// A flag set once by one thread and read by others.
template <bool Concurrent>
class run_flag {
 public:
  bool get() const noexcept { return value_; }
  void set() noexcept { value_ = true; }

 private:
  bool value_ = false;
};
template <>
class run_flag<true> {
 public:
  bool get() const noexcept { return value_.load(std::memory_order_acquire); }
  void set() noexcept { value_.store(true, std::memory_order_release); }

 private:
  std::atomic<bool> value_{false};
};

/// The traceparent a snapshot carries: its `traceparent()` member, else the string at
/// metadata["traceparent"] (ContextSnapshot), else none.
template <class Snapshot>
std::string_view snapshot_traceparent(const Snapshot& snapshot) {
  if constexpr (requires {
                  { snapshot.traceparent() } -> std::convertible_to<std::string_view>;
                }) {
    return snapshot.traceparent();
  } else if constexpr (requires { snapshot.metadata.find(std::string_view{}); }) {
    const auto* value = snapshot.metadata.find("traceparent");
    if (value != nullptr && value->is_string()) return value->as_string();
    return {};
  } else {
    return {};
  }
}

/// The snapshot's own run id when it has one that is not nil.
template <class Snapshot>
std::optional<boost::uuids::uuid> snapshot_run_id(const Snapshot& snapshot) {
  if constexpr (requires {
                  { snapshot.pipeline_run_id() } -> std::convertible_to<boost::uuids::uuid>;
                }) {
    const boost::uuids::uuid id = snapshot.pipeline_run_id();
    if (!id.is_nil()) return id;
  }
  return std::nullopt;
}

/// A run's place in its trace (the trace, the run's span and its parent, one span per stage) and
/// the wall-clock time it started, from which events' times are derived.
template <std::size_t N>
struct RunTrace {
  TraceId trace_id{};
  SpanId run_span{};
  SpanId parent{};  // the caller's span; zero for a new trace
  std::array<SpanId, N> stage_spans{};
  std::chrono::system_clock::time_point wall_started{};
};

/// Sends an event to every sink among `policies` (a sink that throws loses that event).
template <class... Policies>
void emit_to_sinks(const std::tuple<Policies...>& policies, const Event& event) {
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (
        [&] {
          if constexpr (EventSink<std::tuple_element_t<K, std::tuple<Policies...>>>) {
            try {
              std::get<K>(policies).emit(event);
            } catch (...) {
              // A sink that throws loses this event; the run goes on.
            }
          }
        }(),
        ...);
  }(std::index_sequence_for<Policies...>{});
}

}  // namespace detail

/// Everything one run changes that its views show. Built by the engine's frame, one per run.
template <class Runner, class Pipeline, class Snapshot>
struct RunCore {
  using pipeline_type = Pipeline;
  using snapshot_type = Snapshot;
  using result_type = RunResult<Pipeline, Snapshot>;
  using policies_type = typename Runner::policies_type;
  using clock = typename Runner::clock;
  static constexpr bool has_event_sink = Runner::has_event_sink;
  static constexpr bool concurrent = Runner::concurrent;
  static constexpr std::size_t no_stage = static_cast<std::size_t>(-1);

  RunCore(const policies_type& policy_values, const Snapshot& snap, result_type& into, const std::stop_token& token,
          typename clock::time_point start) noexcept
      : policies(&policy_values), snapshot(&snap), result(&into), stop(&token), started(start) {}
  RunCore(const RunCore&) = delete;
  RunCore& operator=(const RunCore&) = delete;

  const policies_type* policies;
  const Snapshot* snapshot;
  result_type* result;
  const std::stop_token* stop;  // fires on failure, cancellation, the caller's stop, the deadline
  typename clock::time_point started;
  std::array<const void*, Pipeline::size> outputs{};  // what StageContext::input reads; see publish/drop
  detail::run_flag<concurrent> ending;
  STAGEFLOW_NO_UNIQUE_ADDRESS mutable detail::run_mutex<concurrent> mutex;
  // The run's own stop source (concurrent runs), which end() fires.
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent, std::stop_source*, detail::absent> stop_source{};
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<has_event_sink, detail::RunTrace<Pipeline::size>, detail::absent>
      trace{};

  /// Places the run in the caller's trace (`traceparent`, else the snapshot's) or a new one, draws
  /// the span ids and reads the wall clock once. Only runners with an event sink keep these.
  void start_trace([[maybe_unused]] std::string_view traceparent) {
    if constexpr (has_event_sink) {
      trace.wall_started = std::chrono::system_clock::now();
      if (traceparent.empty()) traceparent = detail::snapshot_traceparent(*snapshot);
      if (const auto parent = TraceParent::parse(traceparent)) {
        trace.trace_id = parent->trace_id;
        trace.parent = parent->parent_id;
      } else {
        trace.trace_id = random_trace_id();
      }
      trace.run_span = random_span_id();
      for (auto& span : trace.stage_spans) span = random_span_id();
    }
  }

  /// The run's span (no_stage) or stage i's, a child of the run's.
  TraceIds trace_ids([[maybe_unused]] std::size_t stage) const noexcept {
    if constexpr (has_event_sink) {
      if (stage < Pipeline::size) return {trace.trace_id, trace.stage_spans[stage], trace.run_span};
      return {trace.trace_id, trace.run_span, trace.parent};
    } else {
      return {};
    }
  }

  /// The wall-clock time of a reading of the runner's clock: the run's one wall-clock reading plus
  /// the time since the run started, so every time a run reports is on one monotonic scale and a
  /// child's span lies within its parent's.
  std::chrono::system_clock::time_point wall_time([[maybe_unused]] typename clock::time_point reading) const noexcept {
    if constexpr (has_event_sink)
      return trace.wall_started + std::chrono::duration_cast<std::chrono::system_clock::duration>(reading - started);
    else
      return {};
  }

  /// Sends an event to the runner's sinks (nothing without one).
  void send([[maybe_unused]] std::string_view type, [[maybe_unused]] std::size_t stage,
            [[maybe_unused]] std::string_view status, [[maybe_unused]] std::string_view reason,
            [[maybe_unused]] std::chrono::nanoseconds duration,
            [[maybe_unused]] std::chrono::system_clock::time_point timestamp,
            [[maybe_unused]] std::initializer_list<EventField> fields = {}) const {
    if constexpr (has_event_sink) {
      const Event event{type,
                        result->pipeline_run_id,
                        stage < Pipeline::size ? Pipeline::names[stage] : std::string_view{},
                        duration,
                        timestamp,
                        std::span<const EventField>(fields.begin(), fields.size()),
                        status,
                        reason,
                        trace_ids(stage)};
      detail::emit_to_sinks(*policies, event);
    }
  }

  /// The run's duration, ended by `end` (a reading of the runner's clock): the one place it is
  /// computed, for every way a run ends.
  void run_ended_at(typename clock::time_point end) noexcept {
    result->duration = std::chrono::duration_cast<std::chrono::nanoseconds>(end - started);
  }

  /// The outcome event of what ran from `start` to `end` (readings of the runner's clock): its
  /// timestamp is the measured end and its duration end - start, so a span built from it
  /// (timestamp - duration .. timestamp) is exactly what was measured.
  void send_outcome(std::string_view type, std::size_t stage, std::string_view status, std::string_view reason,
                    typename clock::time_point start, typename clock::time_point end,
                    std::initializer_list<EventField> fields = {}) const {
    if constexpr (has_event_sink)
      send(type, stage, status, reason, std::chrono::duration_cast<std::chrono::nanoseconds>(end - start),
           wall_time(end), fields);
  }

  /// Ends the run with this status unless something already ended it: the first ending is the
  /// story, except that a failure replaces a cancellation. Returns true when this ending was kept.
  bool end(RunStatus status, std::string reason, std::string_view stage = {}) {
    {
      std::lock_guard lock(mutex);
      if (ending.get() && !(status == RunStatus::failed && result->status == RunStatus::cancelled)) return false;
      result->status = status;
      result->error = std::move(reason);
      result->error_stage = stage;
      ending.set();
    }
    // Running stages see ctx.stop_requested(). Outside the lock: stop callbacks run user code.
    // (None when the caller runs a chain alone: no other stage is running.)
    if constexpr (concurrent) {
      if (stop_source != nullptr) stop_source->request_stop();
    }
    return true;
  }

  /// Stage I's output slot and report: written only by stage I's lifecycle while it runs.
  template <std::size_t I>
  auto& slot() noexcept {
    return std::get<I>(result->outputs);
  }
  /// Makes stage I's output (already in its slot) visible to its dependents' inputs.
  template <std::size_t I>
  void publish() noexcept {
    outputs[I] = &*std::get<I>(result->outputs);
  }
  /// Removes stage I's output, from the result and from its dependents' inputs alike.
  template <std::size_t I>
  void drop_output() noexcept {
    std::get<I>(result->outputs).reset();
    outputs[I] = nullptr;
  }
};

}  // namespace stageflow
