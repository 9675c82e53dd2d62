// SPDX-License-Identifier: BSL-1.0
// PrometheusMetrics on the hot path: an 8-stage pipeline of trivial stages under Runner<> and under
// Runner<PrometheusMetrics>, and the added cost per stage (goal: at most 50 ns). The hardening-event
// counter is an event sink, and a runner with any sink builds an event at every stage start and end:
// it is measured beside a sink that does nothing (what it adds to a runner that has a JSON Lines or
// OTLP sink anyway) and alone (what it costs a runner that had no sink).
#include <stageflow/observability/prometheus_metrics.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>

#include <prometheus/registry.h>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>

#include "mix_chain.hpp"
#include "ratio_main.hpp"

namespace {

struct Input {
  boost::uuids::uuid id = stageflow::helpers::generate_uuid7();
  std::uint64_t seed = 42;
  const boost::uuids::uuid& pipeline_run_id() const { return id; }
};

using stageflow::bench::Mix;
using Eight = stageflow::bench::MixChain;

/// A sink that receives every event and does nothing with it: the cost of having a sink at all.
struct DiscardingSink {
  void emit(const stageflow::Event& event) const { benchmark::DoNotOptimize(&event); }
};

/// A policy whose hook does nothing: what any policy costs the runner (with one, each stage is timed on
/// its own, two clock readings instead of one shared with the next stage).
struct NoOpPolicy {
  void after_stage(auto&, auto&) const {}
};

template <class Runner>
void run_loop(benchmark::State& state, const Runner& runner) {
  Input input;
  const Eight pipeline;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto result = runner.run(pipeline, input);
    benchmark::DoNotOptimize(*result.template output<Mix<7>>());
  }
}

stageflow::PrometheusMetrics metrics() {
  return stageflow::PrometheusMetrics(std::make_shared<prometheus::Registry>(), {.pipeline = "bench"});
}

void BM_runner_empty(benchmark::State& state) { run_loop(state, stageflow::Runner<>{}); }
void BM_noop_policy(benchmark::State& state) { run_loop(state, stageflow::Runner<NoOpPolicy>{}); }
void BM_prometheus(benchmark::State& state) { run_loop(state, stageflow::Runner<stageflow::PrometheusMetrics>(metrics())); }
void BM_prometheus_with_event_counter(benchmark::State& state) {
  const auto m = metrics();
  run_loop(state, stageflow::Runner<stageflow::PrometheusMetrics, stageflow::PrometheusEventCounter>(
                      m, m.event_counter()));
}
void BM_discarding_sink(benchmark::State& state) { run_loop(state, stageflow::Runner<DiscardingSink>{}); }
void BM_discarding_sink_prometheus(benchmark::State& state) {
  const auto m = metrics();
  run_loop(state, stageflow::Runner<stageflow::PrometheusMetrics, stageflow::PrometheusEventCounter, DiscardingSink>(
                      m, m.event_counter()));
}

// Concurrent runs on one policy: the counters and histograms are shared, per (pipeline, stage).
void BM_prometheus_threads(benchmark::State& state) {
  static const stageflow::Runner<stageflow::PrometheusMetrics> shared(metrics());
  run_loop(state, shared);
}
void BM_runner_empty_threads(benchmark::State& state) {
  static const stageflow::Runner<> shared;
  run_loop(state, shared);
}

}  // namespace

BENCHMARK(BM_runner_empty);
BENCHMARK(BM_noop_policy);
BENCHMARK(BM_prometheus);
BENCHMARK(BM_prometheus_with_event_counter);
BENCHMARK(BM_discarding_sink);
BENCHMARK(BM_discarding_sink_prometheus);
BENCHMARK(BM_runner_empty_threads)->Threads(2);
BENCHMARK(BM_prometheus_threads)->Threads(2);

STAGEFLOW_BENCHMARK_COST("PrometheusMetrics, per stage", "BM_prometheus", "BM_runner_empty", 8, 50);
STAGEFLOW_BENCHMARK_COST("  of which any policy (per-stage timing)", "BM_noop_policy", "BM_runner_empty", 8, 0);
STAGEFLOW_BENCHMARK_COST("  of which PrometheusMetrics' hooks", "BM_prometheus", "BM_noop_policy", 8, 0);
STAGEFLOW_BENCHMARK_COST("PrometheusMetrics + event counter beside a sink", "BM_discarding_sink_prometheus",
                         "BM_discarding_sink", 8, 50);
STAGEFLOW_BENCHMARK_COST("PrometheusMetrics, 2 threads, per stage", "BM_prometheus_threads/threads:2",
                         "BM_runner_empty_threads/threads:2", 8, 50);
STAGEFLOW_BENCHMARK_COST("PrometheusMetrics + event counter, no other sink", "BM_prometheus_with_event_counter",
                         "BM_runner_empty", 8, 0);
STAGEFLOW_BENCHMARK_RATIO("Runner<PrometheusMetrics> / Runner<>", "BM_prometheus", "BM_runner_empty", 0);
STAGEFLOW_BENCHMARK_RATIO("sink + metrics + counter / sink", "BM_discarding_sink_prometheus", "BM_discarding_sink", 0);

STAGEFLOW_BENCHMARK_MAIN();
