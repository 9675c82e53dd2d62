// SPDX-License-Identifier: BSL-1.0
// Runner overhead: an 8-stage pipeline under Runner<> against the same stages called by hand,
// and a disabled policy against Runner<> (identical types in a release build, so identical code;
// scripts/zero-cost-check proves it with instruction counts).
#include <stageflow/stageflow.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "ratio_main.hpp"

namespace {

// A snapshot with a run id, so no id is generated (that is measured separately).
struct Input {
  boost::uuids::uuid id = stageflow::helpers::generate_uuid7();
  std::uint64_t seed = 42;
  std::string text = "The quick brown fox jumps over the lazy dog, twice: the quick brown fox!";
  const boost::uuids::uuid& pipeline_run_id() const { return id; }
};

// Trivial stages: one multiply-add on the previous output.
template <int I>
struct Mix {
  static constexpr std::string_view name = std::array{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"}[I];
  using depends_on = std::conditional_t<I == 0, stageflow::after<>, stageflow::after<Mix<I - 1>>>;
  static std::uint64_t step(std::uint64_t x) { return x * 0x9E3779B97F4A7C15ULL + I; }
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return step(ctx.snapshot().seed);
    else
      return step(*stageflow::input<Mix<I - 1>>(ctx));
  }
};

// Small stages: an FNV-1a hash over the request text (about 70 bytes), seeded by the previous output.
template <int I>
struct Hash {
  static constexpr std::string_view name = std::array{"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"}[I];
  using depends_on = std::conditional_t<I == 0, stageflow::after<>, stageflow::after<Hash<I - 1>>>;
  static std::uint64_t step(std::uint64_t h, const std::string& text) {
    for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
    return h + I;
  }
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return step(0xCBF29CE484222325ULL, ctx.snapshot().text);
    else
      return step(*stageflow::input<Hash<I - 1>>(ctx), ctx.snapshot().text);
  }
};

template <template <int> class S>
using Eight = stageflow::Pipeline<S<0>, S<1>, S<2>, S<3>, S<4>, S<5>, S<6>, S<7>>;

/// A policy with state and hooks, compiled out by debug_only in a release build.
struct HeavyCheck {
  struct run_state {
    std::uint64_t seen = 0;
  };
  void before_stage(run_state& state, auto&, auto&) const { ++state.seen; }
  void after_stage(run_state& state, auto&, auto&) const { benchmark::DoNotOptimize(state.seen); }
};
/// The same hooks, declared light (a counter): stages share clock readings as under Runner<>.
struct LightCheck : HeavyCheck {
  static constexpr bool light_hooks = true;
};

template <template <int> class S>
std::uint64_t by_hand(const Input& input) {
  // What a hand-written caller does: each stage's result feeds the next.
  std::uint64_t x;
  if constexpr (std::is_same_v<S<0>, Mix<0>>) {
    x = Mix<0>::step(input.seed);
    x = Mix<1>::step(x), x = Mix<2>::step(x), x = Mix<3>::step(x), x = Mix<4>::step(x);
    x = Mix<5>::step(x), x = Mix<6>::step(x), x = Mix<7>::step(x);
  } else {
    x = Hash<0>::step(0xCBF29CE484222325ULL, input.text);
    x = Hash<1>::step(x, input.text), x = Hash<2>::step(x, input.text), x = Hash<3>::step(x, input.text);
    x = Hash<4>::step(x, input.text), x = Hash<5>::step(x, input.text), x = Hash<6>::step(x, input.text);
    x = Hash<7>::step(x, input.text);
  }
  return x;
}

template <template <int> class S>
void BM_by_hand(benchmark::State& state) {
  Input input;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    benchmark::DoNotOptimize(by_hand<S>(input));
  }
}

// By hand with what Runner<> also gives: each stage's duration.
void BM_by_hand_timed_Mix(benchmark::State& state) {
  Input input;
  using clock = std::chrono::steady_clock;
  std::array<clock::duration, 8> durations{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto t = clock::now();
    std::uint64_t x = Mix<0>::step(input.seed);
    auto next = clock::now();
    durations[0] = next - t;
    t = next;
    [&]<int... I>(std::integer_sequence<int, I...>) {
      ((x = Mix<I + 1>::step(x), next = clock::now(), durations[I + 1] = next - t, t = next), ...);
    }(std::make_integer_sequence<int, 7>{});
    benchmark::DoNotOptimize(x);
    benchmark::DoNotOptimize(durations);
  }
}

template <template <int> class S, class Runner>
void BM_runner(benchmark::State& state) {
  Input input;
  const Runner runner;
  const Eight<S> pipeline;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto result = runner.run(pipeline, input);
    benchmark::DoNotOptimize(*result.template output<S<7>>());
  }
}

void BM_runner_generating_run_id(benchmark::State& state) {
  struct NoId {
    std::uint64_t seed = 42;
  };
  NoId input;
  const stageflow::Runner<> runner;
  const stageflow::Pipeline<Mix<0>> pipeline;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto result = runner.run(pipeline, input);
    benchmark::DoNotOptimize(result.pipeline_run_id);
  }
}

using Default = stageflow::Runner<>;
using Untimed = stageflow::Runner<stageflow::use_clock<stageflow::no_clock>>;
using Disabled = stageflow::Runner<stageflow::debug_only<HeavyCheck>>;
using Enabled = stageflow::Runner<HeavyCheck>;
using EnabledLight = stageflow::Runner<LightCheck>;

}  // namespace

BENCHMARK(BM_by_hand<Mix>);
BENCHMARK(BM_by_hand_timed_Mix);
BENCHMARK(BM_runner<Mix, Default>);
BENCHMARK(BM_runner<Mix, Untimed>);
BENCHMARK(BM_runner<Mix, Disabled>);
BENCHMARK(BM_runner<Mix, Enabled>);
BENCHMARK(BM_runner<Mix, EnabledLight>);
BENCHMARK(BM_by_hand<Hash>);
BENCHMARK(BM_runner<Hash, Default>);
BENCHMARK(BM_runner<Hash, Untimed>);
BENCHMARK(BM_runner<Hash, Disabled>);
BENCHMARK(BM_runner_generating_run_id);

STAGEFLOW_BENCHMARK_RATIO("8 trivial stages: Runner<> / by hand", "BM_runner<Mix, Default>", "BM_by_hand<Mix>", 1.05);
STAGEFLOW_BENCHMARK_RATIO("8 trivial stages: Runner<> / by hand, timed", "BM_runner<Mix, Default>", "BM_by_hand_timed_Mix", 1.05);
STAGEFLOW_BENCHMARK_RATIO("8 trivial stages: untimed Runner / by hand", "BM_runner<Mix, Untimed>", "BM_by_hand<Mix>", 1.05);
STAGEFLOW_BENCHMARK_RATIO("8 small stages: Runner<> / by hand", "BM_runner<Hash, Default>", "BM_by_hand<Hash>", 1.05);
STAGEFLOW_BENCHMARK_RATIO("8 small stages: untimed Runner / by hand", "BM_runner<Hash, Untimed>", "BM_by_hand<Hash>", 1.05);
STAGEFLOW_BENCHMARK_RATIO("debug_only<P> in release / Runner<>", "BM_runner<Mix, Disabled>", "BM_runner<Mix, Default>", 1.05);
STAGEFLOW_BENCHMARK_RATIO("enabled policy / Runner<> (for scale)", "BM_runner<Mix, Enabled>", "BM_runner<Mix, Default>", 0);
STAGEFLOW_BENCHMARK_RATIO("enabled light_hooks policy / Runner<>", "BM_runner<Mix, EnabledLight>",
                          "BM_runner<Mix, Default>", 0);

STAGEFLOW_BENCHMARK_MAIN();
