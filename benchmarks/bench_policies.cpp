// SPDX-License-Identifier: BSL-1.0
// What each hardening policy costs per run, against Runner<> on the same pipeline and snapshot.
// (A disabled policy costs nothing: see bench_runner and scripts/zero-cost-check.)
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/json_parse.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "chat_pipeline.hpp"
#include "ratio_main.hpp"
#include "shared_data.hpp"

namespace {

using namespace stageflow;
using namespace stageflow::bench;  // Chat, chat_snapshot(), stages


/// The same with twitter.json (632 KB) in its metadata, for the per-byte cost.
const ContextSnapshot* twitter_snapshot() {
  static const std::optional<ContextSnapshot> snapshot = []() -> std::optional<ContextSnapshot> {
    const auto path = testing::shared_data_file("json/twitter.json");
    if (!path) return std::nullopt;
    ContextSnapshot s = chat_snapshot();
    s.metadata = serialization::parse_json(testing::read_file(*path));
    return s;
  }();
  return snapshot ? &*snapshot : nullptr;
}

template <class R>
void run_chat(benchmark::State& state, const R& runner, const ContextSnapshot& snapshot) {
  const Chat pipeline;
  for (auto _ : state) {
    auto result = runner.run(pipeline, snapshot);
    benchmark::DoNotOptimize(result);
  }
  state.counters["stages"] = stages;
}

template <class R>
void BM_chat(benchmark::State& state) {
  run_chat(state, R{}, chat_snapshot());
}

// A fresh id per run (a repeated one would be a collision), so the snapshot changes each time;
// the baseline does the same without the policy.
template <class R>
void BM_chat_new_ids(benchmark::State& state) {
  const R runner;
  const Chat pipeline;
  auto snapshot = chat_snapshot();
  for (auto _ : state) {
    snapshot.run.pipeline_run_id = helpers::generate_uuid7();
    snapshot.run.request_id = helpers::generate_uuid7();
    snapshot.run.interaction_id = helpers::generate_uuid7();
    auto result = runner.run(pipeline, snapshot);
    benchmark::DoNotOptimize(result);
  }
}

void BM_chat_memory_counter_free(benchmark::State& state) {
  const Runner<pipeline::MemoryTracking> runner{pipeline::MemoryTracking(
      helpers::MemoryTrackerOptions{.heap_source = helpers::HeapSource::allocator, .read_rss = false})};
  run_chat(state, runner, chat_snapshot());
}
void BM_chat_memory_default(benchmark::State& state) {
  run_chat(state, Runner<pipeline::MemoryTracking>{}, chat_snapshot());
}

template <class R>
void BM_twitter(benchmark::State& state) {
  const auto* snapshot = twitter_snapshot();
  if (snapshot == nullptr) {
    state.SkipWithError("../shared/data/json/twitter.json is absent");
    return;
  }
  run_chat(state, R{}, *snapshot);
}

/// The floor of any "did it change?" check: one memcmp of as many bytes as the snapshot's
/// canonical JSON (both buffers warm in cache, as a snapshot a stage just read would be).
void BM_memcmp_floor(benchmark::State& state, const ContextSnapshot* snapshot) {
  if (snapshot == nullptr) {
    state.SkipWithError("../shared/data/json/twitter.json is absent");
    return;
  }
  const std::size_t bytes = serialization::byte_count(*snapshot);
  const std::string a(bytes, 'x');
  const std::string b = a;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a.data());
    benchmark::DoNotOptimize(b.data());
    const bool same = std::memcmp(a.data(), b.data(), bytes) == 0;
    benchmark::DoNotOptimize(same);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

const ContextSnapshot* chat_snapshot_once() {
  static const ContextSnapshot snapshot = chat_snapshot();
  return &snapshot;
}

/// A policy's cost per stage, (ours - Runner<>) / stages, against the memcmp floor: the ratio
/// issue 12 sets the immutability check's goal in.
struct PerStageGoal {
  const char* title;
  const char* ours;
  const char* plain;
  const char* floor;
  double goal;
};
const PerStageGoal per_stage_goals[] = {
    {"ImmutabilityInterceptor per stage / memcmp (chat)", "BM_chat<Immutability>", "BM_chat<Plain>",
     "BM_memcmp_floor/chat", 20},
    {"ImmutabilityInterceptor per stage / memcmp (twitter)", "BM_twitter<Immutability>", "BM_twitter<Plain>",
     "BM_memcmp_floor/twitter", 20},
};

/// The ratio table of ratio_main.hpp, then the per-stage costs against the floor.
class PerStageReporter : public bench::RatioReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const std::string name = run.run_name.str();
      if (median || (run.run_type == Run::RT_Iteration && !ns_.count(name)))
        ns_[name] = run.GetAdjustedCPUTime() * (run.time_unit == benchmark::kMicrosecond ? 1e3 : 1.0);
    }
    bench::RatioReporter::ReportRuns(runs);
  }
  void Finalize() override {
    bench::RatioReporter::Finalize();
    std::printf("\n%-56s %12s %12s %8s %8s\n", "per stage vs floor", "stage ns", "floor ns", "ratio", "goal");
    for (const auto& g : per_stage_goals) {
      if (!ns_.count(g.ours) || !ns_.count(g.plain) || !ns_.count(g.floor)) continue;  // filtered out
      const double per_stage = (ns_[g.ours] - ns_[g.plain]) / stages;
      const double ratio = per_stage / ns_[g.floor];
      std::printf("%-56s %12.1f %12.1f %8.1f %s%.0f\n", g.title, per_stage, ns_[g.floor], ratio,
                  ratio <= g.goal ? "<=" : "MISS>", g.goal);
    }
    std::fflush(stdout);
  }

 private:
  std::map<std::string, double> ns_;
};

using Plain = Runner<>;
using UuidTelemetry = Runner<pipeline::UuidTelemetry<>>;
using Immutability = Runner<pipeline::ImmutabilityInterceptor>;
using ContextSize = Runner<pipeline::ContextSizeInterceptor>;

}  // namespace

BENCHMARK(BM_chat<Plain>);
BENCHMARK(BM_chat_new_ids<Plain>);
BENCHMARK(BM_chat_new_ids<UuidTelemetry>);
BENCHMARK(BM_chat_memory_counter_free);
BENCHMARK(BM_chat_memory_default);
BENCHMARK(BM_chat<Immutability>);
BENCHMARK(BM_chat<ContextSize>);
BENCHMARK(BM_twitter<Plain>)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_twitter<Immutability>)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_twitter<ContextSize>)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_memcmp_floor, chat, chat_snapshot_once());
BENCHMARK_CAPTURE(BM_memcmp_floor, twitter, twitter_snapshot());

STAGEFLOW_BENCHMARK_RATIO("UuidTelemetry / Runner<> (3 ids per run)", "BM_chat_new_ids<UuidTelemetry>", "BM_chat_new_ids<Plain>", 0);
STAGEFLOW_BENCHMARK_RATIO("MemoryTracking, mallinfo2 / Runner<>", "BM_chat_memory_counter_free", "BM_chat<Plain>", 0);
STAGEFLOW_BENCHMARK_RATIO("MemoryTracking, default / Runner<>", "BM_chat_memory_default", "BM_chat<Plain>", 0);
STAGEFLOW_BENCHMARK_RATIO("ImmutabilityInterceptor / Runner<> (chat, 2.5 KB)", "BM_chat<Immutability>", "BM_chat<Plain>", 0);
STAGEFLOW_BENCHMARK_RATIO("ContextSizeInterceptor / Runner<> (chat, 2.5 KB)", "BM_chat<ContextSize>", "BM_chat<Plain>", 0);
STAGEFLOW_BENCHMARK_RATIO("ImmutabilityInterceptor / Runner<> (twitter)", "BM_twitter<Immutability>", "BM_twitter<Plain>", 0);
STAGEFLOW_BENCHMARK_RATIO("ContextSizeInterceptor / Runner<> (twitter)", "BM_twitter<ContextSize>", "BM_twitter<Plain>", 0);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  PerStageReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
