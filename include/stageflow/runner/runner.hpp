// Runner<Policies...>: runs a Pipeline on a snapshot, with the policies composed in at compile time.
//
//   stageflow::Runner<stageflow::JsonLinesSink<>, stageflow::debug_only<MyCheck>> runner(
//       stageflow::JsonLinesSink<>(std::cerr));
//   auto result = runner.run(pipeline, snapshot);            // never throws for a stage's failure
//
// A disabled policy (debug_only<P> in a release build, enable_if<false, P>), NullSink and the
// options of <stageflow/runner/options.hpp> are removed from the type itself:
// Runner<debug_only<P>> *is* Runner<> when P is off, so it has no member, branch or call for P.
//
// One runner serves any number of concurrent runs: run() is const, policies are configuration, and
// everything a run changes (outputs, reports, each policy's run_state) lives in that run's frame.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/core/stage_output.hpp>
#include <stageflow/uuid/uuid7.hpp>
#include <stageflow/runner/options.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/sequential_executor.hpp>

#include <boost/uuid/uuid.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <optional>
#include <span>
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

template <class Clock, class Executor>
struct runner_config {
  using clock = Clock;
  using executor = Executor;
};
using default_runner_config = runner_config<std::chrono::steady_clock, SequentialExecutor>;

template <class P>
struct not_a_policy {
  static_assert(always_false<P>,
                "stageflow: a Runner argument is not a policy: a policy is a copyable class that declares at least "
                "one of on_run_start, before_stage, after_stage, on_stage_error, on_run_end, or emit(const Event&) "
                "(the type is the template argument of not_a_policy<...> in this diagnostic)");
  using type = void;
};

template <class P, class... Kept>
struct policy_listed_twice {
  static_assert(always_false<P>,
                "stageflow: the same policy type appears twice in a Runner; compose one instance "
                "(the type is the first template argument of policy_listed_twice<...> in this diagnostic)");
  using type = void;
};

// Turns Runner<Args...> into BasicRunner<Config, Policies...>: options set the config, disabled
// policies and NullSink vanish, everything else must be a Policy.
template <class Config, class Kept, class... Rest>
struct runner_filter;

template <class Config, class... Kept>
struct runner_filter<Config, type_list<Kept...>> {
  using type = BasicRunner<Config, Kept...>;
};

template <class Config, class... Kept, class P, class... Rest>
struct runner_filter<Config, type_list<Kept...>, P, Rest...> {
  // Only the failing branch's diagnostic is instantiated.
  using checked = typename std::conditional_t<Policy<P>, std::type_identity<P>, not_a_policy<P>>::type;
  using unique = typename std::conditional_t<!contains_v<P, Kept...>, std::type_identity<P>,
                                             policy_listed_twice<P, Kept...>>::type;
  using type = typename runner_filter<Config, type_list<Kept..., P>, Rest...>::type;
};

template <class Config, class... Kept, class P, class... Rest>
struct runner_filter<Config, type_list<Kept...>, disabled<P>, Rest...> {
  using type = typename runner_filter<Config, type_list<Kept...>, Rest...>::type;
};

template <class Config, class... Kept, class P, class... Rest>
  requires(P::discards_events)
struct runner_filter<Config, type_list<Kept...>, P, Rest...> {
  using type = typename runner_filter<Config, type_list<Kept...>, Rest...>::type;
};

template <class Config, class... Kept, class C, class... Rest>
struct runner_filter<Config, type_list<Kept...>, use_clock<C>, Rest...> {
  using type =
      typename runner_filter<runner_config<C, typename Config::executor>, type_list<Kept...>, Rest...>::type;
};

template <class Config, class... Kept, class E, class... Rest>
struct runner_filter<Config, type_list<Kept...>, use_executor<E>, Rest...> {
  using type = typename runner_filter<runner_config<typename Config::clock, E>, type_list<Kept...>, Rest...>::type;
};

// Hook invocation: with the policy's run_state first when it takes it, else without.
struct hook_on_run_start {};
struct hook_before_stage {};
struct hook_after_stage {};
struct hook_on_stage_error {};
struct hook_on_run_end {};

template <class P, class Hook>
struct policy_hook_cannot_be_called {
  static_assert(always_false<P>,
                "stageflow: this policy declares a hook the runner cannot call: hooks are const member functions "
                "taking (run) for run hooks or (run, stage) for stage hooks, with the policy's run_state& first "
                "when it has one (the policy and the hook are the template arguments of "
                "policy_hook_cannot_be_called<...> in this diagnostic)");
  static constexpr bool value = false;
};

#define STAGEFLOW_DETAIL_HOOK(hook)                                                                               \
  template <class P, class State, class... Args>                                                                 \
  constexpr bool calls_##hook() {                                                                                 \
    constexpr bool with_state =                                                                                   \
        has_run_state_v<P> && requires(const P& p, State& s, Args&... a) { p.hook(s, a...); };                   \
    constexpr bool plain = requires(const P& p, Args&... a) { p.hook(a...); };                                   \
    if constexpr (with_state || plain)                                                                            \
      return true;                                                                                                \
    else if constexpr (declares_##hook<P>)                                                                        \
      return policy_hook_cannot_be_called<P, hook_##hook>::value;                                                 \
    else                                                                                                          \
      return false;                                                                                               \
  }                                                                                                               \
  template <class P, class State, class... Args>                                                                 \
  void call_##hook(const P& p, State& s, Args&... a) {                                                            \
    if constexpr (has_run_state_v<P> && requires { p.hook(s, a...); })                                            \
      p.hook(s, a...);                                                                                            \
    else                                                                                                          \
      p.hook(a...);                                                                                               \
  }
STAGEFLOW_DETAIL_HOOK(on_run_start)
STAGEFLOW_DETAIL_HOOK(before_stage)
STAGEFLOW_DETAIL_HOOK(after_stage)
STAGEFLOW_DETAIL_HOOK(on_stage_error)
STAGEFLOW_DETAIL_HOOK(on_run_end)
#undef STAGEFLOW_DETAIL_HOOK

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

template <class Snapshot, class Pipeline, class... Stages>
consteval bool check_stages_execute(type_list<Stages...>) {
  return (check_execute<Stages, StageContext<Snapshot, Pipeline, Stages>>() && ...);
}

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

/// What a policy sees of a run: the snapshot, the outputs so far, the reports; and what it can do:
/// emit events, record metrics, end the run.
template <class Runner, class Pipeline, class Snapshot>
class RunContext {
 public:
  using pipeline_type = Pipeline;
  using snapshot_type = Snapshot;
  using result_type = RunResult<Pipeline, Snapshot>;
  using clock = typename Runner::clock;
  template <class S>
  using output_type = stage_output_t<Snapshot, Pipeline, S>;
  static constexpr bool has_event_sink = Runner::has_event_sink;

  const Snapshot& snapshot() const noexcept { return *snapshot_; }
  const boost::uuids::uuid& pipeline_run_id() const noexcept { return result_->pipeline_run_id; }
  const std::stop_token& stop_token() const noexcept { return *stop_; }

  /// S's output, or nullptr when it has none (yet).
  template <class S>
  const output_type<S>* output() const noexcept {
    return result_->template output<S>();
  }
  /// Calls f(name, output) for every stage that has an output so far, in listing order.
  template <class F>
  void for_each_output(F&& f) const {
    for_each_output_impl(f, std::make_index_sequence<Pipeline::size>{});
  }
  std::span<const StageReport> stages() const noexcept { return result_->stages; }
  /// completed while nothing has gone wrong yet.
  RunStatus status() const noexcept { return result_->status; }
  const std::string& error() const noexcept { return result_->error; }
  typename clock::duration elapsed() const { return clock::now() - started_; }

  /// Fails the run after the current hook; no further stage starts.
  void fail(std::string reason) { end(RunStatus::failed, std::move(reason)); }
  /// Cancels the run after the current hook (partial results are kept); no further stage starts.
  void cancel(std::string reason) { end(RunStatus::cancelled, std::move(reason)); }
  bool ending() const noexcept { return ending_; }

  /// Records a number in the RunResult's metrics; `name` must outlive the result (a literal).
  void record_metric(std::string_view stage, std::string_view name, double value) {
    result_->metrics.push_back({stage, name, value});
  }

  /// Sends an event to the runner's sinks; free when it has none.
  void emit(std::string_view type, std::string_view stage = {}, std::initializer_list<EventField> fields = {},
            std::chrono::nanoseconds duration = std::chrono::nanoseconds(-1)) const {
    if constexpr (has_event_sink) {
      Event event{type, result_->pipeline_run_id, stage, duration, std::chrono::system_clock::now(),
                  std::span<const EventField>(fields.begin(), fields.size())};
      runner_->emit_to_sinks(event);
    }
  }

 private:
  template <class, class...>
  friend class BasicRunner;
  template <class, class>
  friend class StageRun;

  RunContext(const Runner& runner, const Snapshot& snapshot, result_type& result, const std::stop_token& stop,
             typename clock::time_point started) noexcept
      : runner_(&runner), snapshot_(&snapshot), result_(&result), stop_(&stop), started_(started),
        last_reading_(started) {}

  void end(RunStatus status, std::string reason) {
    if (ending_ && result_->status == RunStatus::failed) return;  // the first failure is the story
    ending_ = true;
    result_->status = status;
    result_->error = std::move(reason);
  }

  template <class F, std::size_t... I>
  void for_each_output_impl(F& f, std::index_sequence<I...>) const {
    (
        [&] {
          if (const auto& slot = std::get<I>(result_->outputs)) f(Pipeline::names[I], *slot);
        }(),
        ...);
  }

  const Runner* runner_;
  const Snapshot* snapshot_;
  result_type* result_;
  const std::stop_token* stop_;
  typename clock::time_point started_;
  std::array<const void*, Pipeline::size> outputs_{};  // what StageContext::input reads
  typename clock::time_point last_reading_;            // see BasicRunner::chains_clock_readings
  bool ending_ = false;
};

/// What a policy sees of one stage's run: its identity, its context, its outcome.
template <class Run, class S>
class StageRun {
  using pipeline_type = typename Run::pipeline_type;
  using snapshot_type = typename Run::snapshot_type;

 public:
  using stage_type = S;
  using context_type = StageContext<snapshot_type, pipeline_type, S>;
  using output_type = stage_output_t<snapshot_type, pipeline_type, S>;
  static constexpr std::size_t index = pipeline_type::template index_of<S>();
  static constexpr std::string_view name = S::name;

  const S& stage() const noexcept { return *stage_; }
  /// Exactly what the stage's execute receives: its snapshot and its inputs.
  const context_type& context() const noexcept { return *context_; }
  StageStatus status() const noexcept { return report().status; }
  std::chrono::nanoseconds duration() const noexcept { return report().duration; }
  const std::string& reason() const noexcept { return report().reason; }
  /// The stage's output once it has run successfully, else nullptr.
  const output_type* output() const noexcept { return run_->result_->template output<S>(); }

  /// Calls f(name, output) for every upstream stage this stage may read (those it runs after) that
  /// has an output: the inputs the stage sees.
  template <class F>
  void for_each_input(F&& f) const {
    for_each_input_impl(f, std::make_index_sequence<pipeline_type::size>{});
  }

  /// Fails the stage: before it runs, it will not run; after it ran, its output is dropped.
  /// Either way the run fails with this reason.
  void fail(std::string reason) {
    auto& r = run_->result_->stages[index];
    if (r.status == StageStatus::fail) return;  // keep the first reason
    r.status = StageStatus::fail;
    r.reason = std::move(reason);
    std::get<index>(run_->result_->outputs).reset();
    run_->outputs_[index] = nullptr;
  }

 private:
  template <class, class...>
  friend class BasicRunner;

  StageRun(Run& run, const S& stage, const context_type& context) noexcept
      : run_(&run), stage_(&stage), context_(&context) {}
  const StageReport& report() const noexcept { return run_->result_->stages[index]; }

  template <class F, std::size_t... I>
  void for_each_input_impl(F& f, std::index_sequence<I...>) const {
    (
        [&] {
          if constexpr (pipeline_type::plan.ancestor[index][I]) {
            if (const auto& slot = std::get<I>(run_->result_->outputs)) f(pipeline_type::names[I], *slot);
          }
        }(),
        ...);
  }

  Run* run_;
  const S* stage_;
  const context_type* context_;
};

template <class Config, class... Policies>
class BasicRunner {
 public:
  using clock = typename Config::clock;
  using executor_type = typename Config::executor;
  using policy_types = detail::type_list<Policies...>;
  static constexpr bool has_event_sink = (EventSink<Policies> || ...);
  /// Without policies nothing runs between two stages but a few stores, so one clock reading
  /// ends a stage and starts the next: N+1 readings per run instead of 2N+2. (With policies,
  /// hooks run in between and each stage is timed on its own.)
  static constexpr bool chains_clock_readings = sizeof...(Policies) == 0;

  BasicRunner() = default;

  /// Policies by value, in any order; the ones not given are value-initialised. A policy the build
  /// disabled (debug_only, enable_if) is accepted and dropped, so the same code compiles either way.
  template <class... Args>
    requires(sizeof...(Args) > 0 && !(sizeof...(Args) == 1 && (std::is_same_v<std::remove_cvref_t<Args>, BasicRunner> && ...)))
  explicit BasicRunner(Args&&... policies) : policies_(pick<Policies>(std::forward<Args>(policies)...)...) {
    static_assert((Policy<std::remove_cvref_t<Args>> && ...),
                  "stageflow: every Runner constructor argument must be a policy");
  }

  template <class P>
  const P& policy() const noexcept {
    return std::get<P>(policies_);
  }
  template <class P>
  P& policy() noexcept {
    return std::get<P>(policies_);
  }

  /// Runs every stage of `pipeline` on `snapshot`. Never throws because of a stage or a policy:
  /// failures and cancellations are in the result. `stop` is checked before each stage.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, const Snapshot& snapshot,
                                    std::stop_token stop = {}) const {
    static_assert(is_pipeline_v<Pipeline>, "stageflow: Runner::run takes a stageflow::Pipeline<...> first");
    static_assert(detail::check_stages_execute<Snapshot, Pipeline>(typename Pipeline::stage_types{}));
    using Run = RunContext<BasicRunner, Pipeline, Snapshot>;

    RunResult<Pipeline, Snapshot> result;
    for (std::size_t i = 0; i < Pipeline::size; ++i) result.stages[i].name = Pipeline::names[i];
    if (auto id = detail::snapshot_run_id(snapshot))
      result.pipeline_run_id = *id;
    else
      result.pipeline_run_id = helpers::generate_uuid7();

    const auto started = clock::now();
    Run run(*this, snapshot, result, stop, started);
    std::tuple<run_state_t<Policies>...> states{make_run_state(std::get<Policies>(policies_))...};

    run.emit(events::pipeline_started);
    for_each_policy([&]<std::size_t K>() {
      using P = detail::nth_type<K, Policies...>;
      if constexpr (detail::calls_on_run_start<P, run_state_t<P>, Run>()) {
        try {
          detail::call_on_run_start(std::get<K>(policies_), std::get<K>(states), run);
        } catch (...) {
          run.fail(detail::exception_text(std::current_exception()));
        }
      }
    });

    if (!run.ending()) {
      executor_type{}.template execute<Pipeline>(
          [&](auto index) { return run_stage<decltype(index)::value>(pipeline, run, states); });
    }
    const auto finished = chains_clock_readings ? run.last_reading_ : clock::now();
    result.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(finished - started);

    for_each_policy_reversed([&]<std::size_t K>() {
      using P = detail::nth_type<K, Policies...>;
      if constexpr (detail::calls_on_run_end<P, run_state_t<P>, Run>()) {
        try {
          detail::call_on_run_end(std::get<K>(policies_), std::get<K>(states), run);
        } catch (...) {
          run.fail(detail::exception_text(std::current_exception()));
        }
      }
    });

    if constexpr (has_event_sink) {
      switch (result.status) {
        case RunStatus::completed: run.emit(events::pipeline_completed, {}, {}, result.duration); break;
        case RunStatus::failed:
          run.emit(events::pipeline_failed, {}, {{"error", result.error}, {"error_stage", result.error_stage}},
                   result.duration);
          break;
        case RunStatus::cancelled:
          run.emit(events::pipeline_cancelled, {}, {{"reason", result.error}, {"error_stage", result.error_stage}},
                   result.duration);
          break;
      }
    }
    return result;
  }

 private:
  template <class, class, class>
  friend class RunContext;

  // Each policy type is taken from the first argument of that type (copied from an lvalue, moved
  // from an rvalue), or value-initialised. Policy types are unique, so no argument is moved twice.
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

  void emit_to_sinks(const Event& event) const {
    for_each_policy([&]<std::size_t K>() {
      using P = detail::nth_type<K, Policies...>;
      if constexpr (EventSink<P>) {
        try {
          std::get<K>(policies_).emit(event);
        } catch (...) {
          // A sink that throws loses this event; the run goes on.
        }
      }
    });
  }

  /// One stage: stop check, before-hooks, execute, error hooks, after-hooks, events. stage.started
  /// is emitted only when execute is about to be called.
  /// Returns false when the run must stop.
  template <std::size_t I, class Pipeline, class Run, class States>
  bool run_stage(const Pipeline& pipeline, Run& run, States& states) const {
    using S = detail::list_element_t<I, typename Pipeline::stage_types>;
    using Ctx = StageContext<typename Run::snapshot_type, Pipeline, S>;
    auto& result = *run.result_;
    auto& report = result.stages[I];

    if (run.stop_token().stop_requested()) {
      run.cancel("stop requested");
      return false;
    }

    const S& stage = pipeline.template stage_at<I>();
    const Ctx ctx(run.snapshot(), run.outputs_.data(), result.pipeline_run_id, run.stop_token());
    StageRun<Run, S> stage_run(run, stage, ctx);

    // Before-hooks in declaration order, stopping at the first that fails the stage. `reached`
    // counts the policies whose before-hook ran, so only they get an after-hook.
    [[maybe_unused]] std::size_t reached = 0;
    for_each_policy([&]<std::size_t K>() {
      using P = detail::nth_type<K, Policies...>;
      if (report.status == StageStatus::fail) return;
      if constexpr (detail::calls_before_stage<P, run_state_t<P>, Run, StageRun<Run, S>>()) {
        try {
          detail::call_before_stage(std::get<K>(policies_), std::get<K>(states), run, stage_run);
        } catch (...) {
          stage_run.fail(detail::exception_text(std::current_exception()));
        }
      }
      reached = K + 1;
    });

    // A before-hook may have failed the stage, or ended the run: then the stage does not start.
    if (report.status != StageStatus::fail && !run.ending()) {
      run.emit(events::stage_started, S::name);
      const auto t0 = chains_clock_readings ? run.last_reading_ : clock::now();
      try {
        execute_stage<I>(stage, ctx, run);
      } catch (...) {
        report.status = StageStatus::fail;
        report.reason = detail::exception_text(std::current_exception());
      }
      run.last_reading_ = clock::now();
      report.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(run.last_reading_ - t0);
      if (report.status == StageStatus::fail) {
        for_each_policy_reversed([&]<std::size_t K>() {
          using P = detail::nth_type<K, Policies...>;
          if constexpr (detail::calls_on_stage_error<P, run_state_t<P>, Run, StageRun<Run, S>>()) {
            try {
              detail::call_on_stage_error(std::get<K>(policies_), std::get<K>(states), run, stage_run);
            } catch (...) {
              // The stage has already failed; its reason stays the stage's own.
            }
          }
        });
      }
    }

    for_each_policy_reversed([&]<std::size_t K>() {
      using P = detail::nth_type<K, Policies...>;
      if constexpr (detail::calls_after_stage<P, run_state_t<P>, Run, StageRun<Run, S>>()) {
        if (K < reached) {
          try {
            detail::call_after_stage(std::get<K>(policies_), std::get<K>(states), run, stage_run);
          } catch (...) {
            stage_run.fail(detail::exception_text(std::current_exception()));
          }
        }
      }
    });

    if constexpr (has_event_sink) emit_stage_outcome<S>(run, report);

    switch (report.status) {
      case StageStatus::fail:
        if (!(run.ending() && result.status == RunStatus::failed)) {
          run.fail(report.reason);
          result.error_stage = S::name;
        }
        return false;
      case StageStatus::cancel:
        if (!run.ending()) {
          run.cancel(report.reason);
          result.error_stage = S::name;
        }
        return false;
      default:
        return !run.ending();
    }
  }

  template <std::size_t I, class S, class Ctx, class Run>
  static void execute_stage(const S& stage, const Ctx& ctx, Run& run) {
    using Result = stage_result_t<typename Run::snapshot_type, typename Run::pipeline_type, S>;
    auto& result = *run.result_;
    auto& report = result.stages[I];
    auto& slot = std::get<I>(result.outputs);
    if constexpr (std::is_void_v<Result>) {
      detail::invoke_execute(stage, ctx);
      slot.emplace();
    } else if constexpr (std::is_same_v<Result, StageOutput<void>>) {
      StageOutput<void> out = detail::invoke_execute(stage, ctx);
      report.status = out.status();
      if (out.is_ok()) slot.emplace();
      else report.reason = out.reason();
    } else if constexpr (is_stage_output_v<Result>) {
      Result out = detail::invoke_execute(stage, ctx);
      report.status = out.status();
      if (out.is_ok()) slot.emplace(std::move(out).value());
      else report.reason = out.reason();
    } else {
      slot.emplace(detail::invoke_execute(stage, ctx));
    }
    if (slot) {
      report.status = StageStatus::ok;
      run.outputs_[I] = &*slot;
    }
  }

  template <class S, class Run>
  static void emit_stage_outcome(const Run& run, const StageReport& report) {
    switch (report.status) {
      case StageStatus::ok: run.emit(events::stage_completed, S::name, {}, report.duration); break;
      case StageStatus::skip:
        run.emit(events::stage_skipped, S::name, {{"reason", report.reason}}, report.duration);
        break;
      case StageStatus::cancel:
        run.emit(events::stage_cancelled, S::name, {{"reason", report.reason}}, report.duration);
        break;
      case StageStatus::fail:
        run.emit(events::stage_failed, S::name, {{"error", report.reason}}, report.duration);
        break;
      case StageStatus::not_run: break;
    }
  }

  STAGEFLOW_NO_UNIQUE_ADDRESS std::tuple<Policies...> policies_;
};

/// The runner type for these policies and options: disabled policies, NullSink and options are
/// filtered out, so Runner<debug_only<P>> is exactly Runner<> when P is off.
template <class... PoliciesAndOptions>
using Runner = typename detail::runner_filter<detail::default_runner_config, detail::type_list<>,
                                              PoliciesAndOptions...>::type;

}  // namespace stageflow
