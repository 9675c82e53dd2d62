// SPDX-License-Identifier: BSL-1.0
// The policy protocol of Runner<Policies...>.
//
// A policy is a class with any subset of these const member functions (templates are fine):
//
//   void on_run_start(RunContext& run) const;                          // before the first stage
//   void before_stage(RunContext& run, StageRun& stage) const;         // declaration order
//   void after_stage(RunContext& run, StageRun& stage) const;          // reverse order
//   void on_stage_error(RunContext& run, StageRun& stage) const;       // reverse order, the stage failed
//   void on_run_end(RunContext& run) const;                            // reverse order, after the last stage
//   void emit(const Event& event) const;                               // makes the policy an event sink
//
// A policy is configuration, shared by every run of a runner. When it needs state for one run it
// declares `using run_state = S;` (or a nested `struct run_state`), made per run by
// `make_run_state()` if it has one, else value-initialised; each hook then takes `run_state&` first:
//
//   void before_stage(run_state& state, RunContext& run, StageRun& stage) const;
//
// State for one stage execution (a sample taken before the stage, to compare after it) belongs in
// `using stage_state = T;` (made by `make_stage_state()` or value-initialised, once per stage
// execution); the stage hooks then take it after run_state, or first when there is no run_state:
//
//   void after_stage(run_state& rs, stage_state& ss, RunContext& run, StageRun& stage) const;
//   void after_stage(stage_state& ss, RunContext& run, StageRun& stage) const;
//
// Under a concurrent executor (ParallelExecutor) the hooks of different stages may run at the same
// time; the hooks of one stage always run in order around it. The runner serializes every hook
// call that receives a policy's run_state (one lock per policy per run), unless the policy declares
// `static constexpr bool synchronizes_run_state = true;` (it locks for itself). stage_state needs no
// lock: it belongs to one stage execution. The table of hooks, their order and what a throw does is
// in <stageflow/runner/hooks.hpp>.
//
// A policy whose hooks (and emit) take a few nanoseconds and never block (a counter, an atomic
// load) declares `static constexpr bool light_hooks = true;`. When every policy of a runner does and
// its stages run one at a time, one clock reading ends a stage and starts the next, as in Runner<>:
// the light hooks between two stages then count in the second one's duration (and the last stage's
// after-hooks in no duration). Otherwise each stage takes its own two readings around execute().
//
// A hook fails a stage with `stage.fail(reason)` and ends the run with `run.fail(reason)` or
// `run.cancel(reason)`; a hook that throws fails its stage (or, at run level, the run) with the
// exception's message. After-hooks run for every policy whose before-hook was reached, like
// destructors.
#pragma once

#include <stageflow/core/events.hpp>

#include <type_traits>

namespace stageflow {

namespace detail {

// Detects that a class declares a member with a hook's name, whatever its signature: the name
// becomes ambiguous in a class deriving from both. This is what lets the runner say "your
// before_stage has the wrong signature" instead of silently never calling it.
struct hook_names {
  void on_run_start();
  void before_stage();
  void after_stage();
  void on_stage_error();
  void on_run_end();
  void emit();
};
template <class P>
struct hook_name_probe : P, hook_names {};

template <class P>
concept probeable = std::is_class_v<P> && !std::is_final_v<P>;

#define STAGEFLOW_DETAIL_DECLARES(hook) \
  template <class P>                    \
  concept declares_##hook = probeable<P> && !requires { &hook_name_probe<P>::hook; };
STAGEFLOW_DETAIL_DECLARES(on_run_start)
STAGEFLOW_DETAIL_DECLARES(before_stage)
STAGEFLOW_DETAIL_DECLARES(after_stage)
STAGEFLOW_DETAIL_DECLARES(on_stage_error)
STAGEFLOW_DETAIL_DECLARES(on_run_end)
STAGEFLOW_DETAIL_DECLARES(emit)
#undef STAGEFLOW_DETAIL_DECLARES

template <class P>
concept declares_any_hook = declares_on_run_start<P> || declares_before_stage<P> || declares_after_stage<P> ||
                            declares_on_stage_error<P> || declares_on_run_end<P> || declares_emit<P>;

/// The state types of a policy that has none.
struct no_run_state {};
struct no_stage_state {};

/// Member<P> when P has it, else Default.
template <class P, template <class> class Member, class Default>
struct member_type_or {
  using type = Default;
};
template <class P, template <class> class Member, class Default>
  requires requires { typename Member<P>; }
struct member_type_or<P, Member, Default> {
  using type = Member<P>;
};
template <class P>
using run_state_member = typename P::run_state;
template <class P>
using stage_state_member = typename P::stage_state;

}  // namespace detail

/// A policy's per-run state type (detail::no_run_state when it declares none).
template <class P>
using run_state_t = typename detail::member_type_or<P, detail::run_state_member, detail::no_run_state>::type;

template <class P>
inline constexpr bool has_run_state_v = !std::is_same_v<run_state_t<P>, detail::no_run_state>;

/// A class that declares at least one hook or `emit`, and can be copied into a runner.
/// (A final class cannot be inspected for names; it is accepted on trust.)
template <class P>
concept Policy = std::is_class_v<P> && std::is_copy_constructible_v<P> &&
                 (detail::declares_any_hook<P> || std::is_final_v<P>);

/// A policy's per-stage-execution state type (detail::no_stage_state when it declares none).
template <class P>
using stage_state_t = typename detail::member_type_or<P, detail::stage_state_member, detail::no_stage_state>::type;

template <class P>
inline constexpr bool has_stage_state_v = !std::is_same_v<stage_state_t<P>, detail::no_stage_state>;

/// True when a policy synchronizes its own run_state, so the runner need not lock around its hooks.
template <class P>
inline constexpr bool synchronizes_run_state_v = requires { requires P::synchronizes_run_state; };

/// True when a policy declares `light_hooks = true` (see the top of this file).
template <class P>
inline constexpr bool light_hooks_v = requires { requires P::light_hooks; };

/// Makes a policy's state for one stage execution.
template <class P>
stage_state_t<P> make_stage_state(const P& policy) {
  if constexpr (requires { { policy.make_stage_state() } -> std::convertible_to<stage_state_t<P>>; })
    return policy.make_stage_state();
  else
    return stage_state_t<P>{};
}

/// Makes a policy's state for one run.
template <class P>
run_state_t<P> make_run_state(const P& policy) {
  if constexpr (requires { { policy.make_run_state() } -> std::convertible_to<run_state_t<P>>; })
    return policy.make_run_state();
  else
    return run_state_t<P>{};
}

}  // namespace stageflow
