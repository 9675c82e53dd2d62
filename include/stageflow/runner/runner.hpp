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
// This header is the facade: it builds a RunRequest (<stageflow/runner/run_request.hpp>) and hands
// it to the engine (detail/run_engine.hpp). The hooks and their order are in
// <stageflow/runner/hooks.hpp>, what they see in <stageflow/runner/run_context.hpp>, the executor
// protocol in <stageflow/runner/executor.hpp>.
// A pipeline with async stages (execute returns boost::asio::awaitable) runs with async_run, from
// <stageflow/runner/async_run.hpp>.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/runner/detail/run_engine.hpp>
#include <stageflow/runner/detail/runner_filter.hpp>
#include <stageflow/runner/executor.hpp>
#include <stageflow/runner/hooks.hpp>
#include <stageflow/runner/options.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/run_context.hpp>
#include <stageflow/runner/run_options.hpp>
#include <stageflow/runner/run_request.hpp>
#include <stageflow/runner/sequential_executor.hpp>

#include <concepts>
#include <memory>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

namespace stageflow {

struct ContextSnapshot;

namespace detail {
/// Runner::resume; defined by <stageflow/store/checkpoint.hpp>, which a program that resumes runs
/// includes (so the runner never sees the stores' headers).
template <class Runner>
struct Resume;
}  // namespace detail

template <class Config, class... Policies>
class BasicRunner {
  using engine = detail::Engine<BasicRunner>;

 public:
  using clock = typename Config::clock;
  using executor_type = typename Config::executor;
  using policy_types = detail::type_list<Policies...>;
  using policies_type = std::tuple<Policies...>;
  using run_states_type = std::tuple<run_state_t<Policies>...>;
  static constexpr bool has_event_sink = (EventSink<Policies> || ...);
  /// True when stages of one run may run at the same time (the executor is concurrent).
  static constexpr bool concurrent = executor_type::concurrent;
  /// True when every policy declares `light_hooks` (or there is none).
  static constexpr bool light_policies = (light_hooks_v<Policies> && ...);
  /// Without concurrency and with light policies only, one clock reading ends a stage and starts the next.
  static constexpr bool chains_clock_readings = light_policies && !concurrent;

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
  const policies_type& policies() const noexcept { return policies_; }
  const executor_type& executor() const noexcept { return executor_; }

  /// Runs every stage of `pipeline` on `snapshot`. Never throws because of a stage or a policy:
  /// failures, cancellations and timeouts are in the result.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, const Snapshot& snapshot) const {
    return run_plain(pipeline, snapshot, std::stop_token{});
  }
  /// The same; `stop` cancels the run. (A template, so that run(p, s, {}) means RunOptions.)
  template <class Pipeline, class Snapshot, std::same_as<std::stop_token> Stop>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, const Snapshot& snapshot, const Stop& stop) const {
    return run_plain(pipeline, snapshot, stop);
  }
  /// The same, with options (see <stageflow/runner/run_options.hpp>). DeadlineMode::abandon
  /// needs the snapshot as a std::shared_ptr<const Snapshot>; by reference the run fails at once.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, const Snapshot& snapshot, RunOptions options) const {
    check_synchronous<Pipeline, Snapshot>();
    return engine::run(*this, pipeline, make_run_request(snapshot, {}, std::move(options)));
  }
  /// A run that owns its snapshot: the only kind that may abandon stages at its deadline.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run(const Pipeline& pipeline, std::shared_ptr<const Snapshot> snapshot,
                                    RunOptions options = {}) const {
    check_synchronous<Pipeline, Snapshot>();
    const Snapshot& view = *snapshot;
    return engine::run(*this, pipeline, make_run_request(view, std::move(snapshot), std::move(options)));
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
    check_runnable<Pipeline, Snapshot>();
    return detail::AsyncRun<BasicRunner>::initiate(
        *this, pipeline, make_run_request(snapshot, {}, std::move(options), RunEntry::async_run),
        std::forward<Token>(token));
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
    check_runnable<Pipeline, Snapshot>();
    const Snapshot& view = *snapshot;
    return detail::AsyncRun<BasicRunner>::initiate(
        *this, pipeline, make_run_request(view, std::move(snapshot), std::move(options), RunEntry::async_run),
        std::forward<Token>(token));
  }

  /// Continues run `run_id` from its latest checkpoint in `store`: the completed stages' outputs are
  /// restored and only the rest run. Needs <stageflow/store/checkpoint.hpp> and a
  /// store::Checkpoint<Store> policy in this runner; the snapshot type, when not ContextSnapshot, is
  /// named: `runner.resume<MySnapshot>(pipeline, id, store)`. Throws store::StoreNotFoundError when
  /// the run has no checkpoint, store::StoreCorruptionError when it does not check out, and
  /// store::CheckpointError when it does not fit this pipeline and snapshot type.
  template <class Snapshot = ContextSnapshot, class Pipeline, class Store, class RunId>
  RunResult<Pipeline, Snapshot> resume(const Pipeline& pipeline, const RunId& run_id, Store& store,
                                       RunOptions options = {}) const {
    check_synchronous<Pipeline, Snapshot>();
    return detail::Resume<BasicRunner>::template run<Snapshot>(*this, pipeline, run_id, store, std::move(options));
  }

 private:
  template <class Pipeline, class Snapshot>
  static constexpr void check_runnable() {
    static_assert(is_pipeline_v<Pipeline>, "stageflow: Runner::run takes a stageflow::Pipeline<...> first");
    static_assert(detail::check_stages_execute<Snapshot, Pipeline>(typename Pipeline::stage_types{}));
  }
  template <class Pipeline, class Snapshot>
  static constexpr void check_synchronous() {
    check_runnable<Pipeline, Snapshot>();
    static_assert(!detail::has_awaitable_stage<Snapshot, Pipeline>(typename Pipeline::stage_types{}),
                  "stageflow: this pipeline has async stages (execute returns boost::asio::awaitable): run it with "
                  "`co_await runner.async_run(pipeline, snapshot, options)` from <stageflow/runner/async_run.hpp>, "
                  "not with run()");
  }

  /// run(p, s) and run(p, s, stop): no options to validate, so a sequential run goes straight on.
  template <class Pipeline, class Snapshot>
  RunResult<Pipeline, Snapshot> run_plain(const Pipeline& pipeline, const Snapshot& snapshot,
                                          const std::stop_token& stop) const {
    check_synchronous<Pipeline, Snapshot>();
    if constexpr (concurrent)
      return engine::run(*this, pipeline, make_run_request(snapshot, {}, RunOptions{.stop = stop}));
    else
      return engine::template run_sequential<false>(*this, pipeline, snapshot, stop, {}, {});
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

  STAGEFLOW_NO_UNIQUE_ADDRESS executor_type executor_;
  STAGEFLOW_NO_UNIQUE_ADDRESS policies_type policies_;
};

/// The runner type for these policies and options: disabled policies, NullSink and options are
/// filtered out, so Runner<debug_only<P>> is exactly Runner<> when P is off.
template <class... PoliciesAndOptions>
using Runner = typename detail::runner_filter<detail::default_runner_config, detail::type_list<>,
                                              PoliciesAndOptions...>::type;

}  // namespace stageflow
