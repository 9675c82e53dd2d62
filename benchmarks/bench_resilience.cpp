// SPDX-License-Identifier: BSL-1.0
// Resilience (issue 22), case (a): what declaring `retry` costs a stage that succeeds at once,
// against the same stage without it, on Runner<> (goal: <= 2 ns per stage). Hedging's tail
// latency (case c) is not here yet: stageflow::Hedge is not built.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/runner.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "ratio_main.hpp"

namespace {

using namespace stageflow;
constexpr int stages = 8;

/// A chain of eight stages, each a few instructions of work on its input.
template <int I>
struct Step {
  static constexpr std::string_view name = std::array{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}[I];
  using depends_on = std::conditional_t<I == 0, after<>, after<Step<I - 1>>>;
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return ctx.snapshot().input_text.size() + 1;
    else
      return *input<Step<I - 1>>(ctx) * 3 + I;
  }
};
/// The same chain, each stage declaring a `retry` its success path never uses.
template <int I>
struct Chain {
  static constexpr std::string_view name = std::array{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}[I];
  static constexpr Retry retry{.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(1)};
  using depends_on = std::conditional_t<I == 0, after<>, after<Chain<I - 1>>>;
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return ctx.snapshot().input_text.size() + 1;
    else
      return *input<Chain<I - 1>>(ctx) * 3 + I;
  }
};

template <template <int> class S, int... I>
Pipeline<S<I>...> chain_of(std::integer_sequence<int, I...>);
using PlainChain = decltype(chain_of<Step>(std::make_integer_sequence<int, stages>{}));
using RetriedChain = decltype(chain_of<Chain>(std::make_integer_sequence<int, stages>{}));

template <class P>
void BM_success(benchmark::State& state) {
  const Runner<> runner;
  const P pipeline;
  const ContextSnapshot snapshot{.input_text = "hello"};
  for (auto _ : state) {
    auto result = runner.run(pipeline, snapshot);
    benchmark::DoNotOptimize(result);
  }
  state.counters["stages"] = stages;
}

}  // namespace

BENCHMARK(BM_success<PlainChain>)->Name("BM_success/no_retry");
BENCHMARK(BM_success<RetriedChain>)->Name("BM_success/retry");

STAGEFLOW_BENCHMARK_RATIO("(a) retry declared / not, success path (8 stages)", "BM_success/retry",
                          "BM_success/no_retry", 0);
STAGEFLOW_BENCHMARK_COST("(a) retry declared, success path, per stage", "BM_success/retry", "BM_success/no_retry",
                         stages, 2);

STAGEFLOW_BENCHMARK_MAIN()
