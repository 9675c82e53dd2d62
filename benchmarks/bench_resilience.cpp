// SPDX-License-Identifier: BSL-1.0
// Resilience (issue 22).
// (a) What declaring `retry` costs a stage that succeeds at once, against the same stage without
//     it, on Runner<> (goal: <= 2 ns per stage).
// (c) The tail: a stage that takes 1 ms with probability 0.98 and 30 ms with 0.02 (and returns at
//     once when its stop token fires), run after run; the p99 of a run with `hedge{.after = 2ms}`
//     (goal <= 4 ms) against without (>= 30 ms), and the extra copies started (goal <= 5% of
//     runs). Awaitable (a timer) under async_run on a ParallelExecutor(4) and on one io_context
//     thread; synchronous (a wait on a condition) under run() on a ParallelExecutor(4), and (2) to
//     see what two cores can do. It sleeps for real: 10,000 runs per case.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/resilience/hedge.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <vector>
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

// ---- (c) ---------------------------------------------------------------------------------------

namespace asio = boost::asio;
constexpr int tail_runs = 10000;
std::atomic<long> copies{0};

/// 1 ms, or 30 ms one time in fifty (each copy draws: a hedged copy is another replica).
std::chrono::milliseconds draw_latency() {
  static std::mutex mutex;
  static std::mt19937 random(22);
  std::lock_guard lock(mutex);
  ++copies;
  return std::uniform_real_distribution<double>(0.0, 1.0)(random) < 0.02 ? std::chrono::milliseconds(30)
                                                                          : std::chrono::milliseconds(1);
}

asio::awaitable<int> slow_sometimes(const std::stop_token& stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor, draw_latency());
  stageflow::cancel_on_stop guard(stop, timer);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return 1;
}

struct Call {
  static constexpr std::string_view name = "call";
  asio::awaitable<int> execute(const auto& ctx) const { return slow_sometimes(ctx.stop_token()); }
};
struct HedgedCall {
  static constexpr std::string_view name = "call";
  static constexpr Hedge hedge{.after = std::chrono::milliseconds(2), .max_extra = 1};
  asio::awaitable<int> execute(const auto& ctx) const { return slow_sometimes(ctx.stop_token()); }
};

/// The same, blocking its thread (a synchronous client), woken at once by its stop token.
int slow_sometimes_sync(const std::stop_token& stop) {
  const auto until = std::chrono::steady_clock::now() + draw_latency();
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_until(lock, stop, until, [] { return false; });
  return 1;
}
struct SyncCall {
  static constexpr std::string_view name = "call";
  int execute(const auto& ctx) const { return slow_sometimes_sync(ctx.stop_token()); }
};
struct SyncHedgedCall {
  static constexpr std::string_view name = "call";
  static constexpr Hedge hedge{.after = std::chrono::milliseconds(2), .max_extra = 1};
  int execute(const auto& ctx) const { return slow_sometimes_sync(ctx.stop_token()); }
};

void tail_counters(benchmark::State& state, std::vector<double>& latencies) {
  std::sort(latencies.begin(), latencies.end());
  state.counters["p50_ms"] = latencies[latencies.size() / 2];
  state.counters["p99_ms"] = latencies[latencies.size() * 99 / 100];
  state.counters["max_ms"] = latencies.back();
  state.counters["extra_pct"] = 100.0 * static_cast<double>(copies.load() - tail_runs) / tail_runs;
}

/// Synchronous stages under run() on a ParallelExecutor(threads): `tail_runs` runs one after another.
template <class S, int Threads>
void BM_tail_sync(benchmark::State& state) {
  const Runner<use_executor<ParallelExecutor>> runner{ParallelExecutor(Threads)};
  const Pipeline<S> pipeline;
  const ContextSnapshot snapshot;
  for (auto _ : state) {
    copies = 0;
    std::vector<double> latencies;
    latencies.reserve(tail_runs);
    for (int i = 0; i < tail_runs; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const auto result = runner.run(pipeline, snapshot);
      const auto end = std::chrono::steady_clock::now();
      if (!result.ok()) throw std::runtime_error("a run failed: " + result.error);
      latencies.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
    tail_counters(state, latencies);
  }
}

/// `tail_runs` runs one after another; each run's latency.
template <class R, class P>
asio::awaitable<void> runs(const R* runner, std::vector<double>* latencies_ms) {
  const P pipeline;
  const ContextSnapshot snapshot;
  for (int i = 0; i < tail_runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto result = co_await runner->async_run(pipeline, snapshot);
    const auto end = std::chrono::steady_clock::now();
    if (!result.ok()) throw std::runtime_error("a run failed: " + result.error);
    latencies_ms->push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
}

template <class S, bool Parallel>
void BM_tail(benchmark::State& state) {
  using R = std::conditional_t<Parallel, Runner<use_executor<ParallelExecutor>>, Runner<>>;
  const R runner = [] {
    if constexpr (Parallel)
      return R(ParallelExecutor(4));
    else
      return R();
  }();
  for (auto _ : state) {
    copies = 0;
    std::vector<double> latencies;
    latencies.reserve(tail_runs);
    asio::io_context io;
    asio::co_spawn(io, runs<R, Pipeline<S>>(&runner, &latencies), asio::detached);
    io.run();
    tail_counters(state, latencies);
  }
}

}  // namespace

BENCHMARK(BM_success<PlainChain>)->Name("BM_success/no_retry");
BENCHMARK(BM_success<RetriedChain>)->Name("BM_success/retry");

BENCHMARK_TEMPLATE(BM_tail, Call, true)->Name("BM_tail/parallel4/no_hedge")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_tail, HedgedCall, true)->Name("BM_tail/parallel4/hedge_2ms")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_tail, Call, false)->Name("BM_tail/io_context/no_hedge")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_tail, HedgedCall, false)->Name("BM_tail/io_context/hedge_2ms")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_tail_sync, SyncCall, 4)->Name("BM_tail/parallel4_sync/no_hedge")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_tail_sync, SyncHedgedCall, 4)->Name("BM_tail/parallel4_sync/hedge_2ms")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_tail_sync, SyncCall, 2)->Name("BM_tail/parallel2_sync/no_hedge")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_tail_sync, SyncHedgedCall, 2)->Name("BM_tail/parallel2_sync/hedge_2ms")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

STAGEFLOW_BENCHMARK_RATIO("(a) retry declared / not, success path (8 stages)", "BM_success/retry",
                          "BM_success/no_retry", 0);
STAGEFLOW_BENCHMARK_COST("(a) retry declared, success path, per stage", "BM_success/retry", "BM_success/no_retry",
                         stages, 2);

STAGEFLOW_BENCHMARK_MAIN()
