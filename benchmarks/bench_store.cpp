// SPDX-License-Identifier: BSL-1.0
// Snapshot stores: loading version 100 of a twitter.json run (a base and the deltas since it)
// against parsing the document once, and the cost of one append (a delta) against storing a whole
// copy. SQLite always (a temporary file); PostgreSQL too when STAGEFLOW_POSTGRES_CONNINFO is set
// (scripts/test-servers run scripts/bench store).
#include <stageflow/json/parse.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/store/sqlite_store.hpp>
#if STAGEFLOW_BENCH_HAVE_LIBPQ
#  include <stageflow/store/postgres_store.hpp>
#endif

#include <simdjson.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ratio_main.hpp"
#include "shared_data.hpp"

namespace {

namespace ss = stageflow::store;
using stageflow::JsonValue;

/// 100 versions of twitter.json, a few edits each (as in tests/test_snapshot_store.cpp), minified.
const std::vector<std::string>* versions() {
  static const std::optional<std::vector<std::string>> texts = []() -> std::optional<std::vector<std::string>> {
    const auto file = stageflow::testing::shared_data_file("json/twitter.json");
    if (!file) return std::nullopt;
    JsonValue doc = stageflow::serialization::parse_json(stageflow::testing::read_file(*file));
    auto& statuses = doc["statuses"].as_array();
    std::vector<std::string> out;
    for (int v = 1; v <= 200; ++v) {
      auto& status = statuses[static_cast<std::size_t>(v) % statuses.size()];
      status["retweet_count"] = v * 7;
      status["text"] = "edited in version " + std::to_string(v);
      doc["search_metadata"]["version"] = v;
      out.push_back(stageflow::serialization::to_json(doc));
    }
    return out;
  }();
  return texts ? &*texts : nullptr;
}

std::string temp_db(const char* what) {
  return (std::filesystem::temp_directory_path() /
          ("stageflow_bench_store_" + std::string(what) + "_" + std::to_string(::getpid()) + ".db"))
      .string();
}

void remove_db(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
}

#define VERSIONS_OR_SKIP(texts)                                                          \
  const std::vector<std::string>* texts = versions();                                    \
  if (texts == nullptr) {                                                                \
    state.SkipWithError("shared data not found (json/twitter.json under STAGEFLOW_DATA_DIR)"); \
    return;                                                                              \
  }

template <class Store>
void fill(Store& store, const std::string& run, const std::vector<std::string>& texts) {
  store.erase(run);
  for (int v = 0; v < 100; ++v) store.append(run, texts[static_cast<std::size_t>(v)]);
}

void BM_sqlite_load_v100(benchmark::State& state) {
  VERSIONS_OR_SKIP(texts);
  const std::string path = temp_db("load");
  {
    ss::SqliteSnapshotStore store(path);
    fill(store, "run", *texts);
    for (auto _ : state) benchmark::DoNotOptimize(store.load("run", 100));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (*texts)[99].size()));
  }
  remove_db(path);
}

// Baselines: the document parsed once, by simdjson (the floor) and into a JsonValue.
void BM_simdjson_parse_once(benchmark::State& state) {
  VERSIONS_OR_SKIP(texts);
  simdjson::dom::parser parser;
  const simdjson::padded_string padded((*texts)[99]);
  for (auto _ : state) benchmark::DoNotOptimize(parser.parse(padded).error());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (*texts)[99].size()));
}

void BM_parse_json_once(benchmark::State& state) {
  VERSIONS_OR_SKIP(texts);
  stageflow::serialization::JsonParser parser;
  for (auto _ : state) benchmark::DoNotOptimize(parser.parse((*texts)[99]));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (*texts)[99].size()));
}

// One append per iteration, on a run that grows (its bases as the rules say); `rebase_every` 1 is
// the baseline: every version a whole copy.
void sqlite_append(benchmark::State& state, std::int64_t rebase_every) {
  VERSIONS_OR_SKIP(texts);
  const std::string path = temp_db(rebase_every == 1 ? "copies" : "append");
  {
    ss::SqliteSnapshotStore store(path, {.rebase_every = rebase_every});
    std::size_t i = 0;
    int run = 0;
    store.append("run0", (*texts)[0]);
    for (auto _ : state) {
      if (++i == texts->size()) {  // a fresh run every 200 versions
        state.PauseTiming();
        store.erase("run" + std::to_string(run++));
        i = 1;
        store.append("run" + std::to_string(run), (*texts)[0]);
        state.ResumeTiming();
      }
      benchmark::DoNotOptimize(store.append("run" + std::to_string(run), (*texts)[i]));
    }
  }
  remove_db(path);
}
void BM_sqlite_append(benchmark::State& state) { sqlite_append(state, ss::StoreOptions{}.rebase_every); }
void BM_sqlite_append_whole_copies(benchmark::State& state) { sqlite_append(state, 1); }

BENCHMARK(BM_sqlite_load_v100)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_simdjson_parse_once)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_parse_json_once)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_sqlite_append)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_sqlite_append_whole_copies)->Unit(benchmark::kMicrosecond);

#if STAGEFLOW_BENCH_HAVE_LIBPQ
// PostgreSQL: the same load, over loopback; wall time (the server works in another process).
void BM_postgres_load_v100(benchmark::State& state) {
  VERSIONS_OR_SKIP(texts);
  const char* conninfo = std::getenv("STAGEFLOW_POSTGRES_CONNINFO");
  if (conninfo == nullptr || *conninfo == '\0') {
    state.SkipWithError("STAGEFLOW_POSTGRES_CONNINFO not set (scripts/test-servers starts a server)");
    return;
  }
  const std::string table = "stageflow_bench_" + std::to_string(::getpid());
  {
    ss::PostgresSnapshotStore store(conninfo, {.table = table});
    fill(store, "run", *texts);
    for (auto _ : state) benchmark::DoNotOptimize(store.load("run", 100));
    store.backend().run("DROP TABLE " + table, {});
  }
}
BENCHMARK(BM_postgres_load_v100)->Unit(benchmark::kMicrosecond)->UseRealTime();
#endif

}  // namespace

// Goal (DESIGN section 6, issue 23): load of version 100 at most 3 times one parse of the document.
STAGEFLOW_BENCHMARK_RATIO("load v100 (SQLite) vs parse_json once", "BM_sqlite_load_v100", "BM_parse_json_once", 3.0);
STAGEFLOW_BENCHMARK_RATIO("load v100 (SQLite) vs simdjson parse once (the floor)", "BM_sqlite_load_v100",
                          "BM_simdjson_parse_once", 0);
STAGEFLOW_BENCHMARK_RATIO("append a version (SQLite) vs append a whole copy", "BM_sqlite_append",
                          "BM_sqlite_append_whole_copies", 0);
STAGEFLOW_BENCHMARK_MAIN();
