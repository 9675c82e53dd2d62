// SPDX-License-Identifier: BSL-1.0
// OptionalPolicy<P>: a policy switched on or off at run time.
//
// debug_only<P> and enable_if<B, P> decide at compile time and cost nothing when off. When the
// decision is a runtime flag (a config file, PipelineRunner's enable_* options), wrap the policy:
//
//   stageflow::Runner<stageflow::OptionalPolicy<ContextSizeInterceptor>> runner{
//       config.audit ? stageflow::OptionalPolicy(ContextSizeInterceptor{}) : stageflow::OptionalPolicy<ContextSizeInterceptor>{}};
//
// Off, each of P's hooks costs one predictable branch; P's run_state and stage_state are not even
// constructed. Every hook of <stageflow/runner/hooks.hpp> is forwarded the same generic way.
#pragma once

#include <stageflow/runner/hooks.hpp>
#include <stageflow/runner/policy.hpp>

#include <optional>
#include <utility>

namespace stageflow {

template <class P>
class OptionalPolicy {
 public:
  /// Off.
  OptionalPolicy() = default;
  /// On, with this policy.
  explicit OptionalPolicy(P policy) : policy_(std::move(policy)) {}

  bool enabled() const noexcept { return policy_.has_value(); }
  /// The policy; only when enabled().
  const P& get() const { return *policy_; }
  P& get() { return *policy_; }

  /// P's states, when P is on.
  using run_state = std::optional<run_state_t<P>>;
  using stage_state = std::optional<stage_state_t<P>>;
  /// The runner need not lock around P's hooks when P has no run_state or locks for itself.
  static constexpr bool synchronizes_run_state = !has_run_state_v<P> || synchronizes_run_state_v<P>;
  /// Off, its hooks are one branch each; on, they are P's.
  static constexpr bool light_hooks = light_hooks_v<P>;

  run_state make_run_state() const {
    if (!policy_) return std::nullopt;
    return stageflow::make_run_state(*policy_);
  }
  stage_state make_stage_state() const {
    if (!policy_) return std::nullopt;
    return stageflow::make_stage_state(*policy_);
  }

  template <class Run>
  void on_run_start(run_state& rs, Run& run) const {
    forward<hooks::on_run_start>(rs, nullptr, run);
  }
  template <class Run, class Stage>
  void before_stage(run_state& rs, stage_state& ss, Run& run, Stage& stage) const {
    forward<hooks::before_stage>(rs, &ss, run, stage);
  }
  template <class Run, class Stage>
  void after_stage(run_state& rs, stage_state& ss, Run& run, Stage& stage) const {
    forward<hooks::after_stage>(rs, &ss, run, stage);
  }
  template <class Run, class Stage>
  void on_stage_error(run_state& rs, stage_state& ss, Run& run, Stage& stage) const {
    forward<hooks::on_stage_error>(rs, &ss, run, stage);
  }
  template <class Run>
  void on_run_end(run_state& rs, Run& run) const {
    forward<hooks::on_run_end>(rs, nullptr, run);
  }
  void emit(const Event& event) const
    requires EventSink<P>
  {
    if (policy_) policy_->emit(event);
  }

 private:
  template <class Hook, class StageStatePtr, class... Args>
  void forward(run_state& rs, StageStatePtr ss, Args&... args) const {
    if constexpr (hooks::implements<Hook, P, run_state_t<P>, stage_state_t<P>, Args...>()) {
      if (!policy_) return;
      detail::no_stage_state none;
      if constexpr (std::is_null_pointer_v<StageStatePtr>)
        hooks::call_hook<Hook>(*policy_, *rs, none, args...);
      else
        hooks::call_hook<Hook>(*policy_, *rs, **ss, args...);
    }
  }

  std::optional<P> policy_;
};

}  // namespace stageflow
