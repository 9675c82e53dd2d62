// SPDX-License-Identifier: BSL-1.0
// CircuitBreakers on the hot path (issue 22, goal b): an 8-stage pipeline of trivial stages, every
// breaker closed, under Runner<> and under Runner<CircuitBreakers>; the added cost per stage (goal:
// at most 20 ns). A policy that is not `light_hooks` makes the runner time each stage on its own (two
// clock readings instead of one shared with the next stage); CircuitBreakers is light. A policy whose
// hooks do nothing, light and not, shows those parts apart. Also:
// the ratio rule (a short lock per stage to record its outcome), concurrent runs on one set of
// breakers, and the cost of a rejection (an open breaker) against running the stage.
#include <stageflow/resilience/circuit_breakers.hpp>
#include <stageflow/runner/runner.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>

#include "mix_chain.hpp"
#include "ratio_main.hpp"

namespace {

struct Input {
  std::uint64_t seed = 42;
};

using stageflow::bench::Mix;
using Eight = stageflow::bench::MixChain;

/// A policy whose hooks do nothing: what any policy with a stage_state costs the runner.
struct NoOpPolicy {
  struct stage_state {
    void* breaker = nullptr;
  };
  void before_stage(stage_state&, auto&, auto&) const {}
  void after_stage(stage_state&, auto&, auto&) const {}
};
/// The same, declared light: stages share clock readings as under Runner<>.
struct LightNoOpPolicy : NoOpPolicy {
  static constexpr bool light_hooks = true;
};

/// A stage that always fails: it opens its breaker once, then every run is a rejection.
struct Down {
  static constexpr std::string_view name = "down";
  stageflow::StageOutput<int> execute(const auto&) const { return stageflow::fail("down"); }
};

template <class Runner, class Pipeline = Eight>
void run_loop(benchmark::State& state, const Runner& runner) {
  Input input;
  const Pipeline pipeline;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto result = runner.run(pipeline, input);
    benchmark::DoNotOptimize(result.status);
  }
}

stageflow::CircuitBreakers consecutive() {
  return stageflow::CircuitBreakers({.failure_threshold = 5, .open_for = std::chrono::seconds(5), .half_open_probes = 1});
}
stageflow::CircuitBreakers windowed() {
  return stageflow::CircuitBreakers({.failure_threshold = 0, .open_for = std::chrono::seconds(5),
                                     .failure_ratio = 0.5, .window = 20});
}

void BM_runner_empty(benchmark::State& state) { run_loop(state, stageflow::Runner<>{}); }
void BM_noop_policy(benchmark::State& state) { run_loop(state, stageflow::Runner<NoOpPolicy>{}); }
void BM_light_noop_policy(benchmark::State& state) { run_loop(state, stageflow::Runner<LightNoOpPolicy>{}); }
void BM_breakers_closed(benchmark::State& state) {
  run_loop(state, stageflow::Runner<stageflow::CircuitBreakers>(consecutive()));
}
void BM_breakers_ratio_closed(benchmark::State& state) {
  run_loop(state, stageflow::Runner<stageflow::CircuitBreakers>(windowed()));
}
void BM_runner_empty_threads(benchmark::State& state) {
  static const stageflow::Runner<> shared;
  run_loop(state, shared);
}
void BM_breakers_closed_threads(benchmark::State& state) {
  static const stageflow::Runner<stageflow::CircuitBreakers> shared(consecutive());
  run_loop(state, shared);
}
// One failing stage: executed and failed (no breaker) against rejected by an open breaker.
void BM_down_no_breaker(benchmark::State& state) {
  run_loop<stageflow::Runner<>, stageflow::Pipeline<Down>>(state, stageflow::Runner<>{});
}
void BM_down_breaker_open(benchmark::State& state) {
  const stageflow::Runner<stageflow::CircuitBreakers> runner(consecutive());
  for (int i = 0; i < 5; ++i) runner.run(stageflow::Pipeline<Down>{}, Input{});  // opens it
  if (runner.run(stageflow::Pipeline<Down>{}, Input{}).error != stageflow::circuit_open_reason)
    state.SkipWithError("the breaker did not open");
  run_loop<decltype(runner), stageflow::Pipeline<Down>>(state, runner);
}

}  // namespace

BENCHMARK(BM_runner_empty);
BENCHMARK(BM_noop_policy);
BENCHMARK(BM_light_noop_policy);
BENCHMARK(BM_breakers_closed);
BENCHMARK(BM_breakers_ratio_closed);
BENCHMARK(BM_runner_empty_threads)->Threads(2);
BENCHMARK(BM_breakers_closed_threads)->Threads(2);
BENCHMARK(BM_down_no_breaker);
BENCHMARK(BM_down_breaker_open);

STAGEFLOW_BENCHMARK_COST("CircuitBreakers closed, per stage", "BM_breakers_closed", "BM_runner_empty", 8, 20);
STAGEFLOW_BENCHMARK_COST("  of which any light policy", "BM_light_noop_policy", "BM_runner_empty", 8, 0);
STAGEFLOW_BENCHMARK_COST("  of which the breakers' hooks", "BM_breakers_closed", "BM_light_noop_policy", 8, 0);
STAGEFLOW_BENCHMARK_COST("a policy not light (per-stage timing)", "BM_noop_policy", "BM_runner_empty", 8, 0);
STAGEFLOW_BENCHMARK_COST("CircuitBreakers closed, 2 threads, per stage", "BM_breakers_closed_threads/threads:2",
                         "BM_runner_empty_threads/threads:2", 8, 20);
STAGEFLOW_BENCHMARK_COST("CircuitBreakers, ratio rule, per stage", "BM_breakers_ratio_closed", "BM_runner_empty", 8, 0);
STAGEFLOW_BENCHMARK_RATIO("Runner<CircuitBreakers> / Runner<>", "BM_breakers_closed", "BM_runner_empty", 0);
STAGEFLOW_BENCHMARK_RATIO("rejected by an open breaker / failing stage run", "BM_down_breaker_open",
                          "BM_down_no_breaker", 0);

STAGEFLOW_BENCHMARK_MAIN();
