// SPDX-License-Identifier: BSL-1.0
// StageContext: what a stage sees while it runs.
//
//   Reply execute(const auto& ctx) const {
//     const ContextSnapshot& snap = ctx.snapshot();                 // the run's input, const
//     const Profile* profile = stageflow::input<Enrich>(ctx);       // nullptr if Enrich skipped
//     if (ctx.stop_requested()) return {};                          // cooperative cancellation
//     ...
//   }
//
// A stage may read the output of any stage it runs after (directly or through its dependencies);
// reading another stage's output is a compile error, because in a concurrent run it might not exist
// yet. The output type of a stage is what its `execute` returns, with awaitable<T> and StageOutput<T>
// unwrapped to T and `void` mapped to std::monostate.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_output.hpp>

#include <boost/uuid/uuid.hpp>

#include <cstddef>
#include <stop_token>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace stageflow {

template <class Snapshot, class Pipeline, class Self>
class StageContext;

namespace detail {

template <class T>
struct unwrap_stage_result {
  using type = T;
};
template <class T>
struct unwrap_stage_result<StageOutput<T>> {
  using type = T;
};
template <>
struct unwrap_stage_result<void> {
  using type = std::monostate;
};
template <>
struct unwrap_stage_result<StageOutput<void>> {
  using type = std::monostate;
};
template <class T, class E>
struct unwrap_stage_result<boost::asio::awaitable<T, E>> : unwrap_stage_result<T> {};  // an async stage

template <class S, class Context>
concept executes_with_context = requires(const S& stage, const Context& ctx) { stage.execute(ctx); };
template <class S>
concept executes_without_context = requires(const S& stage) { stage.execute(); };
template <class S, class Context>
concept executes_only_when_mutable = requires(S& stage, const Context& ctx) { stage.execute(ctx); } ||
                                     requires(S& stage) { stage.execute(); };

/// Checks that S can run with Context; each failure is one static_assert naming S in its
/// instantiation note. (execute_result_t below stays valid either way, so nothing cascades.)
template <class S, class Context>
consteval bool check_execute() {
  static_assert(executes_with_context<S, Context> || executes_without_context<S> ||
                    !executes_only_when_mutable<S, Context>,
                "stageflow: a stage's execute must be const (execute(ctx) const or execute() const): stages are "
                "shared by every run of a pipeline, concurrent ones included; keep per-run data in outputs "
                "(the stage is the first template argument of check_execute<...> in this diagnostic)");
  static_assert(executes_with_context<S, Context> || executes_without_context<S> ||
                    executes_only_when_mutable<S, Context>,
                "stageflow: a stage needs `execute(const auto& ctx) const` or `execute() const` returning its "
                "output, a StageOutput<T>, or void (the stage is the first template argument of "
                "check_execute<...> in this diagnostic)");
  return true;
}

struct no_execute_result {
  using type = std::monostate;
};

template <class S, class Context>
struct result_with_context {
  using type = decltype(std::declval<const S&>().execute(std::declval<const Context&>()));
};
template <class S>
struct result_without_context {
  using type = decltype(std::declval<const S&>().execute());
};

/// What S::execute returns given Context (std::monostate when it cannot run: check_execute says why).
template <class S, class Context>
using execute_result_t = typename std::conditional_t<
    executes_with_context<S, Context>, result_with_context<S, Context>,
    std::conditional_t<executes_without_context<S>, result_without_context<S>, no_execute_result>>::type;

/// Calls the stage's execute with or without the context, whichever it takes.
template <class S, class Context>
decltype(auto) invoke_execute(const S& stage, const Context& ctx) {
  if constexpr (executes_with_context<S, Context>)
    return stage.execute(ctx);
  else if constexpr (executes_without_context<S>)
    return stage.execute();
  else
    return std::monostate{};  // diagnosed by check_execute
}

}  // namespace detail

/// What S::execute returns when run in Pipeline on Snapshot (before unwrapping StageOutput).
template <class Snapshot, class Pipeline, class S>
using stage_result_t = detail::execute_result_t<S, StageContext<Snapshot, Pipeline, S>>;

/// True when S is an async stage: its execute returns boost::asio::awaitable<...>.
template <class Snapshot, class Pipeline, class S>
inline constexpr bool is_async_stage_v = is_awaitable_v<stage_result_t<Snapshot, Pipeline, S>>;

/// The output type of S: its result with StageOutput<T> unwrapped and void as std::monostate.
template <class Snapshot, class Pipeline, class S>
using stage_output_t = typename detail::unwrap_stage_result<stage_result_t<Snapshot, Pipeline, S>>::type;

template <class Snapshot, class Pipeline, class Self>
class StageContext {
 public:
  using snapshot_type = Snapshot;
  using pipeline_type = Pipeline;
  using stage_type = Self;

  /// Built by the runner. `outputs[i]` points at stage i's output, or is null while it has none.
  StageContext(const Snapshot& snapshot, const void* const* outputs, const boost::uuids::uuid& pipeline_run_id,
               const std::stop_token& stop) noexcept
      : snapshot_(&snapshot), outputs_(outputs), pipeline_run_id_(&pipeline_run_id), stop_(&stop) {}

  const Snapshot& snapshot() const noexcept { return *snapshot_; }

  /// The output of upstream stage S, or nullptr when S skipped.
  template <class S>
  const stage_output_t<Snapshot, Pipeline, S>* input() const noexcept {
    static_assert(Pipeline::template contains<S>, "stageflow: input<S>(): S is not a stage of this pipeline");
    static_assert(Pipeline::template runs_after<Self, S>(),
                  "stageflow: a stage may read only the outputs of stages it runs after; add S to its "
                  "depends_on (directly, or through one of its dependencies)");
    return static_cast<const stage_output_t<Snapshot, Pipeline, S>*>(outputs_[Pipeline::template index_of<S>()]);
  }

  static constexpr std::string_view stage_name() noexcept { return Self::name; }
  const boost::uuids::uuid& pipeline_run_id() const noexcept { return *pipeline_run_id_; }
  /// True once the run's std::stop_token asks to stop: long stages should check it and return.
  bool stop_requested() const noexcept { return stop_->stop_requested(); }
  const std::stop_token& stop_token() const noexcept { return *stop_; }
  /// Which attempt of this stage this is, from 1 (above 1 only for a stage that declares `retry`).
  unsigned attempt() const noexcept {
    if constexpr (has_retry<Self>)
      return attempt_;
    else
      return 1;
  }
  /// For the runner: the next attempt begins.
  void next_attempt() noexcept
    requires has_retry<Self>
  {
    ++attempt_;
  }

 private:
  struct one_attempt {
    constexpr one_attempt(unsigned) noexcept {}
  };
  const Snapshot* snapshot_;
  const void* const* outputs_;
  const boost::uuids::uuid* pipeline_run_id_;
  const std::stop_token* stop_;
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<has_retry<Self>, unsigned, one_attempt> attempt_{1};
};

/// `stageflow::input<Upstream>(ctx)`: the same as `ctx.template input<Upstream>()`, without the
/// `template` keyword that a generic `const auto& ctx` would need.
template <class Upstream, class Snapshot, class Pipeline, class Self>
const stage_output_t<Snapshot, Pipeline, Upstream>* input(const StageContext<Snapshot, Pipeline, Self>& ctx) noexcept {
  return ctx.template input<Upstream>();
}

}  // namespace stageflow
