// SPDX-License-Identifier: BSL-1.0
// Concurrent execution: ParallelExecutor against oneTBB's flow graph (the peer), with the same
// number of threads, and against our own sequential run. Wall time per run.
//
//   (a) 8 trivial stages in a chain;
//   (b) 1 -> 4 -> 1, the four branches spinning 50 us;
//   (c) 1 -> 4 -> 1, the four branches sleeping 1 ms (waiting on another service);
//   (d) how late run() returns after a 20 ms DeadlineMode::abandon deadline (median, p99 over 1000
//       runs, as counters).
//
// Thread counts: `threads` in total work on a run in both. oneTBB's arena of `threads` slots counts
// the calling thread, which takes part in wait_for_all; ParallelExecutor(threads - 1) has that
// many workers and the calling thread takes part too.
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
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

// (b), (c) the diamond, its branches doing Work.
enum class Work { spin, sleep };
template <Work W>
void work() {
  if constexpr (W == Work::spin)
    spin_for(50us);
  else
    std::this_thread::sleep_for(1ms);
}
struct Fan {
  static constexpr std::string_view name = "fan";
  int execute() const { return 1; }
};
template <Work W, int I>
struct Branch {
  static constexpr std::string_view name = std::array{"b0", "b1", "b2", "b3"}[I];
  using depends_on = stageflow::after<Fan>;
  int execute(const auto& ctx) const {
    work<W>();
    return *stageflow::input<Fan>(ctx) + I;
  }
};
template <Work W>
struct Gather {
  static constexpr std::string_view name = "gather";
  using depends_on = stageflow::after<Branch<W, 0>, Branch<W, 1>, Branch<W, 2>, Branch<W, 3>>;
  int execute(const auto& ctx) const {
    return *stageflow::input<Branch<W, 0>>(ctx) + *stageflow::input<Branch<W, 1>>(ctx) +
           *stageflow::input<Branch<W, 2>>(ctx) + *stageflow::input<Branch<W, 3>>(ctx);
  }
};
template <Work W>
using Diamond = stageflow::Pipeline<Fan, Branch<W, 0>, Branch<W, 1>, Branch<W, 2>, Branch<W, 3>, Gather<W>>;

using Parallel = stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>>;

const Parallel& parallel_runner() {
  static const Parallel runner(stageflow::ParallelExecutor(threads - 1));
  return runner;
}

void BM_chain_parallel(benchmark::State& state) {
  const auto& runner = parallel_runner();
  const Chain chain;
  const Input input;
  for (auto _ : state) benchmark::DoNotOptimize(*runner.run(chain, input).output<Link<7>>());
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
  for (auto _ : state) benchmark::DoNotOptimize(*runner.run(chain, input).output<Link<7>>());
}
BENCHMARK(BM_chain_parallel_untimed)->UseRealTime();

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
    for (auto _ : state) {
      nodes[0]->try_put(flow::continue_msg());
      g.wait_for_all();
      benchmark::DoNotOptimize(values[7]);
    }
  });
}
BENCHMARK(BM_chain_tbb)->UseRealTime();

template <Work W>
void BM_diamond_parallel(benchmark::State& state) {
  const auto& runner = parallel_runner();
  const Diamond<W> diamond;
  const Input input;
  for (auto _ : state) benchmark::DoNotOptimize(*runner.run(diamond, input).template output<Gather<W>>());
}
template <Work W>
void BM_diamond_sequential(benchmark::State& state) {
  const stageflow::Runner<> runner;
  const Diamond<W> diamond;
  const Input input;
  for (auto _ : state) benchmark::DoNotOptimize(*runner.run(diamond, input).template output<Gather<W>>());
}
template <Work W>
void BM_diamond_tbb(benchmark::State& state) {
  namespace flow = tbb::flow;
  tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    std::array<int, 6> values{};
    flow::continue_node<flow::continue_msg> fan(g, [&](const flow::continue_msg&) { values[0] = 1; });
    std::vector<std::unique_ptr<flow::continue_node<flow::continue_msg>>> branches;
    for (int i = 0; i < 4; ++i) {
      branches.push_back(std::make_unique<flow::continue_node<flow::continue_msg>>(g, [&values, i](const flow::continue_msg&) {
        work<W>();
        values[static_cast<std::size_t>(i + 1)] = values[0] + i;
      }));
      flow::make_edge(fan, *branches.back());
    }
    flow::continue_node<flow::continue_msg> gather(g, [&](const flow::continue_msg&) {
      values[5] = values[1] + values[2] + values[3] + values[4];
    });
    for (auto& b : branches) flow::make_edge(*b, gather);
    for (auto _ : state) {
      fan.try_put(flow::continue_msg());
      g.wait_for_all();
      benchmark::DoNotOptimize(values[5]);
    }
  });
}
BENCHMARK_TEMPLATE(BM_diamond_parallel, Work::spin)->UseRealTime();
BENCHMARK_TEMPLATE(BM_diamond_tbb, Work::spin)->UseRealTime();
BENCHMARK_TEMPLATE(BM_diamond_sequential, Work::spin)->UseRealTime();
BENCHMARK_TEMPLATE(BM_diamond_parallel, Work::sleep)->UseRealTime();
BENCHMARK_TEMPLATE(BM_diamond_tbb, Work::sleep)->UseRealTime();
BENCHMARK_TEMPLATE(BM_diamond_sequential, Work::sleep)->UseRealTime();

// (d) A stage that ignores the stop request for 25 ms, under a 20 ms abandon deadline.
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

STAGEFLOW_BENCHMARK_RATIO("(a) 8-stage chain: ParallelExecutor vs TBB flow graph", "BM_chain_parallel/real_time",
                          "BM_chain_tbb/real_time", 0.5);
STAGEFLOW_BENCHMARK_RATIO("(a) the same, no per-stage timing (no_clock) vs TBB",
                          "BM_chain_parallel_untimed/real_time", "BM_chain_tbb/real_time", 0.5);
STAGEFLOW_BENCHMARK_RATIO("(b) 1-4-1 spinning 50us: ParallelExecutor vs TBB",
                          "BM_diamond_parallel<Work::spin>/real_time", "BM_diamond_tbb<Work::spin>/real_time", 1.05);
STAGEFLOW_BENCHMARK_RATIO("(c) 1-4-1 sleeping 1ms: ParallelExecutor vs TBB",
                          "BM_diamond_parallel<Work::sleep>/real_time", "BM_diamond_tbb<Work::sleep>/real_time", 1.05);
STAGEFLOW_BENCHMARK_RATIO("(c) 1-4-1 sleeping 1ms: ParallelExecutor vs sequential",
                          "BM_diamond_parallel<Work::sleep>/real_time", "BM_diamond_sequential<Work::sleep>/real_time",
                          0.55);
STAGEFLOW_BENCHMARK_MAIN();
