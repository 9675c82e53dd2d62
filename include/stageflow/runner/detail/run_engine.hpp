// SPDX-License-Identifier: BSL-1.0
// The run engine: what happens between Runner::run()/async_run() and the RunResult. The facade
// (<stageflow/runner/runner.hpp>) builds a RunRequest and calls Engine<Runner>::run; the engine
// validates it (run_request.hpp: the one place the rules live), builds the run's frame, runs the
// run-level hooks and events, and hands the stages to the executor as Steps, each of which drives
// one StageLifecycle. The Asio glue (<stageflow/runner/async_run.hpp>) uses the same pieces.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/events.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/runner/deadline.hpp>
#include <stageflow/runner/detail/hook_dispatch.hpp>
#include <stageflow/runner/detail/retried_stage.hpp>
#include <stageflow/runner/detail/run_deadline.hpp>
#include <stageflow/runner/detail/run_frame.hpp>
#include <stageflow/runner/detail/stage_kinds.hpp>
#include <stageflow/runner/detail/stage_lifecycle.hpp>
#include <stageflow/runner/executor.hpp>
#include <stageflow/runner/hooks.hpp>
#include <stageflow/runner/retry_clock.hpp>
#include <stageflow/runner/run_core.hpp>
#include <stageflow/runner/run_request.hpp>
#include <stageflow/runner/sequential_executor.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace stageflow {

template <class Config, class... Policies>
class BasicRunner;

namespace detail {

/// Runs async stages; defined by <stageflow/runner/async_run.hpp>, which only a program with
/// async stages includes (so a synchronous one never sees Asio's coroutine headers).
template <class Runner>
struct AsyncRun;
/// async_run's completion token when none is given: boost::asio::use_awaitable.
struct default_async_token {};

template <class Runner>
struct Engine;

/// Whether executor E can wait a backoff on a timer (schedule_backoff, found by ADL: ParallelExecutor).
template <class E>
concept backoff_timer_executor = requires(const E& e, const std::stop_token& stop) {
  schedule_backoff(e, std::chrono::nanoseconds{}, stop, [](bool) {});
};

/// Whether executor E can say that a run may have the calling thread to itself (its own pool,
/// not stopped: ParallelExecutor::runs_on_caller).
template <class E>
concept caller_thread_executor = requires(const E& e) {
  { e.runs_on_caller() } -> std::convertible_to<bool>;
};

template <class Config, class... Policies>
struct Engine<BasicRunner<Config, Policies...>> {
  using Runner = BasicRunner<Config, Policies...>;
  using clock = typename Config::clock;
  using Hooks = HookDispatch<Policies...>;
  using no_stage_states = typename Hooks::no_stage_states;
  static constexpr bool concurrent = Config::executor::concurrent;
  static constexpr bool has_event_sink = Runner::has_event_sink;
  using executor_type = typename Config::executor;
  /// Synchronous stages that retry under this executor wait their backoffs on its timers.
  static constexpr bool timed_backoffs = concurrent && backoff_timer_executor<executor_type>;
  template <class Pipeline, class Snapshot, bool Full>
  using Frame = RunFrame<Runner, Pipeline, Snapshot, Full>;
  template <class F, std::size_t I>
  using Life = StageLifecycle<Hooks, F, I>;

  /// Whether no two stages of Pipeline can ever run at the same time (it is a chain).
  template <class Pipeline>
  static constexpr bool one_stage_at_a_time = [] {
    const auto& plan = Pipeline::plan;
    if (plan.root_count > 1) return false;
    for (std::size_t i = 0; i < Pipeline::size; ++i)
      if (plan.dependent_count[i] > 1) return false;
    return true;
  }();

  /// Whether a run of Pipeline under this concurrent executor may run on the calling thread alone:
  /// a chain has nothing to hand off, and a synchronous stage ends before the next starts (a
  /// retry's backoff on the executor's timers would not: those take the executor's path). Keep it
  /// in step with Steps::start: a stage that may complete after start() returns must be left out.
  template <class Pipeline>
  static constexpr bool may_run_here = concurrent && caller_thread_executor<executor_type> &&
                                       one_stage_at_a_time<Pipeline> &&
                                       !(timed_backoffs && has_retrying_stage<Pipeline>) && !has_hedged_stage<Pipeline>;

  /// A run that could not start (the request broke a rule): failed, nothing ran.
  template <class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> refused(const Snapshot& snapshot, std::string_view reason) {
    RunResult<Pipeline, Snapshot> result;
    for (std::size_t i = 0; i < Pipeline::size; ++i) result.stages[i].name = Pipeline::names[i];
    if (auto id = snapshot_run_id(snapshot)) result.pipeline_run_id = *id;
    result.status = RunStatus::failed;
    result.error = std::string(reason);
    return result;
  }

  /// Every synchronous run: run(p, s, options) and the owned-snapshot forms.
  template <class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> run(const Runner& runner, const Pipeline& pipeline,
                                           const RunRequest<Snapshot>& request) {
    if (const auto why = validate(request, concurrent, std::is_copy_constructible_v<Pipeline>); !why.empty())
      return refused<Pipeline>(*request.snapshot, why);
    if constexpr (concurrent)
      return run_concurrent(runner, pipeline, request);
    else if (request.deadline)
      return run_sequential<true>(runner, pipeline, *request.snapshot, request.stop, request.traceparent,
                                  request.deadline);
    else
      return run_sequential<false>(runner, pipeline, *request.snapshot, request.stop, request.traceparent, {});
  }

  /// A run on the calling thread; its result is built in place (one return: no move). run(p, s)
  /// and run(p, s, stop) come here directly: nothing to validate.
  template <bool Full, class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> run_sequential(const Runner& runner, const Pipeline& pipeline,
                                                      const Snapshot& snapshot, const std::stop_token& stop,
                                                      std::string_view traceparent, [[maybe_unused]] Deadline deadline) {
    RunResult<Pipeline, Snapshot> result;
    Frame<Pipeline, Snapshot, Full> frame(pipeline, snapshot, runner.policies(), stop, &result);
    frame.core.start_trace(traceparent);
    if constexpr (Full) frame.watch_deadline(deadline);
    no_stage_states none;
    if (begin_run(frame, none)) {
      Steps<decltype(frame)> steps{&frame, {}};
      runner.executor().template execute<Pipeline>(steps, [&frame] {
        if constexpr (Full)
          frame.stops.stages_finished();
        else
          (void)frame;
      });
    }
    finish(frame, none, ended_at(frame));
    return result;
  }

  /// The reading that ends a run: the last stage's end when readings chain, else now.
  template <class F>
  static typename clock::time_point ended_at(F& frame) {
    if constexpr (F::chains_clock_readings)
      return frame.last_reading;
    else
      return clock::now();
  }

  /// pipeline.started and the run-start hooks; true when the stages may run.
  template <class F>
  static bool begin_run(F& frame, no_stage_states& none) {
    if constexpr (has_event_sink)
      frame.core.send(events::pipeline_started, frame.core.no_stage, {}, {}, std::chrono::nanoseconds(-1),
                      std::chrono::system_clock::now());
    Hooks::template call<hooks::on_run_start>(frame, none, 0);
    return !frame.core.ending.get();
  }

  /// After the last stage (`end`: the reading that ended it): the run's duration; a deadline that
  /// fired before the last stage finished times the run out; then the run-end hooks and the
  /// outcome event, which carries the measured start and end.
  template <class F>
  static void finish(F& frame, no_stage_states& none, typename clock::time_point end) {
    auto& core = frame.core;
    core.run_ended_at(end);
    if constexpr (F::full) {
      frame.stops.alarm.reset();
      if (frame.deadline_passed()) core.end(RunStatus::timed_out, "the run's deadline passed");
    }
    Hooks::template call<hooks::on_run_end>(frame, none, 0);
    if constexpr (has_event_sink) send_run_outcome(frame, end, false);
  }

  template <class F>
  static void send_run_outcome(F& frame, typename clock::time_point end, bool abandoned) {
    auto& core = frame.core;
    const auto& result = *core.result;
    const auto type = outcome_event(result.status);
    const auto status = to_string(result.status);
    if (result.status == RunStatus::completed)
      core.send_outcome(type, core.no_stage, status, {}, core.started, end);
    else if (result.status == RunStatus::timed_out)
      core.send_outcome(type, core.no_stage, status, result.error, core.started, end,
                        {{"error_stage", result.error_stage}, {"abandoned", abandoned}});
    else
      core.send_outcome(type, core.no_stage, status, result.error, core.started, end,
                        {{"error_stage", result.error_stage}});
  }

  /// What an executor sees of one run (the protocol of <stageflow/runner/executor.hpp>).
  template <class F>
  struct Steps {
    F* frame;
    // Concurrent runs: the executor's tasks keep a run that may be abandoned alive.
    STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent, std::shared_ptr<F>, absent> owner{};
    // Where a retrying stage's backoff timers run (executors with schedule_backoff).
    STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<timed_backoffs, const executor_type*, absent> executor{};

    bool ending() const noexcept { return frame->core.ending.get(); }

    template <std::size_t I, class K>
    void start(K&& k) const {
      if constexpr (hedged_start<Engine, Steps, I, std::decay_t<K>>) {  // stage_kinds.hpp
        start_hedged(*this, std::type_identity<Engine>{}, std::integral_constant<std::size_t, I>{}, std::forward<K>(k));
      } else if constexpr (async_stage_at<F, I>) {
        // An async stage: its coroutine calls k when it completes (<stageflow/runner/async_run.hpp>).
        AsyncRun<Runner>::template start_stage<I>(*this, std::forward<K>(k));
      } else if constexpr (timed_backoffs && Life<F, I>::retries) {
        RetriedStage<Engine, F, I, std::decay_t<K>>::start(*this, std::forward<K>(k));
      } else {
        const bool proceed = run_stage<I>(*frame);
        std::forward<K>(k)(proceed);
      }
    }
    template <class K>
    void start(std::size_t i, K&& k) const {
      if constexpr (has_async_stage<F> || (timed_backoffs && has_retrying_stage<typename F::pipeline_type>) ||
                    (concurrent && has_hedged_stage<typename F::pipeline_type>)) {
        constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
          return std::array<void (*)(const Steps&, K&), sizeof...(I)>{
              [](const Steps& steps, K& k) { steps.template start<I>(std::move(k)); }...};
        }(std::make_index_sequence<F::pipeline_type::size>{});
        table[i](*this, k);
      } else {
        constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
          return std::array<bool (*)(F&), sizeof...(I)>{&run_stage<I, F>...};
        }(std::make_index_sequence<F::pipeline_type::size>{});
        const bool proceed = table[i](*frame);
        std::forward<K>(k)(proceed);
      }
    }
    void reject(std::size_t i, std::string_view why) const {
      frame->core.end(RunStatus::failed, "stage '" + std::string(F::pipeline_type::names[i]) +
                                             "' could not be scheduled: " + std::string(why));
    }
  };

  /// One synchronous stage, start to end (see StageLifecycle). Returns false when the run must stop.
  template <std::size_t I, class F>
  static bool run_stage(F& frame) {
    using Pipeline = typename F::pipeline_type;
    using S = list_element_t<I, typename Pipeline::stage_types>;
    if constexpr (is_async_stage_v<typename F::snapshot_type, Pipeline, S>) {
      return false;  // only async_run runs an async stage (Runner::run refuses to compile)
    } else {
      if (!Life<F, I>::admit(frame)) return false;
      Life<F, I> life(frame);
      life.before();
      if (life.may_start()) {
        run_attempt(life);
        // A failed attempt of a stage that declares `retry` goes on out of line: the retry loop
        // here made GCC stop inlining the stage (issue 22 (a): +57 instructions a stage on the
        // success path, now +36, as `life` escaping into the call keeps it in memory).
        if constexpr (Life<F, I>::retries) {
          if (life.attempt_failed()) [[unlikely]]
            retry_synchronously(life);
        }
      }
      return life.end();
    }
  }

  /// A run under a concurrent executor. Without a deadline the caller waits for the last stage,
  /// so the frame lives in its stack frame and the result is built in place; the executor's tasks
  /// that outlive done() touch only the executor's own state. With a deadline the caller never
  /// waits past it for a stage its executor holds and does not run (a stopped io_context), so the
  /// frame lives on the heap, shared with the executor's tasks: a task run or dropped later finds
  /// the run over. Under DeadlineMode::abandon the caller may even leave running stages behind:
  /// the frame then owns copies of everything they can touch.
  template <class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> run_concurrent(const Runner& runner, const Pipeline& pipeline,
                                                      const RunRequest<Snapshot>& request) {
    using F = Frame<Pipeline, Snapshot, true>;
    if constexpr (may_run_here<Pipeline>) {
      if (!request.abandons() && runner.executor().runs_on_caller()) return run_here(runner, pipeline, request);
    }
    if (!request.deadline) return run_concurrent_waiting(runner, pipeline, request);
    auto owned = std::make_unique<RunResult<Pipeline, Snapshot>>();
    auto frame = std::make_shared<F>(pipeline, *request.snapshot, runner.policies(), request.stop, owned.get());
    frame->abandonment.result_owner = std::move(owned);
    frame->core.start_trace(request.traceparent);
    if (request.abandons()) {
      if constexpr (std::is_copy_constructible_v<Pipeline>)  // validate() refused the others
        frame->own_everything(request.owner);
    } else {
      frame->abandonment.abandonable = true;  // track running stages: past the deadline, start no more
    }
    frame->watch_deadline(request.deadline);
    if (auto left = run_concurrent_frame(runner, *frame, frame, request)) return std::move(*left);
    return std::move(frame->result);
  }

  /// No deadline: the frame on the caller's stack, the result built in place (GCC 12 moved it out
  /// when the deadline path's returns stood beside this one).
  template <class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> run_concurrent_waiting(const Runner& runner, const Pipeline& pipeline,
                                                              const RunRequest<Snapshot>& request) {
    using F = Frame<Pipeline, Snapshot, true>;
    RunResult<Pipeline, Snapshot> result;
    // A chain that nothing outside can stop needs no stop source: there is never a running
    // stage to ask when another ends the run (an allocation and ~150 instructions a run).
    const bool own_stop_source = !one_stage_at_a_time<Pipeline> || request.stop.stop_possible();
    F frame(pipeline, *request.snapshot, runner.policies(), request.stop, &result, own_stop_source);
    frame.core.start_trace(request.traceparent);
    run_concurrent_frame(runner, frame, std::shared_ptr<F>{}, request);
    return result;
  }

  /// A chain whose caller may run it (see may_run_here): every stage on the calling thread, one
  /// after another, at the sequential runner's costs: no schedule, no hand-off, no completion
  /// handshake, one clock reading ends a stage and starts the next. The frame stays on the stack
  /// even with a deadline (no other thread runs a stage of it); only a deadline needs a stop source.
  template <class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> run_here(const Runner& runner, const Pipeline& pipeline,
                                                const RunRequest<Snapshot>& request) {
    return request.deadline ? run_here<true>(runner, pipeline, request) : run_here<false>(runner, pipeline, request);
  }
  template <bool Full, class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> run_here(const Runner& runner, const Pipeline& pipeline,
                                                const RunRequest<Snapshot>& request) {
    using F = RunFrame<Runner, Pipeline, Snapshot, Full, true>;
    RunResult<Pipeline, Snapshot> result;
    F frame(pipeline, *request.snapshot, runner.policies(), request.stop, &result);
    frame.core.start_trace(request.traceparent);
    if constexpr (Full) frame.watch_deadline(request.deadline);
    no_stage_states none;
    if (begin_run(frame, none)) {
      Steps<F> steps{&frame, {}};
      SequentialExecutor{}.template execute<Pipeline>(steps, [&frame] {
        if constexpr (Full)
          frame.stops.stages_finished();
        else
          (void)frame;
      });
    }
    finish(frame, none, ended_at(frame));
    return result;
  }

  /// Runs a concurrent frame to its end; under DeadlineMode::abandon returns the abandoned run's
  /// result if the deadline came first.
  template <class F, class Snapshot>
  static std::optional<RunResult<typename F::pipeline_type, Snapshot>> run_concurrent_frame(
      const Runner& runner, F& frame, std::shared_ptr<F> owner, const RunRequest<Snapshot>& request) {
    no_stage_states none;
    if (begin_run(frame, none)) {
      RunCompletion& completion = frame.completion;
      Steps<F> steps{&frame, std::move(owner)};
      if constexpr (timed_backoffs) steps.executor = &runner.executor();
      auto& stops = frame.stops;
      runner.executor().template execute<typename F::pipeline_type>(
          steps,
          [&completion, &stops] {
            stops.stages_finished();
            completion.signal();
          },
          ExecuteHints{.caller_may_run = !request.abandons()});
      if (!completion.finished()) {
        std::unique_lock lock(completion.mutex);
        if (!request.deadline) {
          completion.wait(lock);
        } else if (!completion.cv.wait_until(lock, request.deadline.at(), [&] { return completion.done; })) {
          lock.unlock();
          if (request.abandons()) return abandon_run<Hooks>(frame);
          wait_past_deadline(frame);
        }
      }
    }
    finish(frame, none, ended_at(frame));
    return std::nullopt;
  }
};

}  // namespace detail
}  // namespace stageflow
