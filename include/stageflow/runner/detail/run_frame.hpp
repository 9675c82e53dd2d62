// SPDX-License-Identifier: BSL-1.0
// The frame of one run: everything a run changes, for BasicRunner's steps. On the stack of run()
// under SequentialExecutor, and under a concurrent executor unless the run may be abandoned; then on
// the heap, shared with the executor's tasks, owning what a late stage can still touch.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/runner/detail/run_sync.hpp>
#include <stageflow/runner/detail/stage_timeout.hpp>
#include <stageflow/runner/detail/watchdog.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/run_context.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/uuid/uuid.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

namespace stageflow::detail {

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

/// Set by the executor's done(), waited for by the caller.
struct RunCompletion {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  void signal() {
    // Notify under the lock: the waiter may destroy this as soon as it sees `done`.
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_all();
  }
};

/// Everything one run changes. On the stack under SequentialExecutor; on the heap, shared with
/// the executor's tasks, under a concurrent one. `Full` adds what deadlines and concurrency need
/// (the run's own stop source, the deadline alarm, locks, abandonment), so a plain sequential run
/// carries none of it.
template <class Runner, class Pipeline, class Snapshot, bool Full>
struct RunFrame {
  using pipeline_type = Pipeline;
  using snapshot_type = Snapshot;
  using run_type = RunContext<Runner, Pipeline, Snapshot>;
  using policies_type = typename Runner::policies_type;
  using clock = typename Runner::clock;
  static constexpr bool full = Full;
  static constexpr bool concurrent = Runner::concurrent;

  /// `into`: where the run writes its result (the caller's return value, so nothing is moved; a
  /// run that may be abandoned owns it through abandonment.result_owner).
  RunFrame(const Pipeline& p, const Snapshot& snapshot, const policies_type& policy_values,
           const std::stop_token& caller_stop, RunResult<Pipeline, Snapshot>* into)
      : pipeline(&p), policies(&policy_values), stops(caller_stop), result(*into),
        run(policy_values, snapshot, result, stops.token(), clock::now()),
        states(std::apply([](const auto&... p) { return typename Runner::run_states_type{make_run_state(p)...}; }, policy_values)) {
    for (std::size_t i = 0; i < Pipeline::size; ++i) result.stages[i].name = Pipeline::names[i];
    if (auto id = snapshot_run_id(snapshot))
      result.pipeline_run_id = *id;
    else
      result.pipeline_run_id = helpers::generate_uuid7();
    if constexpr (Full && concurrent) run.stop_source_ = &stops.source;
  }
  RunFrame(const RunFrame&) = delete;
  RunFrame& operator=(const RunFrame&) = delete;

  /// The run's trace: joins `traceparent` (else the snapshot's), or starts a new one.
  void start_trace(std::string_view traceparent) { run.start_trace(traceparent); }

  /// At the deadline the run's stop source fires; the stage checks then end the run timed_out.
  void watch_deadline(const std::optional<std::chrono::steady_clock::time_point>& deadline)
    requires Full
  {
    if (!deadline) return;
    if (std::chrono::steady_clock::now() >= *deadline) {
      stops.deadline_fired();
      return;
    }
    stops.alarm.emplace(*deadline, [this] { stops.deadline_fired(); });
  }
  bool deadline_passed() const noexcept {
    if constexpr (Full)
      return stops.deadline_passed.load(std::memory_order_acquire);
    else
      return false;
  }

  /// Makes the run own its pipeline and policies (and the snapshot), so that it may return while
  /// a stage still runs: the late stage touches only what this frame owns.
  void own_everything(std::shared_ptr<const Snapshot> snapshot)
    requires Full
  {
    auto& a = abandonment;
    a.abandonable = true;
    a.snapshot_owner = std::move(snapshot);
    if constexpr (std::is_copy_constructible_v<Pipeline>) pipeline = &a.pipeline_copy.emplace(*pipeline);
    policies = &a.policies_copy.emplace(*policies);
    run.policies_ = policies;
  }

  // Abandonment bookkeeping (only when abandonable): which stages are between their first hook and
  // their last write, and whether the caller has left.
  bool enter_stage(std::size_t i)
    requires Full
  {
    if (!abandonment.abandonable) return true;
    std::lock_guard lock(run.mutex_);
    if (abandonment.abandoned) return false;
    abandonment.running[i] = true;
    return true;
  }
  bool left_behind() const
    requires Full
  {
    if (!abandonment.abandonable) return false;
    std::lock_guard lock(run.mutex_);
    return abandonment.abandoned;
  }
  void leave_stage(std::size_t i)
    requires Full
  {
    if (!abandonment.abandonable) return;
    std::lock_guard lock(run.mutex_);
    abandonment.running[i] = false;
  }

  // Stop sources and deadline, only in a full frame.
  struct PlainStops {
    explicit PlainStops(const std::stop_token& caller) : caller_token(&caller) {}
    const std::stop_token& token() const noexcept { return *caller_token; }
    const std::stop_token* caller_token;
  };
  struct FullStops {
    explicit FullStops(const std::stop_token& caller) : chain(caller, request_stop_of{&source}) {}
    const std::stop_token& token() const noexcept { return run_token; }
    void deadline_fired() noexcept {
      deadline_passed.store(true, std::memory_order_release);
      source.request_stop();
    }
    std::stop_source source;
    std::stop_token run_token = source.get_token();
    std::stop_callback<request_stop_of> chain;  // the caller's stop reaches the run's
    std::atomic<bool> deadline_passed{false};
    std::optional<WatchdogAlarm> alarm;  // last: disarmed before the source goes
  };

  const Pipeline* pipeline;
  const policies_type* policies;
  std::conditional_t<Full, FullStops, PlainStops> stops;
  RunResult<Pipeline, Snapshot>& result;
  run_type run;
  typename Runner::run_states_type states;
  // One lock per policy whose run_state the runner must serialize (concurrent runs only).
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent, std::array<std::mutex, std::tuple_size_v<policies_type>>,
                                                 no_lock>
      policy_locks;
  // What a run that may be abandoned owns, and which of its stages are running.
  struct Abandonment {
    std::unique_ptr<RunResult<Pipeline, Snapshot>> result_owner;
    std::shared_ptr<const Snapshot> snapshot_owner;
    std::optional<Pipeline> pipeline_copy;
    std::optional<policies_type> policies_copy;
    std::array<bool, Pipeline::size> running{};
    bool abandonable = false;
    bool abandoned = false;
  };
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<Full, Abandonment, absent> abandonment;
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent, RunCompletion, absent> completion;
};

}  // namespace stageflow::detail
