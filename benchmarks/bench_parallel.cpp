// SPDX-License-Identifier: BSL-1.0
// Concurrent execution: ParallelExecutor against oneTBB's flow graph (the peer), with the same
// number of threads, against our own sequential run, and, when built with -Dtaskflow_include=DIR
// (a clone of Taskflow 4), against Taskflow's executor. Wall time per run: the mean, and the p50
// and p99 of the runs as counters (p50_ns, p99_ns; each run timed on its own).
//
//   (a) 8 trivial stages in a chain (timed, untimed; and its floors: the same chain on Runner<>,
//       and the 9 clock readings a timed run of it takes);
//   (b) 1 -> 4 -> 1, the four branches spinning 50 us (ours with the default spin and with none);
//   (c) 1 -> 4 -> 1, the four branches sleeping 1 ms (waiting on another service);
//   (d) 1 -> 16 -> 1, the branches spinning 10 us (fan-out pressure);
//   (e) a 1-stage run (the floor of a concurrent run);
//   (f) how late run() returns after a 20 ms DeadlineMode::abandon deadline (median, p99 over 1000
//       runs, as counters).
//
// Thread counts: `threads` in total work on a run in each. oneTBB's arena of `threads` slots counts
// the calling thread, which takes part in wait_for_all; ParallelExecutor(threads - 1) has that
// many workers and the calling thread takes part too; Taskflow's executor has `threads` workers
// while the calling thread waits (run().wait(); its corun() works only from one of its workers).
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#if defined(STAGEFLOW_BENCH_HAVE_TASKFLOW)
#  include <taskflow/taskflow.hpp>
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "ratio_main.hpp"

namespace {

constexpr int threads = 2;
using namespace std::chrono_literals;

struct Input {
  boost::uuids::uuid id{{1}};
  std::uint64_t seed = 42;
  const boost::uuids::uuid& pipeline_run_id() const { return id; }
};

std::uint64_t mix(std::uint64_t x, int i) { return x * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(i); }

void spin_for(std::chrono::nanoseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

// Runs `once` per iteration, timing each run on its own: p50_ns and p99_ns counters beside the
// mean (the two clock reads, some 40 ns, are in every side's figures alike).
template <class F>
void timed_runs(benchmark::State& state, F&& once) {
  std::vector<std::int64_t> ns;
  ns.reserve(static_cast<std::size_t>(std::min<benchmark::IterationCount>(state.max_iterations, 50'000'000)));
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    once();
    ns.push_back((std::chrono::steady_clock::now() - t0).count());
  }
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  state.counters["p50_ns"] = static_cast<double>(ns[ns.size() / 2]);
  state.counters["p99_ns"] = static_cast<double>(ns[std::min(ns.size() - 1, ns.size() * 99 / 100)]);
}

// (a) the chain.
template <int I>
struct Link {
  static constexpr std::string_view name = std::array{"l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7"}[I];
  using depends_on = std::conditional_t<I == 0, stageflow::after<>, stageflow::after<Link<I - 1>>>;
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return mix(ctx.snapshot().seed, I);
    else
      return mix(*stageflow::input<Link<I - 1>>(ctx), I);
  }
};
using Chain = stageflow::Pipeline<Link<0>, Link<1>, Link<2>, Link<3>, Link<4>, Link<5>, Link<6>, Link<7>>;

// (b), (c), (d) fan out to W branches doing Work, then gather.
enum class Work { spin50, sleep1ms, spin10 };
template <Work W>
void work() {
  if constexpr (W == Work::spin50)
    spin_for(50us);
  else if constexpr (W == Work::spin10)
    spin_for(10us);
  else
    std::this_thread::sleep_for(1ms);
}
struct Fan {
  static constexpr std::string_view name = "fan";
  int execute() const { return 1; }
};
constexpr std::array<std::string_view, 16> branch_names{"b0", "b1", "b2",  "b3",  "b4",  "b5",  "b6",  "b7",
                                                        "b8", "b9", "b10", "b11", "b12", "b13", "b14", "b15"};
template <Work W, int I>
struct Branch {
  static constexpr std::string_view name = branch_names[I];
  using depends_on = stageflow::after<Fan>;
  int execute(const auto& ctx) const {
    work<W>();
    return *stageflow::input<Fan>(ctx) + I;
  }
};
template <Work W, class Seq>
struct FanOut;
template <Work W, int... I>
struct FanOut<W, std::integer_sequence<int, I...>> {
  struct Gather {
    static constexpr std::string_view name = "gather";
    using depends_on = stageflow::after<Branch<W, I>...>;
    int execute(const auto& ctx) const { return (*stageflow::input<Branch<W, I>>(ctx) + ...); }
  };
  using pipeline = stageflow::Pipeline<Fan, Branch<W, I>..., Gather>;
};
template <Work W, int Width>
using Fanned = FanOut<W, std::make_integer_sequence<int, Width>>;

// (e) one stage.
struct Single {
  static constexpr std::string_view name = "single";
  std::uint64_t execute(const auto& ctx) const { return mix(ctx.snapshot().seed, 1); }
};
using One = stageflow::Pipeline<Single>;

using Parallel = stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>>;

const Parallel& parallel_runner() {
  static const Parallel runner(stageflow::ParallelExecutor(threads - 1));
  return runner;
}
const Parallel& no_spin_runner() {
  static const Parallel runner(stageflow::ParallelExecutor(threads - 1, {.spin = 0us}));
  return runner;
}

void BM_chain_parallel(benchmark::State& state) {
  const auto& runner = parallel_runner();
  const Chain chain;
  const Input input;
  timed_runs(state, [&] { benchmark::DoNotOptimize(*runner.run(chain, input).output<Link<7>>()); });
}
BENCHMARK(BM_chain_parallel)->UseRealTime();

// The same without per-stage timing (use_clock<no_clock>): the flow graph records no durations,
// while a Runner reads the clock twice per stage by default.
void BM_chain_parallel_untimed(benchmark::State& state) {
  static const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>,
                                 stageflow::use_clock<stageflow::no_clock>>
      runner(stageflow::ParallelExecutor(threads - 1));
  const Chain chain;
  const Input input;
  timed_runs(state, [&] { benchmark::DoNotOptimize(*runner.run(chain, input).output<Link<7>>()); });
}
BENCHMARK(BM_chain_parallel_untimed)->UseRealTime();

// The floors of the timed chain: the same chain on Runner<> (sequential, the same 9 readings), and
// the 9 steady_clock readings alone that a timed run of 8 stages takes (the flow graph takes none).
void BM_chain_sequential(benchmark::State& state) {
  const stageflow::Runner<> runner;
  const Chain chain;
  const Input input;
  timed_runs(state, [&] { benchmark::DoNotOptimize(*runner.run(chain, input).output<Link<7>>()); });
}
BENCHMARK(BM_chain_sequential)->UseRealTime();
void BM_chain_clock_readings(benchmark::State& state) {
  timed_runs(state, [] {
    for (int i = 0; i < 9; ++i) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
  });
}
BENCHMARK(BM_chain_clock_readings)->UseRealTime();

void BM_chain_tbb(benchmark::State& state) {
  namespace flow = tbb::flow;
  tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    std::array<std::uint64_t, 8> values{};
    std::vector<std::unique_ptr<flow::continue_node<flow::continue_msg>>> nodes;
    for (int i = 0; i < 8; ++i)
      nodes.push_back(std::make_unique<flow::continue_node<flow::continue_msg>>(g, [&values, i](const flow::continue_msg&) {
        values[static_cast<std::size_t>(i)] = mix(i == 0 ? 42 : values[static_cast<std::size_t>(i - 1)], i);
      }));
    for (int i = 1; i < 8; ++i) flow::make_edge(*nodes[static_cast<std::size_t>(i - 1)], *nodes[static_cast<std::size_t>(i)]);
    timed_runs(state, [&] {
      nodes[0]->try_put(flow::continue_msg());
      g.wait_for_all();
      benchmark::DoNotOptimize(values[7]);
    });
  });
}
BENCHMARK(BM_chain_tbb)->UseRealTime();

template <Work W, int Width>
void BM_fan_parallel(benchmark::State& state, const Parallel& runner) {
  using F = Fanned<W, Width>;
  const typename F::pipeline pipeline;
  const Input input;
  timed_runs(state, [&] { benchmark::DoNotOptimize(*runner.run(pipeline, input).template output<typename F::Gather>()); });
}
template <Work W, int Width>
void BM_fan_sequential(benchmark::State& state) {
  using F = Fanned<W, Width>;
  const stageflow::Runner<> runner;
  const typename F::pipeline pipeline;
  const Input input;
  timed_runs(state, [&] { benchmark::DoNotOptimize(*runner.run(pipeline, input).template output<typename F::Gather>()); });
}
template <Work W, int Width>
void BM_fan_tbb(benchmark::State& state) {
  namespace flow = tbb::flow;
  tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    std::array<int, Width + 2> values{};
    flow::continue_node<flow::continue_msg> fan(g, [&](const flow::continue_msg&) { values[0] = 1; });
    std::vector<std::unique_ptr<flow::continue_node<flow::continue_msg>>> branches;
    for (int i = 0; i < Width; ++i) {
      branches.push_back(std::make_unique<flow::continue_node<flow::continue_msg>>(g, [&values, i](const flow::continue_msg&) {
        work<W>();
        values[static_cast<std::size_t>(i + 1)] = values[0] + i;
      }));
      flow::make_edge(fan, *branches.back());
    }
    flow::continue_node<flow::continue_msg> gather(g, [&](const flow::continue_msg&) {
      int sum = 0;
      for (int i = 1; i <= Width; ++i) sum += values[static_cast<std::size_t>(i)];
      values[Width + 1] = sum;
    });
    for (auto& b : branches) flow::make_edge(*b, gather);
    timed_runs(state, [&] {
      fan.try_put(flow::continue_msg());
      g.wait_for_all();
      benchmark::DoNotOptimize(values[Width + 1]);
    });
  });
}
void BM_diamond_spin50_parallel(benchmark::State& s) { BM_fan_parallel<Work::spin50, 4>(s, parallel_runner()); }
void BM_diamond_spin50_parallel_nospin(benchmark::State& s) { BM_fan_parallel<Work::spin50, 4>(s, no_spin_runner()); }
void BM_diamond_spin50_tbb(benchmark::State& s) { BM_fan_tbb<Work::spin50, 4>(s); }
void BM_diamond_spin50_sequential(benchmark::State& s) { BM_fan_sequential<Work::spin50, 4>(s); }
void BM_diamond_sleep1ms_parallel(benchmark::State& s) { BM_fan_parallel<Work::sleep1ms, 4>(s, parallel_runner()); }
void BM_diamond_sleep1ms_tbb(benchmark::State& s) { BM_fan_tbb<Work::sleep1ms, 4>(s); }
void BM_diamond_sleep1ms_sequential(benchmark::State& s) { BM_fan_sequential<Work::sleep1ms, 4>(s); }
void BM_fan16_spin10_parallel(benchmark::State& s) { BM_fan_parallel<Work::spin10, 16>(s, parallel_runner()); }
void BM_fan16_spin10_tbb(benchmark::State& s) { BM_fan_tbb<Work::spin10, 16>(s); }
BENCHMARK(BM_diamond_spin50_parallel)->UseRealTime();
BENCHMARK(BM_diamond_spin50_parallel_nospin)->UseRealTime();
BENCHMARK(BM_diamond_spin50_tbb)->UseRealTime();
BENCHMARK(BM_diamond_spin50_sequential)->UseRealTime();
BENCHMARK(BM_diamond_sleep1ms_parallel)->UseRealTime();
BENCHMARK(BM_diamond_sleep1ms_tbb)->UseRealTime();
BENCHMARK(BM_diamond_sleep1ms_sequential)->UseRealTime();
BENCHMARK(BM_fan16_spin10_parallel)->UseRealTime();
BENCHMARK(BM_fan16_spin10_tbb)->UseRealTime();

void BM_single_parallel(benchmark::State& state) {
  const auto& runner = parallel_runner();
  const One one;
  const Input input;
  timed_runs(state, [&] { benchmark::DoNotOptimize(*runner.run(one, input).output<Single>()); });
}
BENCHMARK(BM_single_parallel)->UseRealTime();
void BM_single_sequential(benchmark::State& state) {
  const stageflow::Runner<> runner;
  const One one;
  const Input input;
  timed_runs(state, [&] { benchmark::DoNotOptimize(*runner.run(one, input).output<Single>()); });
}
BENCHMARK(BM_single_sequential)->UseRealTime();
void BM_single_tbb(benchmark::State& state) {
  namespace flow = tbb::flow;
  tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    std::uint64_t value = 0;
    flow::continue_node<flow::continue_msg> node(g, [&](const flow::continue_msg&) { value = mix(42, 1); });
    timed_runs(state, [&] {
      node.try_put(flow::continue_msg());
      g.wait_for_all();
      benchmark::DoNotOptimize(value);
    });
  });
}
BENCHMARK(BM_single_tbb)->UseRealTime();

#if defined(STAGEFLOW_BENCH_HAVE_TASKFLOW)
// Taskflow 4: the same graphs, built once, run by an executor of `threads` workers.
tf::Executor& taskflow_executor() {
  static tf::Executor executor(threads);
  return executor;
}
void BM_chain_taskflow(benchmark::State& state) {
  tf::Taskflow flow;
  std::array<std::uint64_t, 8> values{};
  std::vector<tf::Task> tasks;
  for (int i = 0; i < 8; ++i)
    tasks.push_back(flow.emplace([&values, i] {
      values[static_cast<std::size_t>(i)] = mix(i == 0 ? 42 : values[static_cast<std::size_t>(i - 1)], i);
    }));
  for (int i = 1; i < 8; ++i) tasks[static_cast<std::size_t>(i - 1)].precede(tasks[static_cast<std::size_t>(i)]);
  auto& executor = taskflow_executor();
  timed_runs(state, [&] {
    executor.run(flow).wait();
    benchmark::DoNotOptimize(values[7]);
  });
}
BENCHMARK(BM_chain_taskflow)->UseRealTime();
template <Work W, int Width>
void BM_fan_taskflow(benchmark::State& state) {
  tf::Taskflow flow;
  std::array<int, Width + 2> values{};
  auto fan = flow.emplace([&] { values[0] = 1; });
  auto gather = flow.emplace([&] {
    int sum = 0;
    for (int i = 1; i <= Width; ++i) sum += values[static_cast<std::size_t>(i)];
    values[Width + 1] = sum;
  });
  for (int i = 0; i < Width; ++i) {
    auto branch = flow.emplace([&values, i] {
      work<W>();
      values[static_cast<std::size_t>(i + 1)] = values[0] + i;
    });
    fan.precede(branch);
    branch.precede(gather);
  }
  auto& executor = taskflow_executor();
  timed_runs(state, [&] {
    executor.run(flow).wait();
    benchmark::DoNotOptimize(values[Width + 1]);
  });
}
void BM_diamond_spin50_taskflow(benchmark::State& s) { BM_fan_taskflow<Work::spin50, 4>(s); }
void BM_diamond_sleep1ms_taskflow(benchmark::State& s) { BM_fan_taskflow<Work::sleep1ms, 4>(s); }
void BM_fan16_spin10_taskflow(benchmark::State& s) { BM_fan_taskflow<Work::spin10, 16>(s); }
BENCHMARK(BM_diamond_spin50_taskflow)->UseRealTime();
BENCHMARK(BM_diamond_sleep1ms_taskflow)->UseRealTime();
BENCHMARK(BM_fan16_spin10_taskflow)->UseRealTime();
void BM_single_taskflow(benchmark::State& state) {
  tf::Taskflow flow;
  std::uint64_t value = 0;
  flow.emplace([&] { value = mix(42, 1); });
  auto& executor = taskflow_executor();
  timed_runs(state, [&] {
    executor.run(flow).wait();
    benchmark::DoNotOptimize(value);
  });
}
BENCHMARK(BM_single_taskflow)->UseRealTime();
#endif

// (f) A stage that ignores the stop request for 25 ms, under a 20 ms abandon deadline.
struct Deaf {
  static constexpr std::string_view name = "deaf";
  int execute() const {
    std::this_thread::sleep_for(25ms);
    return 1;
  }
};
void BM_abandon_lateness(benchmark::State& state) {
  const Parallel runner(stageflow::ParallelExecutor(4));  // workers keep up with the left-behind stages
  const stageflow::Pipeline<Deaf> pipeline;
  const auto input = std::make_shared<const Input>();
  std::vector<double> late_us;
  for (auto _ : state) {
    const auto deadline = std::chrono::steady_clock::now() + 20ms;
    const auto result = runner.run(pipeline, input,
                                   stageflow::RunOptions{.deadline = deadline, .on_deadline = stageflow::DeadlineMode::abandon});
    late_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - deadline).count());
    benchmark::DoNotOptimize(result.status);
  }
  std::sort(late_us.begin(), late_us.end());
  if (!late_us.empty()) {
    state.counters["late_median_us"] = late_us[late_us.size() / 2];
    state.counters["late_p99_us"] = late_us[std::min(late_us.size() - 1, late_us.size() * 99 / 100)];
  }
}
BENCHMARK(BM_abandon_lateness)->Iterations(1000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

// Each pair three times: the mean, the p50 and the p99 (ratio_main.hpp's ":counter" names).
#define STAGEFLOW_LATENCY_RATIOS(title, ours, base, goal)                                                   \
  STAGEFLOW_BENCHMARK_RATIO(title " (mean)", ours "/real_time", base "/real_time", goal);                 \
  STAGEFLOW_BENCHMARK_RATIO(title " (p50)", ours "/real_time:p50_ns", base "/real_time:p50_ns", goal);   \
  STAGEFLOW_BENCHMARK_RATIO(title " (p99)", ours "/real_time:p99_ns", base "/real_time:p99_ns", goal)

STAGEFLOW_LATENCY_RATIOS("(a) 8-stage chain vs TBB", "BM_chain_parallel", "BM_chain_tbb", 0.5);
STAGEFLOW_LATENCY_RATIOS("(a) the same, no_clock, vs TBB", "BM_chain_parallel_untimed", "BM_chain_tbb", 0.5);
STAGEFLOW_LATENCY_RATIOS("(a) its 9 clock readings alone vs TBB", "BM_chain_clock_readings", "BM_chain_tbb", 0);
STAGEFLOW_LATENCY_RATIOS("(a) the chain vs Runner<> sequential", "BM_chain_parallel", "BM_chain_sequential", 0);
STAGEFLOW_LATENCY_RATIOS("(b) 1-4-1 spin 50us vs TBB", "BM_diamond_spin50_parallel", "BM_diamond_spin50_tbb", 1.05);
STAGEFLOW_LATENCY_RATIOS("(b) the same, spin 0, vs TBB", "BM_diamond_spin50_parallel_nospin", "BM_diamond_spin50_tbb", 0);
STAGEFLOW_LATENCY_RATIOS("(c) 1-4-1 sleep 1ms vs TBB", "BM_diamond_sleep1ms_parallel", "BM_diamond_sleep1ms_tbb", 1.05);
STAGEFLOW_BENCHMARK_RATIO("(c) 1-4-1 sleep 1ms vs sequential (mean)", "BM_diamond_sleep1ms_parallel/real_time",
                          "BM_diamond_sleep1ms_sequential/real_time", 0.55);
STAGEFLOW_LATENCY_RATIOS("(d) 1-16-1 spin 10us vs TBB", "BM_fan16_spin10_parallel", "BM_fan16_spin10_tbb", 1.1);
STAGEFLOW_LATENCY_RATIOS("(e) 1-stage run vs TBB", "BM_single_parallel", "BM_single_tbb", 0);
#if defined(STAGEFLOW_BENCH_HAVE_TASKFLOW)
STAGEFLOW_LATENCY_RATIOS("(a) 8-stage chain vs Taskflow", "BM_chain_parallel", "BM_chain_taskflow", 0);
STAGEFLOW_LATENCY_RATIOS("(b) 1-4-1 spin 50us vs Taskflow", "BM_diamond_spin50_parallel", "BM_diamond_spin50_taskflow", 0);
STAGEFLOW_LATENCY_RATIOS("(c) 1-4-1 sleep 1ms vs Taskflow", "BM_diamond_sleep1ms_parallel", "BM_diamond_sleep1ms_taskflow", 0);
STAGEFLOW_LATENCY_RATIOS("(d) 1-16-1 spin 10us vs Taskflow", "BM_fan16_spin10_parallel", "BM_fan16_spin10_taskflow", 0);
STAGEFLOW_LATENCY_RATIOS("(e) 1-stage run vs Taskflow", "BM_single_parallel", "BM_single_taskflow", 0);
#endif
STAGEFLOW_BENCHMARK_MAIN();
