// SPDX-License-Identifier: BSL-1.0
// The program scripts/zero-cost-check builds three times and counts instructions of, under
// callgrind: with Runner<> (variant 0); with the hardening policies and a custom check, all
// debug_only, in a release build (variant 1: must be identical to 0); and with Runner<Check>
// (variant 2: must differ from 0, which shows the measurement can see a policy).
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/runner/runner.hpp>

#include <cstdint>
#include <cstdio>
#include <string_view>

#ifndef STAGEFLOW_ZERO_COST_VARIANT
#  error "define STAGEFLOW_ZERO_COST_VARIANT to 0, 1 or 2"
#endif

namespace {


template <int I>
struct Step {
  static constexpr std::string_view name = std::array{"s0", "s1", "s2", "s3"}[I];
  using depends_on = std::conditional_t<I == 0, stageflow::after<>, stageflow::after<Step<I - 1>>>;
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return ctx.snapshot().input_text.size() * 3 + 1;
    else
      return *stageflow::input<Step<I - 1>>(ctx) * 3 + I;
  }
};

/// A check with state and hooks on every stage, as a hardening policy has.
struct Check {
  struct run_state {
    std::uint64_t stages = 0;
  };
  void before_stage(run_state& state, auto&, auto&) const { ++state.stages; }
  void after_stage(run_state& state, auto& run, auto&) const {
    if (state.stages > 100) run.fail("too many stages");
  }
};

#if STAGEFLOW_ZERO_COST_VARIANT == 0
using TheRunner = stageflow::Runner<>;
#elif STAGEFLOW_ZERO_COST_VARIANT == 1
using TheRunner = stageflow::Runner<stageflow::debug_only<Check>,
                                    stageflow::debug_only<stageflow::pipeline::ImmutabilityInterceptor>,
                                    stageflow::debug_only<stageflow::pipeline::ContextSizeInterceptor>,
                                    stageflow::debug_only<stageflow::pipeline::MemoryTracking>>;
#else
using TheRunner = stageflow::Runner<Check>;
#endif

}  // namespace

int main(int argc, char**) {
  const TheRunner runner;
  const stageflow::Pipeline<Step<0>, Step<1>, Step<2>, Step<3>> pipeline;
  std::uint64_t checksum = 0;
  stageflow::ContextSnapshot snapshot{.run = {.pipeline_run_id = {{1}}}};
  for (int i = 0; i < 20'000; ++i) {
    snapshot.input_text.assign(static_cast<std::size_t>(i % 7 + argc), 'x');
    const auto result = runner.run(pipeline, snapshot);
    checksum += *result.output<Step<3>>();
  }
  std::printf("%llu\n", static_cast<unsigned long long>(checksum));
}
