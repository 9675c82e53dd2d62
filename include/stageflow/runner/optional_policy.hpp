// OptionalPolicy<P>: a policy switched on or off at run time.
//
// debug_only<P> and enable_if<B, P> decide at compile time and cost nothing when off. When the
// decision is a runtime flag (a config file, PipelineRunner's enable_* options), wrap the policy:
//
//   stageflow::Runner<stageflow::OptionalPolicy<ContextSizeInterceptor>> runner{
//       config.audit ? stageflow::OptionalPolicy(ContextSizeInterceptor{}) : stageflow::OptionalPolicy<ContextSizeInterceptor>{}};
//
// Off, each of P's hooks costs one predictable branch; P's run_state is not even constructed.
#pragma once

#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/runner.hpp>

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

  /// P's state for one run, when P is on.
  using run_state = std::optional<run_state_t<P>>;
  run_state make_run_state() const {
    if (!policy_) return std::nullopt;
    return stageflow::make_run_state(*policy_);
  }

  template <class Run>
  void on_run_start(run_state& state, Run& run) const {
    if constexpr (detail::calls_on_run_start<P, run_state_t<P>, Run>())
      if (policy_) detail::call_on_run_start(*policy_, *state, run);
  }
  template <class Run, class Stage>
  void before_stage(run_state& state, Run& run, Stage& stage) const {
    if constexpr (detail::calls_before_stage<P, run_state_t<P>, Run, Stage>())
      if (policy_) detail::call_before_stage(*policy_, *state, run, stage);
  }
  template <class Run, class Stage>
  void after_stage(run_state& state, Run& run, Stage& stage) const {
    if constexpr (detail::calls_after_stage<P, run_state_t<P>, Run, Stage>())
      if (policy_) detail::call_after_stage(*policy_, *state, run, stage);
  }
  template <class Run, class Stage>
  void on_stage_error(run_state& state, Run& run, Stage& stage) const {
    if constexpr (detail::calls_on_stage_error<P, run_state_t<P>, Run, Stage>())
      if (policy_) detail::call_on_stage_error(*policy_, *state, run, stage);
  }
  template <class Run>
  void on_run_end(run_state& state, Run& run) const {
    if constexpr (detail::calls_on_run_end<P, run_state_t<P>, Run>())
      if (policy_) detail::call_on_run_end(*policy_, *state, run);
  }
  void emit(const Event& event) const
    requires EventSink<P>
  {
    if (policy_) policy_->emit(event);
  }

 private:
  std::optional<P> policy_;
};

}  // namespace stageflow
