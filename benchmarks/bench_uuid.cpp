// SPDX-License-Identifier: BSL-1.0
// UUID telemetry, ours against baselines in one binary:
//   generate_uuid7()         vs one std::chrono::system_clock::now() (the floor; goal <= 1.3x)
//                            vs Boost 1.74 random_generator (v4) and random_generator_mt19937 (information)
//   UuidCollisionMonitor::observe with 100k live ids
//                            vs std::unordered_set<uuid> insert + erase keeping the same 100k ids
//                            (goal <= 0.75x), single thread (plain set) and two threads (the set under a
//                            std::mutex, the least a thread-safe set needs)
#include <stageflow/helpers/uuid_utils.hpp>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_hash.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "ratio_main.hpp"

namespace {

using stageflow::helpers::UuidCollisionMonitor;

// --- generation --------------------------------------------------------------------------------

void BM_system_clock_now(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::system_clock::now());
}
BENCHMARK(BM_system_clock_now);

void BM_generate_uuid7(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(stageflow::helpers::generate_uuid7());
}
BENCHMARK(BM_generate_uuid7);

void BM_boost_random_generator(benchmark::State& state) {
  boost::uuids::random_generator generator;  // made once, as a user would
  for (auto _ : state) benchmark::DoNotOptimize(generator());
}
BENCHMARK(BM_boost_random_generator);

void BM_boost_random_generator_mt19937(benchmark::State& state) {
  boost::uuids::random_generator_mt19937 generator;
  for (auto _ : state) benchmark::DoNotOptimize(generator());
}
BENCHMARK(BM_boost_random_generator_mt19937);

// --- observe at 100k live ids ------------------------------------------------------------------

constexpr std::size_t live_ids = 100'000;
constexpr std::size_t id_pool_size = std::size_t{1} << 20;  // > live_ids: an id comes back long after it left

/// A million distinct UUIDv7s, made once: every benchmark below reads the same ids in the same order.
const std::vector<boost::uuids::uuid>& id_pool() {
  static const std::vector<boost::uuids::uuid> pool = [] {
    std::vector<boost::uuids::uuid> ids(id_pool_size);
    for (auto& id : ids) id = stageflow::helpers::generate_uuid7();
    return ids;
  }();
  return pool;
}

const boost::uuids::uuid& pool_id(std::size_t i) { return id_pool()[i & (id_pool_size - 1)]; }

UuidCollisionMonitor::Options window_of_live_ids() {
  return {.ttl_seconds = 3600, .max_entries = live_ids, .category = "bench"};
}

void BM_monitor_observe(benchmark::State& state) {
  UuidCollisionMonitor monitor(window_of_live_ids());
  for (std::size_t i = 0; i < live_ids; ++i) monitor.observe(pool_id(i));
  std::size_t next = live_ids;
  for (auto _ : state) benchmark::DoNotOptimize(monitor.observe(pool_id(next++)));
  if (monitor.counters().collisions != 0) state.SkipWithError("unexpected collisions");
}
BENCHMARK(BM_monitor_observe);

void BM_unordered_set_insert_erase(benchmark::State& state) {
  std::unordered_set<boost::uuids::uuid> set(id_pool().begin(), id_pool().begin() + live_ids);
  std::size_t next = live_ids;
  for (auto _ : state) {
    benchmark::DoNotOptimize(set.insert(pool_id(next)));
    set.erase(pool_id(next - live_ids));
    ++next;
  }
}
BENCHMARK(BM_unordered_set_insert_erase);

void BM_monitor_observe_check_skew(benchmark::State& state) {
  auto options = window_of_live_ids();
  options.check_skew = true;
  UuidCollisionMonitor monitor(std::move(options));
  for (std::size_t i = 0; i < live_ids; ++i) monitor.observe(pool_id(i));
  std::size_t next = live_ids;
  for (auto _ : state) benchmark::DoNotOptimize(monitor.observe_detailed(pool_id(next++)));
}
BENCHMARK(BM_monitor_observe_check_skew);

void BM_monitor_observe_text(benchmark::State& state) {
  std::vector<std::string> texts;
  texts.reserve(live_ids * 2);
  for (std::size_t i = 0; i < live_ids * 2; ++i) texts.push_back(boost::uuids::to_string(pool_id(i)));
  UuidCollisionMonitor monitor(window_of_live_ids());
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(monitor.observe(std::string_view(texts[next])));
    if (++next == texts.size()) next = 0;
  }
}
BENCHMARK(BM_monitor_observe_text);

// Two threads share one monitor / one set; each observes its own ids (even or odd pool indices).

std::unique_ptr<UuidCollisionMonitor> shared_monitor;

void BM_monitor_observe_2_threads(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared_monitor = std::make_unique<UuidCollisionMonitor>(window_of_live_ids());
    for (std::size_t i = 0; i < live_ids; ++i) shared_monitor->observe(pool_id(i));
  }
  const auto thread = static_cast<std::size_t>(state.thread_index());
  std::size_t next = live_ids / 2;
  for (auto _ : state) benchmark::DoNotOptimize(shared_monitor->observe(pool_id(2 * next++ + thread)));
  if (state.thread_index() == 0) {
    if (shared_monitor->counters().collisions != 0) state.SkipWithError("unexpected collisions");
    shared_monitor.reset();
  }
}
BENCHMARK(BM_monitor_observe_2_threads)->Threads(2);

struct LockedSet {
  std::mutex mutex;
  std::unordered_set<boost::uuids::uuid> set;
};
std::unique_ptr<LockedSet> shared_set;

void BM_locked_unordered_set_insert_erase_2_threads(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared_set = std::make_unique<LockedSet>();
    shared_set->set.insert(id_pool().begin(), id_pool().begin() + live_ids);
  }
  const auto thread = static_cast<std::size_t>(state.thread_index());
  std::size_t next = live_ids / 2;  // each thread erases the id it inserted live_ids / 2 steps ago
  for (auto _ : state) {
    std::lock_guard lock(shared_set->mutex);
    benchmark::DoNotOptimize(shared_set->set.insert(pool_id(2 * next + thread)));
    shared_set->set.erase(pool_id(2 * (next - live_ids / 2) + thread));
    ++next;
  }
  if (state.thread_index() == 0) shared_set.reset();
}
BENCHMARK(BM_locked_unordered_set_insert_erase_2_threads)->Threads(2);

}  // namespace

STAGEFLOW_BENCHMARK_RATIO("generate_uuid7 vs system_clock::now", "BM_generate_uuid7", "BM_system_clock_now", 1.3);
STAGEFLOW_BENCHMARK_RATIO("generate_uuid7 vs boost random_generator (v4)", "BM_generate_uuid7",
                          "BM_boost_random_generator", 0);
STAGEFLOW_BENCHMARK_RATIO("generate_uuid7 vs boost random_generator_mt19937", "BM_generate_uuid7",
                          "BM_boost_random_generator_mt19937", 0);
STAGEFLOW_BENCHMARK_RATIO("observe (100k live) vs unordered_set ins+erase", "BM_monitor_observe",
                          "BM_unordered_set_insert_erase", 0.75);
STAGEFLOW_BENCHMARK_RATIO("observe+skew (100k live) vs unordered_set", "BM_monitor_observe_check_skew",
                          "BM_unordered_set_insert_erase", 0);
STAGEFLOW_BENCHMARK_RATIO("observe 2 threads vs locked unordered_set", "BM_monitor_observe_2_threads/threads:2",
                          "BM_locked_unordered_set_insert_erase_2_threads/threads:2", 0.75);

STAGEFLOW_BENCHMARK_MAIN();
