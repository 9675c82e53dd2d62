// SPDX-License-Identifier: BSL-1.0
// What store::Checkpoint costs: the 4-stage chat pipeline on the 2.5 KB chat snapshot (as in
// bench_policies), with a checkpoint to a SQLite store after each stage, against the same run
// without it. A fresh run id per run (each run's first checkpoint is a base, the others deltas), in
// both. The null store shows the policy's own part (serializing, building the document).
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/store/checkpoint.hpp>
#include <stageflow/store/sqlite_store.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>

#include "chat_pipeline.hpp"
#include "ratio_main.hpp"

namespace {

using namespace stageflow;
using namespace stageflow::bench;  // Chat, chat_snapshot(), stages


/// A store that keeps nothing: the policy's own cost.
struct NullStore {
  std::int64_t version = 0;
  std::int64_t append(std::string_view, std::string_view json) {
    benchmark::DoNotOptimize(json.data());
    return ++version;
  }
};

template <class R>
void run_chat(benchmark::State& state, const R& runner) {
  const Chat pipeline;
  auto snapshot = chat_snapshot();
  for (auto _ : state) {
    snapshot.run.pipeline_run_id = helpers::generate_uuid7();
    auto result = runner.run(pipeline, snapshot);
    benchmark::DoNotOptimize(result);
  }
  state.counters["snapshot_bytes"] = static_cast<double>(serialization::to_json(snapshot).size());
}

void BM_chat_run(benchmark::State& state) { run_chat(state, Runner<>{}); }

void BM_chat_checkpoint_null(benchmark::State& state) {
  NullStore store;
  run_chat(state, Runner<store::Checkpoint<NullStore>>{store::Checkpoint(store)});
}

void BM_chat_checkpoint_sqlite(benchmark::State& state) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("stageflow_bench_checkpoint_" + std::to_string(::getpid()) + ".db"))
                        .string();
  {
    store::SqliteSnapshotStore db(path);
    run_chat(state, Runner<store::Checkpoint<store::SqliteSnapshotStore>>{store::Checkpoint(db)});
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
}

}  // namespace

BENCHMARK(BM_chat_run);
BENCHMARK(BM_chat_checkpoint_null);
BENCHMARK(BM_chat_checkpoint_sqlite);

STAGEFLOW_BENCHMARK_RATIO("Checkpoint on SQLite / Runner<> (chat, 2.5 KB, 4 stages)", "BM_chat_checkpoint_sqlite",
                          "BM_chat_run", 0);
STAGEFLOW_BENCHMARK_COST("Checkpoint on SQLite, per stage", "BM_chat_checkpoint_sqlite", "BM_chat_run", stages, 0);
STAGEFLOW_BENCHMARK_COST("Checkpoint, the policy alone (null store), per stage", "BM_chat_checkpoint_null",
                         "BM_chat_run", stages, 0);
STAGEFLOW_BENCHMARK_MAIN();
