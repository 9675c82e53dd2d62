// SPDX-License-Identifier: BSL-1.0
// The cost of one MemoryTracker observation per source, against one clock read (every sample is
// timestamped, so a clock read is the floor), and of each raw source. The allocation counter has
// its own program (bench_memory_counter.cpp): it replaces operator new for the whole program.
//
//   build/release/benchmarks/bench_memory --benchmark_min_time=0.2
#include <stageflow/helpers/memory_tracker.hpp>

#include "ratio_main.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

using namespace stageflow::helpers;

namespace {

void observe_loop(benchmark::State& state, MemoryTracker::Options options) {
  options.sample_capacity = 1024;
  MemoryTracker tracker(std::move(options));
  for (auto _ : state) benchmark::DoNotOptimize(tracker.try_observe("stage:end"));
}

}  // namespace

static void BM_clock_read(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::system_clock::now());
}
BENCHMARK(BM_clock_read);

// Bookkeeping alone: lock, ring slot, label, growth windows, no source read.
static void BM_observe_no_source(benchmark::State& state) {
  observe_loop(state, {.heap_source = HeapSource::none, .read_rss = false});
}
BENCHMARK(BM_observe_no_source);

static void BM_observe_rss(benchmark::State& state) {
  if (!resident_set_available) return state.SkipWithError("no /proc/self/statm here");
  observe_loop(state, {.heap_source = HeapSource::none, .read_rss = true});
}
BENCHMARK(BM_observe_rss);

static void BM_observe_mallinfo2(benchmark::State& state) {
  if (!allocator_statistics_available) return state.SkipWithError("no mallinfo2 here");
  observe_loop(state, {.heap_source = HeapSource::allocator, .read_rss = false});
}
BENCHMARK(BM_observe_mallinfo2);

// The default without the counter: mallinfo2 and /proc.
static void BM_observe_default(benchmark::State& state) { observe_loop(state, {}); }
BENCHMARK(BM_observe_default);

// A wrapped call records two samples: what track_memory adds to a call.
static void BM_track_memory_call(benchmark::State& state) {
  MemoryTracker tracker({.heap_source = HeapSource::none, .read_rss = false});
  auto tracked = track_memory("stage", tracker, [](int x) { return x + 1; });
  int value = 0;
  for (auto _ : state) benchmark::DoNotOptimize(value = tracked(value));
}
BENCHMARK(BM_track_memory_call);

// Raw sources.
static void BM_read_statm_cached(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(resident_set_bytes());
}
BENCHMARK(BM_read_statm_cached);

// What a naive reader pays: open, read, close every time.
static void BM_read_statm_open_read_close(benchmark::State& state) {
  char buffer[128];
  for (auto _ : state) {
    const int descriptor = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    benchmark::DoNotOptimize(::read(descriptor, buffer, sizeof buffer));
    ::close(descriptor);
  }
}
BENCHMARK(BM_read_statm_open_read_close);

static void BM_read_getrusage(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(resident_set_peak_bytes());
}
BENCHMARK(BM_read_getrusage);

static void BM_read_mallinfo2(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(allocator_heap_bytes());
}
BENCHMARK(BM_read_mallinfo2);

// mallinfo2 walks every free chunk of every arena (holding the arena's lock): a fragmented heap,
// here 100,000 free small chunks, makes each call far slower.
static void BM_read_mallinfo2_fragmented(benchmark::State& state) {
  std::mt19937 random(1);
  std::uniform_int_distribution<std::size_t> size(16, 512);
  std::vector<void*> blocks(200'000);
  for (auto& block : blocks) block = std::malloc(size(random));
  for (std::size_t i = 0; i < blocks.size(); i += 2) std::free(blocks[i]);
  for (auto _ : state) benchmark::DoNotOptimize(allocator_heap_bytes());
  for (std::size_t i = 1; i < blocks.size(); i += 2) std::free(blocks[i]);
}
BENCHMARK(BM_read_mallinfo2_fragmented)->Unit(benchmark::kMicrosecond);

// new/delete without the counter, for comparison with bench_memory_counter's counted pair.
static void BM_malloc_free(benchmark::State& state) {
  for (auto _ : state) {
    void* block = std::malloc(32);
    benchmark::DoNotOptimize(block);
    std::free(block);
  }
}
BENCHMARK(BM_malloc_free);

static void BM_new_delete_uncounted(benchmark::State& state) {
  for (auto _ : state) {
    void* block = ::operator new(32);
    benchmark::DoNotOptimize(block);
    ::operator delete(block);
  }
}
BENCHMARK(BM_new_delete_uncounted);

STAGEFLOW_BENCHMARK_RATIO("observe, bookkeeping only / clock read", "BM_observe_no_source", "BM_clock_read", 5.0);
STAGEFLOW_BENCHMARK_RATIO("observe, /proc RSS + peak / clock read", "BM_observe_rss", "BM_clock_read", 0);
STAGEFLOW_BENCHMARK_RATIO("observe, mallinfo2 / clock read", "BM_observe_mallinfo2", "BM_clock_read", 0);
STAGEFLOW_BENCHMARK_RATIO("observe, default (mallinfo2 + /proc) / clock read", "BM_observe_default", "BM_clock_read", 0);
STAGEFLOW_BENCHMARK_RATIO("statm: cached pread / open+read+close", "BM_read_statm_cached",
                          "BM_read_statm_open_read_close", 0.5);
STAGEFLOW_BENCHMARK_RATIO("mallinfo2: fragmented heap / clean heap", "BM_read_mallinfo2_fragmented",
                          "BM_read_mallinfo2", 0);
STAGEFLOW_BENCHMARK_RATIO("new/delete, no counter / malloc/free", "BM_new_delete_uncounted", "BM_malloc_free", 0);

STAGEFLOW_BENCHMARK_MAIN();
