// SPDX-License-Identifier: BSL-1.0
// Async stages: 1,000 concurrent runs of a 3-stage chain whose stages each await a 10 ms timer, on
// one thread, against the critical path (one coroutine awaiting the three timers in turn: 30 ms)
// and against the same chain with blocking sleeps on ParallelExecutor(4) (3,000 sleeps of 10 ms
// on 4 threads: about 7.5 s). And the per-run overhead of async_run against run() on trivial
// synchronous stages.
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <benchmark/benchmark.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "ratio_main.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int concurrent_runs = 1000;
constexpr auto stage_wait = 10ms;

struct Input {
  boost::uuids::uuid id = stageflow::helpers::generate_uuid7();
  std::uint64_t seed = 42;
  const boost::uuids::uuid& pipeline_run_id() const { return id; }
};

// A stage that waits on a timer: its thread serves the other runs meanwhile.
template <int I>
struct Timed {
  static constexpr std::string_view name = std::array{"t0", "t1", "t2"}[I];
  using depends_on = std::conditional_t<I == 0, stageflow::after<>, stageflow::after<Timed<I - 1>>>;
  asio::awaitable<int> execute() const {
    asio::steady_timer timer(co_await asio::this_coro::executor, stage_wait);
    co_await timer.async_wait(asio::use_awaitable);
    co_return I;
  }
};
// The same stage, blocking its thread.
template <int I>
struct Sleeps {
  static constexpr std::string_view name = std::array{"s0", "s1", "s2"}[I];
  using depends_on = std::conditional_t<I == 0, stageflow::after<>, stageflow::after<Sleeps<I - 1>>>;
  int execute() const {
    std::this_thread::sleep_for(stage_wait);
    return I;
  }
};

void BM_async_timers_one_thread(benchmark::State& state) {
  const stageflow::Runner<> runner;
  const stageflow::Pipeline<Timed<0>, Timed<1>, Timed<2>> pipeline;
  const Input input;
  for (auto _ : state) {
    asio::io_context io(1);
    int completed = 0;
    for (int i = 0; i < concurrent_runs; ++i)
      runner.async_run(pipeline, input, {}, asio::bind_executor(io, [&](auto result) { completed += result.ok(); }));
    io.run();
    if (completed != concurrent_runs) state.SkipWithError("a run did not complete");
  }
}
BENCHMARK(BM_async_timers_one_thread)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// The floor: the three waits one after the other.
asio::awaitable<void> three_waits() {
  for (int i = 0; i < 3; ++i) {
    asio::steady_timer timer(co_await asio::this_coro::executor, stage_wait);
    co_await timer.async_wait(asio::use_awaitable);
  }
}
void BM_critical_path(benchmark::State& state) {
  for (auto _ : state) {
    asio::io_context io(1);
    asio::co_spawn(io, three_waits(), asio::detached);
    io.run();
  }
}
BENCHMARK(BM_critical_path)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// Blocking stages on ParallelExecutor(4), all 1,000 runs handed over at once.
void BM_blocking_sleeps_parallel4(benchmark::State& state) {
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(4)};
  const stageflow::Pipeline<Sleeps<0>, Sleeps<1>, Sleeps<2>> pipeline;
  const Input input;
  for (auto _ : state) {
    std::mutex mutex;
    std::condition_variable all_done;
    int completed = 0;
    for (int i = 0; i < concurrent_runs; ++i)
      runner.async_run(pipeline, input, {}, [&](auto) {
        std::lock_guard lock(mutex);
        if (++completed == concurrent_runs) all_done.notify_one();
      });
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return completed == concurrent_runs; });
  }
}
BENCHMARK(BM_blocking_sleeps_parallel4)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- per-run overhead on trivial synchronous stages --------------------------------------------

template <int I>
struct Mix {
  static constexpr std::string_view name = std::array{"m0", "m1", "m2"}[I];
  using depends_on = std::conditional_t<I == 0, stageflow::after<>, stageflow::after<Mix<I - 1>>>;
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return ctx.snapshot().seed * 0x9E3779B97F4A7C15ULL;
    else
      return *stageflow::input<Mix<I - 1>>(ctx) * 0x9E3779B97F4A7C15ULL + I;
  }
};
using Trivial = stageflow::Pipeline<Mix<0>, Mix<1>, Mix<2>>;

template <class Runner>
void BM_run_trivial(benchmark::State& state) {
  const Runner runner{};
  const Trivial pipeline;
  Input input;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto result = runner.run(pipeline, input);
    benchmark::DoNotOptimize(*result.template output<Mix<2>>());
  }
}
BENCHMARK_TEMPLATE(BM_run_trivial, stageflow::Runner<>);
// ParallelExecutor() has a worker per hardware thread; the calling thread runs this chain itself.
BENCHMARK_TEMPLATE(BM_run_trivial, stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>>)
    ->UseRealTime();

struct AsyncMix {
  static constexpr std::string_view name = "async_mix";
  using depends_on = stageflow::after<Mix<0>>;
  asio::awaitable<std::uint64_t> execute(const auto& ctx) const {
    co_return *stageflow::input<Mix<0>>(ctx) * 0x9E3779B97F4A7C15ULL + 1;
  }
};
struct LastMix {
  static constexpr std::string_view name = "last_mix";
  using depends_on = stageflow::after<AsyncMix>;
  std::uint64_t execute(const auto& ctx) const { return *stageflow::input<AsyncMix>(ctx) * 0x9E3779B97F4A7C15ULL + 2; }
};
// The same chain with its middle stage async (co_return at once): the scheduling that overlaps
// async stages, a coroutine on a strand, and the completion.
using OneAsync = stageflow::Pipeline<Mix<0>, AsyncMix, LastMix>;

// One async_run with a callback, and the io_context run until it completes.
template <class Pipeline, class Last>
void BM_async_run(benchmark::State& state) {
  const stageflow::Runner<> runner;
  const Pipeline pipeline;
  Input input;
  asio::io_context io(1);
  std::uint64_t out = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    runner.async_run(pipeline, input, {},
                     asio::bind_executor(io, [&](auto result) { out = *result.template output<Last>(); }));
    io.run();
    io.restart();
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK_TEMPLATE(BM_async_run, Trivial, Mix<2>);
BENCHMARK_TEMPLATE(BM_async_run, OneAsync, LastMix);

// Asio's floor for any operation that completes: one post, and the io_context run to it.
void BM_asio_post(benchmark::State& state) {
  asio::io_context io(1);
  std::uint64_t out = 0;
  for (auto _ : state) {
    asio::post(io, [&] { ++out; });
    io.run();
    io.restart();
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_asio_post);

// co_await runner.async_run(...) in a loop inside one coroutine: the per-run cost as a coroutine sees it
// (nothing to await: the run is a coroutine co_returning its result, awaited without a post).
asio::awaitable<void> awaited_runs(const stageflow::Runner<>* runner, const Trivial* pipeline, const Input* input,
                                   benchmark::State* state) {
  for (auto _ : *state) {
    auto result = co_await runner->async_run(*pipeline, *input);
    benchmark::DoNotOptimize(*result.output<Mix<2>>());
  }
}
void BM_co_await_async_run_trivial(benchmark::State& state) {
  const stageflow::Runner<> runner;
  const Trivial pipeline;
  const Input input;
  asio::io_context io(1);
  asio::co_spawn(io, awaited_runs(&runner, &pipeline, &input, &state), asio::detached);
  io.run();
}
BENCHMARK(BM_co_await_async_run_trivial);

}  // namespace

STAGEFLOW_BENCHMARK_RATIO("1,000 runs x 3 timers, 1 thread vs critical path", "BM_async_timers_one_thread/iterations:5/real_time",
                          "BM_critical_path/iterations:5/real_time", 40.0 / 30.0);
STAGEFLOW_BENCHMARK_RATIO("1,000 runs x 3 waits: async 1 thread vs sleeps ParallelExecutor(4)",
                          "BM_async_timers_one_thread/iterations:5/real_time",
                          "BM_blocking_sleeps_parallel4/iterations:1/real_time", 0);
STAGEFLOW_BENCHMARK_RATIO("async_run (callback) vs run, 3 trivial sync stages", "BM_async_run<Trivial, Mix<2>>",
                          "BM_run_trivial<stageflow::Runner<>>", 2.0);
STAGEFLOW_BENCHMARK_RATIO("co_await async_run vs run, 3 trivial sync stages", "BM_co_await_async_run_trivial",
                          "BM_run_trivial<stageflow::Runner<>>", 2.0);
STAGEFLOW_BENCHMARK_RATIO("async_run, 1 of 3 stages async vs run, 3 sync", "BM_async_run<OneAsync, LastMix>",
                          "BM_run_trivial<stageflow::Runner<>>", 0);
STAGEFLOW_BENCHMARK_RATIO("async_run, 1 of 3 stages async vs run on ParallelExecutor",
                          "BM_async_run<OneAsync, LastMix>", "BM_run_trivial<stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>>>/real_time", 0);
STAGEFLOW_BENCHMARK_RATIO("async_run (callback) vs run + one asio::post", "BM_async_run<Trivial, Mix<2>>", "BM_asio_post", 0);
STAGEFLOW_BENCHMARK_MAIN();
