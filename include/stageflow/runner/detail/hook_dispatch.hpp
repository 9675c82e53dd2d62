// SPDX-License-Identifier: BSL-1.0
// The one dispatcher of policy hooks: calls a hook on every policy that implements it, in the
// hook's order, with the hook's rule for a throw (the table is in <stageflow/runner/hooks.hpp>).
#pragma once

#include <stageflow/detail/type_list.hpp>
#include <stageflow/runner/hooks.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/run_core.hpp>

#include <array>
#include <cstddef>
#include <exception>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

namespace stageflow::detail {

inline std::string exception_text(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

template <class... Policies>
struct HookDispatch {
  static constexpr std::size_t count = sizeof...(Policies);
  using stage_states_type = std::tuple<stage_state_t<Policies>...>;
  /// What run-level hooks get in place of stage states (they take none).
  using no_stage_states = std::array<no_stage_state, sizeof...(Policies)>;

  static stage_states_type make_stage_states(const std::tuple<Policies...>& policies) {
    return stage_states_type{make_stage_state(std::get<Policies>(policies))...};
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

  /// Calls Hook on every policy of `frame` that implements it. Returns how many policies a
  /// before_stage reached (after_stage runs only for those).
  template <class Hook, class Frame, class StageStates, class... StageArg>
  static std::size_t call(Frame& frame, StageStates& stage_states, [[maybe_unused]] std::size_t reached,
                          StageArg&... stage) {
    using Run = typename Frame::run_type;
    std::size_t visited = 0;
    auto one = [&]<std::size_t K>() {
      using P = nth_type<K, Policies...>;
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
            frame.core.end(RunStatus::failed, exception_text(std::current_exception()));
          else if constexpr (Hook::on_throw == hooks::OnThrow::fail_stage)
            (stage.fail(exception_text(std::current_exception())), ...);
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
    if constexpr (Frame::concurrent && has_run_state_v<P> && !synchronizes_run_state_v<P>)
      return std::unique_lock<std::mutex>(frame.policy_locks[K]);
    else
      return no_lock{};
  }
};

}  // namespace stageflow::detail
