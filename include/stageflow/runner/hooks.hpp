// SPDX-License-Identifier: BSL-1.0
// The hooks of the policy protocol, in one table, and the one dispatcher that calls them.
//
//   hook            level  order                   a hook that throws ...
//   on_run_start    run    declaration order       fails the run (no stage starts)
//   before_stage    stage  declaration order       fails the stage: it does not run; later policies'
//                                                  before_stage are not called
//   on_stage_error  stage  reverse                 is ignored: the stage already failed, and its
//                                                  reason stays the stage's own
//   after_stage     stage  reverse, only policies  fails the stage (its output is dropped), like a
//                          whose before_stage ran  destructor that reports
//   on_run_end      run    reverse                 fails the run
//   emit            -      declaration order       loses that event; the run goes on
//
// A hook takes (run) or (run, stage); a policy with a run_state gets `run_state&` first, and stage
// hooks of a policy with a stage_state get `stage_state&` next (see <stageflow/runner/policy.hpp>).
// Whatever a policy declares is matched here once, generically: the runner and OptionalPolicy both
// call `call_hook<Hook>`, so a new hook or a new state kind is added in this file alone.
#pragma once

#include <stageflow/detail/type_list.hpp>
#include <stageflow/runner/policy.hpp>

namespace stageflow::hooks {

enum class Level : unsigned char { run, stage };
enum class Order : unsigned char { declaration, reverse };
enum class OnThrow : unsigned char { fail_run, fail_stage, ignore };

#define STAGEFLOW_DETAIL_HOOK(hook_name, hook_level, hook_order, hook_on_throw, only_reached)     \
  struct hook_name {                                                                            \
    static constexpr const char* name = #hook_name;                                             \
    static constexpr Level level = Level::hook_level;                                           \
    static constexpr Order order = Order::hook_order;                                           \
    static constexpr OnThrow on_throw = OnThrow::hook_on_throw;                                 \
    /* after_stage runs only for the policies whose before_stage was reached */                \
    static constexpr bool only_policies_reached = only_reached;                                 \
    template <class P>                                                                          \
    static constexpr bool declared = ::stageflow::detail::declares_##hook_name<P>;                           \
    template <class P, class... Args>                                                           \
    static constexpr bool callable = requires(const P& p, Args&... a) { p.hook_name(a...); };  \
    template <class P, class... Args>                                                           \
    static void call(const P& p, Args&... a) {                                                  \
      p.hook_name(a...);                                                                        \
    }                                                                                           \
  };
STAGEFLOW_DETAIL_HOOK(on_run_start, run, declaration, fail_run, false)
STAGEFLOW_DETAIL_HOOK(before_stage, stage, declaration, fail_stage, false)
STAGEFLOW_DETAIL_HOOK(on_stage_error, stage, reverse, ignore, false)
STAGEFLOW_DETAIL_HOOK(after_stage, stage, reverse, fail_stage, true)
STAGEFLOW_DETAIL_HOOK(on_run_end, run, reverse, fail_run, false)
#undef STAGEFLOW_DETAIL_HOOK

template <class P, class Hook>
struct policy_hook_cannot_be_called {
  static_assert(::stageflow::detail::always_false<P>,
                "stageflow: this policy declares a hook the runner cannot call: hooks are const member functions "
                "taking (run) for run hooks or (run, stage) for stage hooks, with the policy's run_state& first "
                "when it has one and its stage_state& next for stage hooks (the policy and the hook are the "
                "template arguments of policy_hook_cannot_be_called<...> in this diagnostic)");
  static constexpr bool value = false;
};

namespace detail {
// The state arguments P's hook receives, most specific first.
template <class Hook, class P, class RunState, class StageState, class... Args>
constexpr int signature() {
  constexpr bool rs = has_run_state_v<P>;
  constexpr bool ss = has_stage_state_v<P> && Hook::level == Level::stage;
  if constexpr (rs && ss && Hook::template callable<P, RunState, StageState, Args...>)
    return 3;
  else if constexpr (ss && Hook::template callable<P, StageState, Args...>)
    return 2;
  else if constexpr (rs && Hook::template callable<P, RunState, Args...>)
    return 1;
  else if constexpr (Hook::template callable<P, Args...>)
    return 0;
  else
    return -1;
}
}  // namespace detail

/// True when P implements Hook for these arguments (Args: the run, and the stage for stage hooks).
/// A hook P declares with a signature the runner cannot call is a compile error saying so.
template <class Hook, class P, class RunState, class StageState, class... Args>
constexpr bool implements() {
  if constexpr (detail::signature<Hook, P, RunState, StageState, Args...>() >= 0)
    return true;
  else if constexpr (Hook::template declared<P>)
    return policy_hook_cannot_be_called<P, Hook>::value;
  else
    return false;
}

/// Calls P's Hook with the states it takes.
template <class Hook, class P, class RunState, class StageState, class... Args>
void call_hook(const P& p, RunState& run_state, StageState& stage_state, Args&... args) {
  constexpr int form = detail::signature<Hook, P, RunState, StageState, Args...>();
  if constexpr (form == 3)
    Hook::call(p, run_state, stage_state, args...);
  else if constexpr (form == 2)
    Hook::call(p, stage_state, args...);
  else if constexpr (form == 1)
    Hook::call(p, run_state, args...);
  else
    Hook::call(p, args...);
}

}  // namespace stageflow::hooks
