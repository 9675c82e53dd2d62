// SPDX-License-Identifier: BSL-1.0
// The frame of one run: the RunCore its views show, plus what only the engine uses (the stop
// sources and the deadline, each policy's run_state, the locks, abandonment, the completion). On
// the stack of run() unless the run may be abandoned; then on the heap, shared with the executor's
// tasks, owning everything a late stage can still touch.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/runner/deadline.hpp>
#include <stageflow/runner/detail/stage_timeout.hpp>
#include <stageflow/runner/detail/watchdog.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/run_context.hpp>
#include <stageflow/runner/run_core.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

namespace stageflow::detail {

/// Set by the executor's done(), waited for by the caller.
struct RunCompletion {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  // Set once signal() touches this no more: a caller that helped run the stages usually finds it
  // set when it comes to wait, and then neither locks nor waits.
  std::atomic<bool> signalled{false};
  void signal() {
    {
      // Notify under the lock: the waiter may destroy this as soon as it sees `done`.
      std::lock_guard lock(mutex);
      done = true;
      cv.notify_all();
    }
    signalled.store(true, std::memory_order_release);  // the last touch: `done` was seen, or this is
  }
  bool finished() const noexcept { return signalled.load(std::memory_order_acquire); }
  /// Waits for signal(), up to its last touch: a waiter that returned at `done` could destroy
  /// this (on its stack) before signal() stores `signalled`.
  void wait(std::unique_lock<std::mutex>& lock) {
    cv.wait(lock, [&] { return done; });
    lock.unlock();
    while (!finished()) std::this_thread::yield();
  }
};

/// The stop token of a run that needs none of its own: the caller's.
struct PlainStops {
  explicit PlainStops(const std::stop_token& caller) : caller_token(&caller) {}
  const std::stop_token& token() const noexcept { return *caller_token; }
  static constexpr bool deadline_passed() noexcept { return false; }
  const std::stop_token* caller_token;
};

/// The run's own stop source (fired by the caller's stop, the run's end, the deadline) and its
/// deadline. The deadline and the last stage race: whichever comes first decides, once, so a run
/// whose stages all finished before its deadline is never reported timed_out.
///
/// Without `own_source` the run has none (an allocation less): its token is the caller's. Only
/// for a run that nothing can stop from outside (no deadline, a caller token that cannot fire)
/// and whose stages run one at a time, so that no running stage is left to ask when one ends it.
struct FullStops {
  explicit FullStops(const std::stop_token& caller, bool own_source = true)
      : source(own_source ? std::stop_source() : std::stop_source(std::nostopstate)),
        run_token(own_source ? source.get_token() : caller), chain(caller, request_stop_of{&source}) {}
  const std::stop_token& token() const noexcept { return run_token; }

  /// At the deadline: true when it came before the last stage finished (the run times out).
  bool fire_deadline() noexcept {
    std::uint8_t expected = running;
    if (!phase.compare_exchange_strong(expected, deadline_fired, std::memory_order_acq_rel)) return false;
    source.request_stop();
    return true;
  }
  /// After the last stage: a deadline that fires from now on no longer matters.
  void stages_finished() noexcept {
    std::uint8_t expected = running;
    phase.compare_exchange_strong(expected, finished, std::memory_order_acq_rel);
  }
  bool deadline_passed() const noexcept { return phase.load(std::memory_order_acquire) == deadline_fired; }

  static constexpr std::uint8_t running = 0, finished = 1, deadline_fired = 2;
  std::stop_source source;
  std::stop_token run_token;
  std::stop_callback<request_stop_of> chain;  // the caller's stop reaches the run's
  std::atomic<std::uint8_t> phase{running};
  Deadline deadline;  // what a retry's backoff must end before
  std::optional<WatchdogAlarm> alarm;  // last: disarmed before the source goes
};

/// `OneThread`: every stage runs on the calling thread, one after another (the sequential
/// executor, or a chain the caller runs alone: run_engine.hpp's run_here).
template <class Runner, class Pipeline, class Snapshot, bool Full, bool OneThread = !Runner::concurrent>
struct RunFrame {
  using pipeline_type = Pipeline;
  using snapshot_type = Snapshot;
  using core_type = RunCore<Runner, Pipeline, Snapshot>;
  using run_type = RunContext<Runner, Pipeline, Snapshot>;
  using policies_type = typename Runner::policies_type;
  using clock = typename Runner::clock;
  static constexpr bool full = Full;
  static constexpr bool concurrent = Runner::concurrent;
  /// Without policies, or with light ones only (`light_hooks`, <stageflow/runner/policy.hpp>),
  /// little runs between two stages, so one clock reading ends a stage and starts the next: N+1
  /// readings per run instead of 2N+2. Only on one thread: stages running at the same time each
  /// own their readings (StageLifecycle).
  static constexpr bool has_policies = std::tuple_size_v<policies_type> > 0;
  static constexpr bool chains_clock_readings = Runner::light_policies && OneThread;

  /// `into`: where the run writes its result (the caller's return value, so nothing is moved; a
  /// run that may be abandoned owns it through abandonment.result_owner).
  /// `own_stop_source`: FullStops' `own_source` (Full frames only).
  RunFrame(const Pipeline& p, const Snapshot& snapshot, const policies_type& policy_values,
           const std::stop_token& caller_stop, RunResult<Pipeline, Snapshot>* into, bool own_stop_source = true)
      : pipeline(&p), policies(&policy_values), stops(make_stops(caller_stop, own_stop_source)), result(*into),
        core(policy_values, snapshot, result, stops.token(), clock::now()), run(make_view()),
        states(std::apply([](const auto&... p) { return typename Runner::run_states_type{make_run_state(p)...}; },
                          policy_values)) {
    if constexpr (chains_clock_readings) last_reading = core.started;
    for (std::size_t i = 0; i < Pipeline::size; ++i) result.stages[i].name = Pipeline::names[i];
    if (auto id = snapshot_run_id(snapshot))
      result.pipeline_run_id = *id;
    else
      result.pipeline_run_id = helpers::generate_uuid7();
    if constexpr (Full && concurrent) core.stop_source = &stops.source;
    if constexpr (Full) stages_left.store(Pipeline::size, std::memory_order_relaxed);
  }
  static auto make_stops(const std::stop_token& caller, [[maybe_unused]] bool own_source) {
    if constexpr (Full)
      return FullStops(caller, own_source);
    else
      return PlainStops(caller);
  }
  auto make_view() {
    if constexpr (has_policies)
      return run_type(core);
    else
      return absent{};
  }
  RunFrame(const RunFrame&) = delete;
  RunFrame& operator=(const RunFrame&) = delete;

  /// At the deadline the run's stop source fires; the stage checks then end the run timed_out.
  void watch_deadline(Deadline deadline)
    requires Full
  {
    if (!deadline) return;
    stops.deadline = deadline;
    if (deadline.passed()) {
      stops.fire_deadline();
      return;
    }
    stops.alarm.emplace(deadline.at(), [this] { stops.fire_deadline(); });
  }
  bool deadline_passed() const noexcept { return stops.deadline_passed(); }
  /// The run's deadline, if it has one (a retry's backoff must end before it).
  Deadline deadline() const noexcept {
    if constexpr (Full)
      return stops.deadline;
    else
      return {};
  }
  /// A stage ended and the run goes on; after the last one, the deadline no longer matters.
  void stage_finished() noexcept
    requires Full
  {
    if (stages_left.fetch_sub(1, std::memory_order_acq_rel) == 1) stops.stages_finished();
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
    core.policies = policies;
  }

  // Abandonment bookkeeping (only when abandonable): which stages are between their first hook and
  // their last write, and whether the caller has left.
  bool enter_stage(std::size_t i)
    requires Full
  {
    if (!abandonment.abandonable) return true;
    std::lock_guard lock(core.mutex);
    if (abandonment.abandoned) return false;
    abandonment.running[i] = true;
    return true;
  }
  bool left_behind() const
    requires Full
  {
    if (!abandonment.abandonable) return false;
    std::lock_guard lock(core.mutex);
    return abandonment.abandoned;
  }
  void leave_stage(std::size_t i)
    requires Full
  {
    if (!abandonment.abandonable) return;
    std::lock_guard lock(core.mutex);
    abandonment.running[i] = false;
  }

  const Pipeline* pipeline;
  const policies_type* policies;
  std::conditional_t<Full, FullStops, PlainStops> stops;
  RunResult<Pipeline, Snapshot>& result;
  core_type core;
  // The view the hooks get; without policies there are no hooks, and no pointer from the frame to
  // itself, which would keep GCC from holding the run's state in registers (tests/zero_cost).
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<has_policies, run_type, absent> run;
  typename Runner::run_states_type states;
  // The end of the last stage, which starts the next (chains_clock_readings only).
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<chains_clock_readings, typename clock::time_point, absent>
      last_reading{};
  // One lock per policy whose run_state the runner must serialize (concurrent runs only).
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent, std::array<std::mutex, std::tuple_size_v<policies_type>>,
                                                 no_lock>
      policy_locks;
  // Stages that have not yet ended with the run going on (deadline runs and concurrent ones).
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<Full, std::atomic<std::size_t>, absent> stages_left;
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
  // What the caller waits on (not when it runs every stage itself).
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent && !OneThread, RunCompletion, absent> completion;
};

}  // namespace stageflow::detail
