// SPDX-License-Identifier: BSL-1.0
// Runner<Policies...>: runs a Pipeline on a snapshot, with the policies composed in at compile time.
//
//   stageflow::Runner<stageflow::JsonLinesSink<>, stageflow::debug_only<MyCheck>> runner{
//       stageflow::JsonLinesSink<>(std::cerr)};
//   auto result = runner.run(pipeline, snapshot);            // never throws for a stage's failure
//
//   stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, MyCheck> parallel{
//       stageflow::ParallelExecutor(4), MyCheck{}};           // independent stages at the same time
//   auto timed = parallel.run(pipeline, snapshot, stageflow::RunOptions{.deadline = soon});
//
// A disabled policy (debug_only<P> in a release build, enable_if<false, P>), NullSink and the
// options of <stageflow/runner/options.hpp> are removed from the type itself:
// Runner<debug_only<P>> *is* Runner<> when P is off, so it has no member, branch or call for P.
//
// One runner serves any number of concurrent runs: run() is const, policies are configuration, and
// everything a run changes (outputs, reports, each policy's run_state) lives in that run's frame.
// The hooks and their order are in <stageflow/runner/hooks.hpp>, what they see in
// <stageflow/runner/run_context.hpp>, the executor protocol in <stageflow/runner/executor.hpp>.
// A pipeline with async stages (execute returns boost::asio::awaitable) runs with async_run, from
// <stageflow/runner/async_run.hpp>.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/events.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/core/stage_output.hpp>
#include <stageflow/runner/detail/run_frame.hpp>
#include <stageflow/runner/detail/run_sync.hpp>
#include <stageflow/runner/detail/runner_filter.hpp>
#include <stageflow/runner/detail/stage_timeout.hpp>
#include <stageflow/runner/executor.hpp>
#include <stageflow/runner/hooks.hpp>
#include <stageflow/runner/options.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/run_context.hpp>
#include <stageflow/runner/run_options.hpp>
#include <stageflow/runner/sequential_executor.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/uuid/uuid.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace stageflow {

template <class Config, class... Policies>
class BasicRunner;

namespace detail {

template <class Snapshot, class Pipeline, class... Stages>
consteval bool check_stages_execute(type_list<Stages...>) {
  return (check_execute<Stages, StageContext<Snapshot, Pipeline, Stages>>() && ...);
}

template <class Snapshot, class Pipeline, class... Stages>
consteval bool has_awaitable_stage(type_list<Stages...>) {
  return (is_async_stage_v<Snapshot, Pipeline, Stages> || ...);
}

/// Runs async stages and async_run; defined by <stageflow/runner/async_run.hpp>, which only a
/// program with async stages includes (so a synchronous one never sees Asio's coroutine headers).
template <class Runner>
struct AsyncRun;
/// async_run's completion token when none is given: boost::asio::use_awaitable.
struct default_async_token {};

template <class Frame>
concept async_frame = Frame::async_frame;
/// Whether stage I of an async run's frame is an async stage.
template <class Frame, std::size_t I>
inline constexpr bool async_stage_at = false;
template <async_frame Frame, std::size_t I>
inline constexpr bool async_stage_at<Frame, I> =
    is_async_stage_v<typename Frame::snapshot_type, typename Frame::pipeline_type,
                     list_element_t<I, typename Frame::pipeline_type::stage_types>>;
template <class Frame>
inline constexpr bool has_async_stage = false;
template <async_frame Frame>
inline constexpr bool has_async_stage<Frame> =
    has_awaitable_stage<typename Frame::snapshot_type, typename Frame::pipeline_type>(
        typename Frame::pipeline_type::stage_types{});

inline std::string exception_text(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace detail

template <class Config, class... Policies>
class BasicRunner {
 public:
  using clock = typename Config::clock;
  using executor_type = typename Config::executor;
  using policy_types = detail::type_list<Policies...>;
  using policies_type = std::tuple<Policies...>;
  static_assert(Executor<executor_type>,
                "stageflow: use_executor<E>: E must be an executor (see <stageflow/runner/executor.hpp>)");
  static constexpr bool has_event_sink = (EventSink<Policies> || ...);
  /// True when stages of one run may run at the same time (the executor is concurrent).
  static constexpr bool concurrent = executor_type::concurrent;
  /// Without policies nothing runs between two stages but a few stores, so one clock reading
  /// ends a stage and starts the next: N+1 readings per run instead of 2N+2. (With policies, or
  /// stages running at the same time, each stage is timed on its own.)
  static constexpr bool chains_clock_readings = sizeof...(Policies) == 0 && !concurrent;

  BasicRunner() = default;

  /// Policies by value, in any order, and the executor; the ones not given are value-initialised.
  /// A policy the build disabled (debug_only, enable_if) is accepted and dropped, so the same code
  /// compiles either way.
  template <class... Args>
    requires(sizeof...(Args) > 0 &&
             !(sizeof...(Args) == 1 && (std::is_same_v<std::remove_cvref_t<Args>, BasicRunner> && ...)))
  explicit BasicRunner(Args&&... args)
      : executor_(pick<executor_type>(std::forward<Args>(args)...)),
        policies_(pick<Policies>(std::forward<Args>(args)...)...) {
    static_assert(((Policy<std::remove_cvref_t<Args>> || std::is_same_v<std::remove_cvref_t<Args>, executor_type>) &&
                   ...),
                  "stageflow: every Runner constructor argument must be a policy or the runner's executor");
  }

  template <class P>
  const P& policy() const noexcept {
    return std::get<P>(policies_);
  }
  template <class P>
  P& policy() noexcept {
    return std::get<P>(policies_);
  }
  const executor_type& executor() const noexcept { return executor_; }

  /// Runs every stage of `pipeline` on `snapshot`. Never throws because of a stage or a policy:
  /// failures, cancellations and timeouts are in the result. `stop` cancels the run.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, const Snapshot& snapshot,
                                    std::stop_token stop = {}) const {
    check_runnable<Pipeline, Snapshot>();
    check_synchronous<Pipeline, Snapshot>();
    if constexpr (concurrent) {
      return run_concurrent(pipeline, snapshot, RunOptions{.stop = std::move(stop)}, std::shared_ptr<const Snapshot>{});
    } else {
      return run_sequential<false>(pipeline, snapshot, stop, nullptr, {});
    }
  }

  /// The same, with a deadline (see <stageflow/runner/run_options.hpp>). DeadlineMode::abandon
  /// needs the snapshot as a std::shared_ptr<const Snapshot>; by reference the run fails at once.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, const Snapshot& snapshot, RunOptions options) const {
    check_runnable<Pipeline, Snapshot>();
    check_synchronous<Pipeline, Snapshot>();
    if (options.deadline && options.on_deadline == DeadlineMode::abandon)
      return refused<Pipeline>(snapshot,
                               "DeadlineMode::abandon needs the snapshot as std::shared_ptr<const Snapshot>: a run "
                               "that returns while a stage still runs must own what that stage reads");
    if constexpr (concurrent) {
      return run_concurrent(pipeline, snapshot, std::move(options), std::shared_ptr<const Snapshot>{});
    } else {
      return run_sequential<true>(pipeline, snapshot, options.stop, &options.deadline, options.traceparent);
    }
  }

  /// A run that owns its snapshot: the only kind that may abandon stages at its deadline.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, std::shared_ptr<const Snapshot> snapshot,
                                    RunOptions options = {}) const {
    check_runnable<Pipeline, Snapshot>();
    check_synchronous<Pipeline, Snapshot>();
    const Snapshot& view = *snapshot;
    if constexpr (concurrent) {
      return run_concurrent(pipeline, view, std::move(options), std::move(snapshot));
    } else {
      if (options.deadline && options.on_deadline == DeadlineMode::abandon)
        return refused<Pipeline>(view,
                                 "DeadlineMode::abandon needs a concurrent executor (ParallelExecutor): with "
                                 "SequentialExecutor the stages run on the calling thread, which cannot return early");
      return run(pipeline, view, std::move(options));
    }
  }
  template <class Pipeline, class Snapshot>
    requires(!std::is_const_v<Snapshot>)
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, std::shared_ptr<Snapshot> snapshot,
                                    RunOptions options = {}) const {
    return run(pipeline, std::shared_ptr<const Snapshot>(std::move(snapshot)), std::move(options));
  }

  /// Runs a pipeline whose stages may be async (execute returns boost::asio::awaitable<T>) as an
  /// Asio asynchronous operation with signature void(RunResult): `co_await runner.async_run(p, s)`,
  /// or any completion token (a callback, use_future, use_awaitable). Needs
  /// <stageflow/runner/async_run.hpp>, which says where the stages run; `pipeline`, `snapshot` and
  /// the runner must outlive the operation (or pass the snapshot as a shared_ptr).
  template <class Pipeline, class Snapshot, class Token = detail::default_async_token>
  auto async_run(const Pipeline& pipeline, const Snapshot& snapshot, RunOptions options = {}, Token&& token = {}) const {
    return detail::AsyncRun<BasicRunner>::initiate(*this, pipeline, snapshot, std::shared_ptr<const Snapshot>{},
                                                   std::move(options), std::forward<Token>(token));
  }
  template <class Pipeline, class Snapshot, class Token>
    requires(!std::is_convertible_v<Token, RunOptions>)
  auto async_run(const Pipeline& pipeline, const Snapshot& snapshot, Token&& token) const {
    return async_run(pipeline, snapshot, RunOptions{}, std::forward<Token>(token));
  }
  /// The same with a snapshot the run keeps alive until it completes.
  template <class Pipeline, class Snapshot, class Token = detail::default_async_token>
  auto async_run(const Pipeline& pipeline, std::shared_ptr<const Snapshot> snapshot, RunOptions options = {},
                 Token&& token = {}) const {
    const Snapshot& view = *snapshot;
    return detail::AsyncRun<BasicRunner>::initiate(*this, pipeline, view, std::move(snapshot), std::move(options),
                                                   std::forward<Token>(token));
  }

  /// Sends an event to every sink among `policies` (a sink that throws loses that event).
  static void emit_to_sinks(const policies_type& policies, const Event& event) {
    for_each_policy([&]<std::size_t K>() {
      using P = detail::nth_type<K, Policies...>;
      if constexpr (EventSink<P>) {
        try {
          std::get<K>(policies).emit(event);
        } catch (...) {
          // A sink that throws loses this event; the run goes on.
        }
      }
    });
  }

 private:
  template <class, class, class>
  friend class RunContext;
  template <class, class, class, bool>
  friend struct detail::RunFrame;
  template <class>
  friend struct detail::AsyncRun;

  using run_states_type = std::tuple<run_state_t<Policies>...>;
  using stage_states_type = std::tuple<stage_state_t<Policies>...>;

  template <class Pipeline, class Snapshot, bool Full>
  using RunFrame = detail::RunFrame<BasicRunner, Pipeline, Snapshot, Full>;
  using Completion = detail::RunCompletion;

  template <class Pipeline, class Snapshot>
  static constexpr void check_runnable() {
    static_assert(is_pipeline_v<Pipeline>, "stageflow: Runner::run takes a stageflow::Pipeline<...> first");
    static_assert(detail::check_stages_execute<Snapshot, Pipeline>(typename Pipeline::stage_types{}));
  }
  template <class Pipeline, class Snapshot>
  static constexpr void check_synchronous() {
    static_assert(!detail::has_awaitable_stage<Snapshot, Pipeline>(typename Pipeline::stage_types{}),
                  "stageflow: this pipeline has async stages (execute returns boost::asio::awaitable): run it with "
                  "`co_await runner.async_run(pipeline, snapshot, options)` from <stageflow/runner/async_run.hpp>, "
                  "not with run()");
  }

  /// A run that could not start (misuse of the options): failed, nothing ran.
  template <class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> refused(const Snapshot& snapshot, std::string reason) {
    RunResult<Pipeline, Snapshot> result;
    for (std::size_t i = 0; i < Pipeline::size; ++i) result.stages[i].name = Pipeline::names[i];
    if (auto id = detail::snapshot_run_id(snapshot)) result.pipeline_run_id = *id;
    result.status = RunStatus::failed;
    result.error = std::move(reason);
    return result;
  }

  // Each type is taken from the first argument of that type (copied from an lvalue, moved from an
  // rvalue), or value-initialised. The types are unique, so no argument is moved twice.
  template <class P, class... Args>
  static P pick(Args&&... args) {
    if constexpr ((std::is_same_v<std::remove_cvref_t<Args>, P> || ...))
      return first_of_type<P>(std::forward<Args>(args)...);
    else
      return P{};
  }
  template <class P, class First, class... Rest>
  static P first_of_type(First&& first, Rest&&... rest) {
    if constexpr (std::is_same_v<std::remove_cvref_t<First>, P>)
      return P(std::forward<First>(first));
    else
      return first_of_type<P>(std::forward<Rest>(rest)...);
  }

  template <class F>
  static void for_each_policy(F&& f) {
    [&]<std::size_t... K>(std::index_sequence<K...>) { (f.template operator()<K>(), ...); }(
        std::index_sequence_for<Policies...>{});
  }
  template <class F>
  static void for_each_policy_reversed(F&& f) {
    constexpr std::size_t n = sizeof...(Policies);
    [&]<std::size_t... K>(std::index_sequence<K...>) { (f.template operator()<n - 1 - K>(), ...); }(
        std::index_sequence_for<Policies...>{});
  }

  /// The one dispatcher: calls Hook on every policy that implements it, in the hook's order, with
  /// the hook's rule for a throw (see <stageflow/runner/hooks.hpp>). Returns how many policies a
  /// before_stage reached (after_stage runs only for those).
  template <class Hook, class Frame, class StageStates, class... StageArg>
  static std::size_t call_hooks(Frame& frame, StageStates& stage_states, [[maybe_unused]] std::size_t reached,
                                StageArg&... stage) {
    using Run = typename Frame::run_type;
    std::size_t visited = 0;
    auto one = [&]<std::size_t K>() {
      using P = detail::nth_type<K, Policies...>;
      if constexpr (Hook::level == hooks::Level::stage && Hook::order == hooks::Order::declaration) {
        if (((stage.status() == StageStatus::fail) || ...)) return;  // a before-hook failed the stage
      }
      if constexpr (hooks::implements<Hook, P, run_state_t<P>, stage_state_t<P>, Run, StageArg...>()) {
        if constexpr (Hook::only_policies_reached) {
          if (K >= reached) return;
        }
        try {
          [[maybe_unused]] auto guard = lock_run_state<P, K>(frame);
          hooks::call_hook<Hook>(std::get<K>(*frame.policies), std::get<K>(frame.states), std::get<K>(stage_states),
                                 frame.run, stage...);
        } catch (...) {
          if constexpr (Hook::on_throw == hooks::OnThrow::fail_run)
            frame.run.fail(detail::exception_text(std::current_exception()));
          else if constexpr (Hook::on_throw == hooks::OnThrow::fail_stage)
            (stage.fail(detail::exception_text(std::current_exception())), ...);
        }
      }
      visited = K + 1;
    };
    if constexpr (Hook::order == hooks::Order::declaration)
      for_each_policy(one);
    else
      for_each_policy_reversed(one);
    return visited;
  }

  /// Under a concurrent executor, the hooks that receive a policy's run_state take turns.
  template <class P, std::size_t K, class Frame>
  static auto lock_run_state(Frame& frame) {
    if constexpr (concurrent && has_run_state_v<P> && !synchronizes_run_state_v<P>)
      return std::unique_lock<std::mutex>(frame.policy_locks[K]);
    else
      return detail::no_lock{};
  }

  /// A run on the calling thread; its result is built in place (one return: no move).
  template <bool Full, class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run_sequential(
      const Pipeline& pipeline, const Snapshot& snapshot, const std::stop_token& stop,
      [[maybe_unused]] const std::optional<std::chrono::steady_clock::time_point>* deadline,
      std::string_view traceparent) const {
    RunResult<Pipeline, Snapshot> result;
    RunFrame<Pipeline, Snapshot, Full> frame(pipeline, snapshot, policies_, stop, &result);
    frame.run.start_trace(traceparent);
    if constexpr (Full) frame.watch_deadline(*deadline);
    drive(frame);
    return result;
  }

  // What run-level hooks get in place of stage states (they take none).
  using no_stage_states = std::array<detail::no_stage_state, sizeof...(Policies)>;

  /// One run, from pipeline.started to its outcome event; the executor schedules the stages.
  template <class Frame>
  void drive(Frame& frame) const {
    const auto started = frame.run.started_;
    no_stage_states none;
    if (begin_run(frame, none)) {
      Steps<Frame> steps{&frame, {}};
      executor_.template execute<typename Frame::pipeline_type>(steps, [] {});
    }
    const auto finished = chains_clock_readings ? frame.run.last_reading_ : clock::now();
    frame.result.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(finished - started);
    finish(frame, none);
  }

  /// pipeline.started and the run-start hooks; true when the stages may run.
  template <class Frame>
  static bool begin_run(Frame& frame, no_stage_states& none) {
    frame.run.emit(events::pipeline_started);
    call_hooks<hooks::on_run_start>(frame, none, 0);
    return !frame.run.ending();
  }

  /// After the last stage: a deadline that fired while stages ran times the run out, then the
  /// run-end hooks and the outcome event.
  template <class Frame>
  static void finish(Frame& frame, no_stage_states& none) {
    if constexpr (Frame::full) {
      frame.stops.alarm.reset();
      if (frame.deadline_passed()) frame.run.end(RunStatus::timed_out, "the run's deadline passed");
    }
    call_hooks<hooks::on_run_end>(frame, none, 0);
    if constexpr (has_event_sink) {
      auto& result = frame.result;
      auto& run = frame.run;
      const auto status = to_string(result.status);
      switch (result.status) {
        case RunStatus::completed: run.emit_outcome(events::pipeline_completed, {}, status, {}, result.duration); break;
        case RunStatus::failed:
          run.emit_outcome(events::pipeline_failed, {}, status, result.error, result.duration,
                           {{"error_stage", result.error_stage}});
          break;
        case RunStatus::cancelled:
          run.emit_outcome(events::pipeline_cancelled, {}, status, result.error, result.duration,
                           {{"error_stage", result.error_stage}});
          break;
        case RunStatus::timed_out:
          run.emit_outcome(events::pipeline_timed_out, {}, status, result.error, result.duration,
                           {{"error_stage", result.error_stage}, {"abandoned", false}});
          break;
      }
    }
  }

  /// What an executor sees of one run (the protocol of <stageflow/runner/executor.hpp>).
  template <class Frame>
  struct Steps {
    Frame* frame;
    // Concurrent runs: the executor's tasks keep the run alive.
    STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent, std::shared_ptr<Frame>, detail::absent> owner{};

    bool ending() const noexcept { return frame->run.ending(); }

    template <std::size_t I, class K>
    void start(K&& k) const {
      if constexpr (detail::async_stage_at<Frame, I>) {
        // An async stage: its coroutine calls k when it completes (<stageflow/runner/async_run.hpp>).
        detail::AsyncRun<BasicRunner>::template start_stage<I>(*this, std::forward<K>(k));
      } else {
        const bool proceed = run_stage<I>(*frame);
        std::forward<K>(k)(proceed);
      }
    }
    template <class K>
    void start(std::size_t i, K&& k) const {
      if constexpr (detail::has_async_stage<Frame>) {
        constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
          return std::array<void (*)(const Steps&, K&), sizeof...(I)>{
              [](const Steps& steps, K& k) { steps.template start<I>(std::move(k)); }...};
        }(std::make_index_sequence<Frame::pipeline_type::size>{});
        table[i](*this, k);
      } else {
        constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
          return std::array<bool (*)(Frame&), sizeof...(I)>{&run_stage<I, Frame>...};
        }(std::make_index_sequence<Frame::pipeline_type::size>{});
        const bool proceed = table[i](*frame);
        std::forward<K>(k)(proceed);
      }
    }
    void reject(std::size_t i, std::string_view why) const {
      frame->run.fail("stage '" + std::string(Frame::pipeline_type::names[i]) + "' could not be scheduled: " +
                      std::string(why));
    }
  };

  /// One stage: stop check, before-hooks, execute, error hooks, after-hooks, events. stage.started
  /// is emitted only when execute is about to be called. Returns false when the run must stop.
  template <std::size_t I, class Frame>
  static bool run_stage(Frame& frame) {
    using Pipeline = typename Frame::pipeline_type;
    using Run = typename Frame::run_type;
    using S = detail::list_element_t<I, typename Pipeline::stage_types>;
    using Ctx = StageContext<typename Run::snapshot_type, Pipeline, S>;
    if constexpr (is_async_stage_v<typename Frame::snapshot_type, Pipeline, S>) {
      return false;  // only async_run runs an async stage (check_runnable says so)
    } else {
      // Locals, not a StageLocals: GCC keeps these in registers, the struct's members it does not.
      if (!admit_stage<I>(frame)) return false;
      const StageLeave<I, Frame> leave{frame};
      const S& stage = frame.pipeline->template stage_at<I>();
      [[maybe_unused]] stage_timeout_slot<S> timeout;
      const Ctx ctx(frame.run.snapshot(), frame.run.outputs_.data(), frame.result.pipeline_run_id,
                    arm_timeout<S>(frame.run, timeout));
      StageRun<Run, S> stage_run(frame.run, stage, ctx);
      stage_states_type stage_states{make_stage_state(std::get<Policies>(*frame.policies))...};
      const std::size_t reached = call_hooks<hooks::before_stage>(frame, stage_states, 0, stage_run);
      if (stage_may_start<I>(frame)) {
        const auto t0 = chains_clock_readings ? frame.run.last_reading_ : clock::now();
        try {
          execute_stage<I>(frame.run, [&]() -> decltype(auto) { return detail::invoke_execute(stage, ctx); });
        } catch (...) {
          stage_threw<I>(frame, std::current_exception());
        }
        stage_executed<I>(frame, timeout, t0, stage_states, stage_run);
      }
      return stage_ended<I>(frame, stage_states, reached, stage_run);
    }
  }

  // The step of one stage in parts, so that an async stage's coroutine (<stageflow/runner/async_run.hpp>)
  // runs the same parts around its co_await and completes the stage later: admit_stage, the
  // stage's locals (StageLocals), the before-hooks, stage_may_start, execute, stage_executed,
  // stage_ended.

  /// Whether stage I may start: nothing ended the run and no stop was requested. Always inlined:
  /// left out of line (GCC 12 does, for its cold branch), it costs Runner<> about 45 instructions
  /// a stage (tests/zero_cost/program.cpp under callgrind).
  template <std::size_t I, class Frame>
  [[gnu::always_inline]] static bool admit_stage(Frame& frame) {
    auto& run = frame.run;
    if constexpr (concurrent) {
      if (run.ending()) return false;  // another stage ended the run: this one never starts
    }
    if (run.stop_token().stop_requested()) {
      if (frame.deadline_passed())
        run.end(RunStatus::timed_out, "the run's deadline passed");
      else
        run.cancel("stop requested");
      return false;
    }
    if constexpr (Frame::full) return frame.enter_stage(I);
    return true;
  }

  /// An admitted stage leaves the abandonment bookkeeping when this goes (declared first).
  template <std::size_t I, class Frame>
  struct StageLeave {
    Frame& frame;
    ~StageLeave() {
      if constexpr (Frame::full) frame.leave_stage(I);
    }
  };

  /// A stage's own timeout, when it declares one.
  template <class S>
  using stage_timeout_slot = std::conditional_t<has_timeout<S>, std::optional<detail::StageTimeout>, detail::absent>;
  /// The stop token the stage sees: the run's, or with a timeout, its own chained to the run's.
  template <class S, class Run>
  static const std::stop_token& arm_timeout(const Run& run, stage_timeout_slot<S>& timeout) {
    if constexpr (has_timeout<S>)
      return timeout.emplace(run.stop_token(), stage_timeout_v<S>).token();
    else
      return run.stop_token();
  }

  /// An admitted stage's locals in one object, for a coroutine's frame.
  template <std::size_t I, class Frame>
  struct StageLocals {
    using Pipeline = typename Frame::pipeline_type;
    using Run = typename Frame::run_type;
    using S = detail::list_element_t<I, typename Pipeline::stage_types>;
    using Ctx = StageContext<typename Run::snapshot_type, Pipeline, S>;

    explicit StageLocals(Frame& f)
        : leave{f}, stage(f.pipeline->template stage_at<I>()),
          ctx(f.run.snapshot(), f.run.outputs_.data(), f.result.pipeline_run_id, arm_timeout<S>(f.run, timeout)),
          stage_run(f.run, stage, ctx), stage_states{make_stage_state(std::get<Policies>(*f.policies))...} {}
    StageLocals(const StageLocals&) = delete;
    StageLocals& operator=(const StageLocals&) = delete;

    StageLeave<I, Frame> leave;
    const S& stage;
    STAGEFLOW_NO_UNIQUE_ADDRESS stage_timeout_slot<S> timeout;  // armed by ctx's initialiser
    const Ctx ctx;
    StageRun<Run, S> stage_run;
    stage_states_type stage_states;
  };

  /// After the before-hooks: true when execute may be called (no before-hook failed the stage or
  /// ended the run); then stage.started is emitted.
  template <std::size_t I, class Frame>
  static bool stage_may_start(Frame& frame) {
    if (frame.result.stages[I].status == StageStatus::fail || frame.run.ending()) return false;
    using S = detail::list_element_t<I, typename Frame::pipeline_type::stage_types>;
    frame.run.emit(events::stage_started, S::name);
    return true;
  }

  template <std::size_t I, class Frame>
  static void stage_threw(Frame& frame, std::exception_ptr error) {
    auto& report = frame.result.stages[I];
    report.status = StageStatus::fail;
    report.reason = detail::exception_text(error);
  }

  /// After execute: its duration, the stage's own timeout, the error hooks.
  template <std::size_t I, class Frame, class Timeout, class StageStates, class StageRunT>
  static void stage_executed(Frame& frame, [[maybe_unused]] Timeout& timeout, typename clock::time_point t0,
                             StageStates& stage_states, StageRunT& stage_run) {
    using S = typename StageRunT::stage_type;
    auto& run = frame.run;
    auto& result = frame.result;
    auto& report = result.stages[I];
    run.last_reading_ = clock::now();
    report.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(run.last_reading_ - t0);
    if constexpr (has_timeout<S>) {
      if (timeout->finish() && report.status != StageStatus::fail) {
        report.status = StageStatus::timed_out;
        report.reason = "the stage ran past its timeout of " + detail::milliseconds_text(stage_timeout_v<S>);
        std::get<I>(result.outputs).reset();
        run.outputs_[I] = nullptr;
      }
    }
    if (report.status == StageStatus::fail) call_hooks<hooks::on_stage_error>(frame, stage_states, 0, stage_run);
  }

  /// The after-hooks (for the policies whose before-hook was reached) and the outcome event;
  /// false when the run must stop.
  template <std::size_t I, class Frame, class StageStates, class StageRunT>
  static bool stage_ended(Frame& frame, StageStates& stage_states, [[maybe_unused]] std::size_t reached,
                          StageRunT& stage_run) {
    using S = typename StageRunT::stage_type;
    auto& run = frame.run;
    auto& report = frame.result.stages[I];
    if constexpr (Frame::full) {
      if (frame.left_behind()) return false;  // the caller returned at its deadline: report nothing
    }

    call_hooks<hooks::after_stage>(frame, stage_states, reached, stage_run);
    if constexpr (has_event_sink) emit_stage_outcome<S>(run, report);

    // The common case first, as one comparison: ok and skip go on.
    if (report.status == StageStatus::ok || report.status == StageStatus::skip) return !run.ending();
    const RunStatus ending = report.status == StageStatus::fail     ? RunStatus::failed
                             : report.status == StageStatus::cancel ? RunStatus::cancelled
                                                                    : RunStatus::timed_out;
    if (report.status != StageStatus::not_run)  // not_run: a before-hook already ended the run
      run.end(ending, report.reason, S::name);
    return false;
  }

  /// Stores what `produce()` returns (the stage's result) as stage I's output and status.
  template <std::size_t I, class Run, class Produce>
  static void execute_stage(Run& run, Produce&& produce) {
    using Result = std::invoke_result_t<Produce&>;
    auto& result = *run.result_;
    auto& report = result.stages[I];
    auto& slot = std::get<I>(result.outputs);
    try {
      if constexpr (std::is_void_v<Result>) {
        produce();
        slot.emplace();
      } else if constexpr (std::is_same_v<Result, StageOutput<void>>) {
        StageOutput<void> out = produce();
        report.status = out.status();
        if (out.is_ok())
          slot.emplace();
        else
          report.reason = out.reason();
      } else if constexpr (is_stage_output_v<Result>) {
        Result out = produce();
        report.status = out.status();
        if (out.is_ok())
          slot.emplace(std::move(out).value());
        else
          report.reason = out.reason();
        // `out` is destroyed here, before the output is published: if that throws, the stage fails
        // and its output does not stay behind.
      } else {
        slot.emplace(produce());
      }
    } catch (...) {
      slot.reset();
      throw;
    }
    if (slot) {
      report.status = StageStatus::ok;
      run.outputs_[I] = &*slot;
    }
  }

  template <class S, class Run>
  static void emit_stage_outcome(const Run& run, const StageReport& report) {
    const auto status = to_string(report.status);
    switch (report.status) {
      case StageStatus::ok: run.emit_outcome(events::stage_completed, S::name, status, {}, report.duration); break;
      case StageStatus::skip:
        run.emit_outcome(events::stage_skipped, S::name, status, report.reason, report.duration);
        break;
      case StageStatus::cancel:
        run.emit_outcome(events::stage_cancelled, S::name, status, report.reason, report.duration);
        break;
      case StageStatus::fail:
        run.emit_outcome(events::stage_failed, S::name, status, report.reason, report.duration);
        break;
      case StageStatus::timed_out:
        run.emit_outcome(events::stage_timed_out, S::name, status, report.reason, report.duration);
        break;
      case StageStatus::not_run: break;
    }
  }

  /// A run under a concurrent executor. The caller waits for the last stage, so the frame lives in
  /// its stack frame and the result is built in place; the executor's tasks that outlive done()
  /// touch only the executor's own state. Under DeadlineMode::abandon the caller may leave first:
  /// the frame then lives on the heap, owned by the run's tasks too.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run_concurrent(const Pipeline& pipeline, const Snapshot& snapshot, RunOptions options,
                                               std::shared_ptr<const Snapshot> owner) const {
    using Frame = RunFrame<Pipeline, Snapshot, true>;
    if (!(options.deadline && options.on_deadline == DeadlineMode::abandon)) {
      RunResult<Pipeline, Snapshot> result;
      Frame frame(pipeline, snapshot, policies_, options.stop, &result);
      frame.run.start_trace(options.traceparent);
      frame.watch_deadline(options.deadline);
      run_concurrent_frame(frame, std::shared_ptr<Frame>{}, std::nullopt);
      return result;
    }
    if constexpr (!std::is_copy_constructible_v<Pipeline>) {
      return refused<Pipeline>(snapshot, "DeadlineMode::abandon copies the pipeline into the run, and this "
                                         "pipeline's stages cannot be copied");
    } else {
      auto owned = std::make_unique<RunResult<Pipeline, Snapshot>>();
      auto frame = std::make_shared<Frame>(pipeline, snapshot, policies_, options.stop, owned.get());
      frame->abandonment.result_owner = std::move(owned);
      frame->run.start_trace(options.traceparent);
      frame->own_everything(std::move(owner));
      frame->watch_deadline(options.deadline);
      if (auto left = run_concurrent_frame(*frame, frame, options.deadline)) return std::move(*left);
      return std::move(frame->result);
    }
  }

  /// Runs a concurrent frame to its end; with `leave_at`, returns the abandoned run's result if
  /// the deadline came first.
  template <class Frame>
  std::optional<RunResult<typename Frame::pipeline_type, typename Frame::snapshot_type>> run_concurrent_frame(
      Frame& frame, std::shared_ptr<Frame> owner,
      std::optional<std::chrono::steady_clock::time_point> leave_at) const {
    const auto started = frame.run.started_;
    no_stage_states none;
    if (begin_run(frame, none)) {
      Completion& completion = frame.completion;
      Steps<Frame> steps{&frame, std::move(owner)};
      executor_.template execute<typename Frame::pipeline_type>(steps, [&completion] { completion.signal(); },
                                                                 ExecuteHints{.caller_may_run = !leave_at});
      std::unique_lock lock(completion.mutex);
      if (!leave_at) {
        completion.cv.wait(lock, [&] { return completion.done; });
      } else if (!completion.cv.wait_until(lock, *leave_at, [&] { return completion.done; })) {
        lock.unlock();
        return abandon_run(frame, started);
      }
    }
    frame.result.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - started);
    finish(frame, none);
    return std::nullopt;
  }

  /// The deadline passed with stages still running: return what finished, leave the rest behind.
  /// Outputs a running stage may still read are copied (or left out when they cannot be copied);
  /// the others are moved.
  template <class Frame>
  static RunResult<typename Frame::pipeline_type, typename Frame::snapshot_type> abandon_run(
      Frame& frame, typename clock::time_point started) {
    using Pipeline = typename Frame::pipeline_type;
    std::array<bool, Pipeline::size> running{};
    {
      std::lock_guard lock(frame.run.mutex_);
      frame.abandonment.abandoned = true;
      running = frame.abandonment.running;
    }
    frame.stops.deadline_fired();
    frame.run.end(RunStatus::timed_out, "the run's deadline passed; stages still running were abandoned");
    frame.result.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - started);

    // The run-end hooks see the frame as the caller leaves it (outputs still in place); their
    // metrics and a failure they report reach the result.
    no_stage_states none;
    call_hooks<hooks::on_run_end>(frame, none, 0);

    RunResult<Pipeline, typename Frame::snapshot_type> out;
    {
      std::lock_guard lock(frame.run.mutex_);
      out.status = frame.result.status;
      out.error = frame.result.error;
      out.error_stage = frame.result.error_stage;
      out.metrics = frame.result.metrics;
    }
    out.pipeline_run_id = frame.result.pipeline_run_id;
    out.duration = frame.result.duration;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if (running[I]) {
              out.stages[I] = {Pipeline::names[I], StageStatus::timed_out, {}, "abandoned at the run's deadline"};
              return;
            }
            out.stages[I] = frame.result.stages[I];
            auto& slot = std::get<I>(frame.result.outputs);
            if (!slot) return;
            bool still_read = false;
            for (std::size_t j = 0; j < Pipeline::size; ++j)
              if (running[j] && Pipeline::plan.ancestor[j][I]) still_read = true;
            using Output = typename std::remove_cvref_t<decltype(slot)>::value_type;
            if (!still_read)
              std::get<I>(out.outputs).emplace(std::move(*slot));
            else if constexpr (std::is_copy_constructible_v<Output>)
              std::get<I>(out.outputs).emplace(*slot);
          }(),
          ...);
    }(std::make_index_sequence<Pipeline::size>{});

    if constexpr (has_event_sink)
      frame.run.emit_outcome(events::pipeline_timed_out, {}, to_string(RunStatus::timed_out), out.error, out.duration,
                             {{"error_stage", out.error_stage}, {"abandoned", true}});
    return out;
  }

  STAGEFLOW_NO_UNIQUE_ADDRESS executor_type executor_;
  STAGEFLOW_NO_UNIQUE_ADDRESS policies_type policies_;
};

/// The runner type for these policies and options: disabled policies, NullSink and options are
/// filtered out, so Runner<debug_only<P>> is exactly Runner<> when P is off.
template <class... PoliciesAndOptions>
using Runner = typename detail::runner_filter<detail::default_runner_config, detail::type_list<>,
                                              PoliciesAndOptions...>::type;

}  // namespace stageflow
