// SPDX-License-Identifier: BSL-1.0
// MemoryTracker without the allocation counter: platform sources, the ring, growth detection,
// listeners, track_memory and MemoryScope, threads. The counter has its own program
// (test_memory_counter.cpp), since including it replaces operator new for the whole program.
#include <stageflow/helpers/memory_tracker.hpp>

#include "catch2_shim.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace stageflow::helpers;

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

/// A reader that replays heap figures, for exact control over growth detection.
struct ScriptedHeap {
  std::shared_ptr<std::vector<std::size_t>> values = std::make_shared<std::vector<std::size_t>>();
  std::shared_ptr<std::size_t> next = std::make_shared<std::size_t>(0);

  MemoryReading operator()() const {
    MemoryReading reading;
    reading.heap_bytes = (*values)[(*next)++ % values->size()];
    reading.heap_source = HeapSource::custom;
    return reading;
  }
};

/// Keeps the optimizer from removing allocations the test makes on purpose.
void touch(void* pointer, std::size_t size) {
  std::memset(pointer, 0x5a, size);
  asm volatile("" : : "r"(pointer) : "memory");
}

std::vector<MemoryGrowthWarning> observe_all(MemoryTracker& tracker, std::size_t count) {
  std::vector<MemoryGrowthWarning> warnings;
  for (std::size_t i = 0; i < count; ++i) {
    auto observation = tracker.try_observe("step");
    REQUIRE(observation);
    warnings.insert(warnings.end(), observation->warnings.begin(), observation->warnings.end());
  }
  return warnings;
}

}  // namespace

TEST_CASE("the platform sources report what this machine gives", "[memory][sources]") {
  CHECK_FALSE(allocation_counter_installed());
  CHECK_FALSE(allocation_counts().has_value());
#if defined(__linux__)
  const auto rss = resident_set_bytes();
  const auto peak = resident_set_peak_bytes();
  REQUIRE(rss.has_value());
  REQUIRE(peak.has_value());
  CHECK(*rss > 0);
  CHECK(*peak >= *rss / 2);  // the peak is sampled separately, but it cannot be far below
#endif
  if constexpr (allocator_statistics_available) {
    REQUIRE(allocator_heap_bytes().has_value());
    const MemoryReading reading = read_memory();
    CHECK(reading.heap_source == HeapSource::allocator);
    CHECK(reading.heap_bytes.has_value());
  } else {
    CHECK_FALSE(allocator_heap_bytes().has_value());
    CHECK(read_memory().heap_source == HeapSource::none);
  }
  const MemoryReading without_heap = read_memory(HeapSource::none, false);
  CHECK_FALSE(without_heap.heap_bytes.has_value());
  CHECK_FALSE(without_heap.rss_bytes.has_value());
  CHECK(without_heap.heap_source == HeapSource::none);
}

TEST_CASE("statm parsing takes the resident field and rejects garbage", "[memory][sources]") {
#if STAGEFLOW_MEMORY_HAS_PROC_STATM
  CHECK(stageflow::detail::parse_statm_resident_pages("7152 1536 1280 1 0 280 0\n") == std::optional<std::size_t>(1536));
  CHECK_FALSE(stageflow::detail::parse_statm_resident_pages("").has_value());
  CHECK_FALSE(stageflow::detail::parse_statm_resident_pages("7152").has_value());
  CHECK_FALSE(stageflow::detail::parse_statm_resident_pages("HTTP/1.1 200 OK").has_value());
#else
  STAGEFLOW_SKIP("no /proc/self/statm on this platform");
#endif
}

#if STAGEFLOW_MEMORY_HAS_PROC_STATM
namespace {
/// The descriptor the RSS reader keeps open, found through /proc/self/fd; -1 when none.
int cached_statm_descriptor() {
  for (int descriptor = 3; descriptor < 1024; ++descriptor) {
    char link[64];
    char target[256];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", descriptor);
    const ::ssize_t length = ::readlink(link, target, sizeof target - 1);
    if (length <= 0) continue;
    target[length] = '\0';
    if (std::string_view(target).ends_with("/statm")) return descriptor;
  }
  return -1;
}
}  // namespace

TEST_CASE("the RSS reader survives its descriptor being closed and its number reused", "[memory][sources]") {
  REQUIRE(resident_set_bytes().has_value());
  const int cached = cached_statm_descriptor();
  REQUIRE(cached >= 0);
  ::close(cached);  // what a careless "close every descriptor" does
  const int reused = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(reused == cached);  // the lowest free number comes back
  const auto rss = resident_set_bytes();
  REQUIRE(rss.has_value());
  CHECK(*rss > 0);
  CHECK(::fcntl(reused, F_GETFD) != -1);  // someone else's descriptor is left alone
  ::close(reused);
}

TEST_CASE("a forked child reads its own RSS, not its parent's", "[memory][sources]") {
  REQUIRE(resident_set_bytes().has_value());  // the parent has a cached descriptor now
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::size_t before = resident_set_bytes().value_or(0);
    auto block = std::make_unique<char[]>(64 * MiB);
    touch(block.get(), 64 * MiB);
    const std::size_t after = resident_set_bytes().value_or(0);
    ::_exit(after >= before + 60 * MiB ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
#endif

TEST_CASE("allocating and keeping 8 MiB shows as that growth in heap and RSS", "[memory][tracker]") {
  if (!allocator_statistics_available || !resident_set_available) STAGEFLOW_SKIP("needs glibc and Linux");
  MemoryTracker tracker;
  const MemorySample before = tracker.observe("before");
  auto kept = std::make_unique<char[]>(8 * MiB);
  touch(kept.get(), 8 * MiB);
  const MemorySample after = tracker.observe("after");
  const MemoryDelta delta = after.since(before);
  REQUIRE(delta.heap_bytes.has_value());
  // The allocator adds its chunk header and page rounding, and the tracker's ring its first slot.
  CHECK(*delta.heap_bytes >= static_cast<std::int64_t>(8 * MiB));
  CHECK(*delta.heap_bytes < static_cast<std::int64_t>(8 * MiB + 64 * 1024));
  REQUIRE(delta.rss_bytes.has_value());
  CHECK(*delta.rss_bytes >= static_cast<std::int64_t>(7 * MiB));
  CHECK_FALSE(delta.allocations.has_value());  // no counter in this program
  CHECK(after.rss_peak_bytes.value() >= after.rss_bytes.value());
  CHECK(after.heap_peak_bytes.value() >= after.heap_bytes.value());
}

TEST_CASE("observe on a stopped tracker is a clear logic_error", "[memory][tracker]") {
  MemoryTracker tracker;
  tracker.stop();
  CHECK_FALSE(tracker.active());
  try {
    tracker.observe("late");
    FAIL("observe on a stopped tracker did not throw");
  } catch (const std::logic_error& error) {
    const std::string message = error.what();
    CHECK(message.find("stopped") != std::string::npos);
    CHECK(message.find("late") != std::string::npos);
  }
  CHECK_FALSE(tracker.try_observe("late").has_value());
  CHECK(tracker.samples().empty());
  CHECK(tracker.observation_count() == 0);
}

TEST_CASE("auto_start = false waits for start(), and never crashes meanwhile", "[memory][tracker]") {
  MemoryTracker tracker({.auto_start = false});
  CHECK_FALSE(tracker.active());
  CHECK_THROWS_AS(tracker.observe("early"), std::logic_error);
  {
    MemoryScope scope(tracker, "scope");  // records nothing, throws nothing
    CHECK_FALSE(scope.start_sample().has_value());
  }
  auto tracked = track_memory("tracked", tracker, [] { return 42; });
  CHECK(tracked() == 42);  // the function runs; nothing is recorded
  CHECK(tracker.samples().empty());

  tracker.start();
  CHECK(tracker.active());
  CHECK(tracker.observe("now").label == "now");
  CHECK(tracker.samples().size() == 1);
}

TEST_CASE("the ring keeps the newest samples and never grows past its capacity", "[memory][tracker]") {
  MemoryTracker tracker({.sample_capacity = 5, .read_rss = false});
  for (int i = 0; i < 12; ++i) {
    tracker.observe("s" + std::to_string(i));
    CHECK(tracker.samples().size() == static_cast<std::size_t>(std::min(i + 1, 5)));
  }
  const auto samples = tracker.samples();
  REQUIRE(samples.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(samples[static_cast<std::size_t>(i)].label == "s" + std::to_string(7 + i));
  CHECK(tracker.latest()->label == "s11");
  CHECK(tracker.baseline()->label == "s0");  // the baseline outlives the ring
  CHECK(tracker.observation_count() == 12);
  for (std::size_t i = 1; i < samples.size(); ++i) CHECK(samples[i - 1].time <= samples[i].time);
}

TEST_CASE("a capacity of zero keeps no samples but still warns and calls listeners", "[memory][tracker]") {
  ScriptedHeap heap;
  *heap.values = {0, 10 * MiB};
  MemoryTracker tracker({.sample_capacity = 0, .heap_growth_threshold_bytes = MiB, .reader = heap});
  int samples_seen = 0;
  int warnings_seen = 0;
  tracker.add_listener([&](const MemorySample&) { ++samples_seen; });
  tracker.add_listener([&](const MemoryGrowthWarning&) { ++warnings_seen; });
  tracker.observe("a");
  tracker.observe("b");
  CHECK(tracker.samples().empty());
  CHECK_FALSE(tracker.latest().has_value());
  CHECK(samples_seen == 2);
  CHECK(warnings_seen == 1);
}

TEST_CASE("absolute growth warns once per multiple of the threshold above the baseline", "[memory][growth]") {
  ScriptedHeap heap;
  *heap.values = {100 * MiB, 103 * MiB, 104 * MiB, 99 * MiB, 105 * MiB, 109 * MiB, 113 * MiB};
  MemoryTracker tracker({.heap_growth_threshold_bytes = 4 * MiB, .sustained_growth_window = 0, .reader = heap});
  std::vector<std::vector<MemoryGrowthWarning>> raised;
  for (std::size_t i = 0; i < heap.values->size(); ++i) raised.push_back(tracker.try_observe("s")->warnings);
  CHECK(raised[0].empty());  // the baseline
  CHECK(raised[1].empty());  // +3 MiB
  REQUIRE(raised[2].size() == 1);  // +4 MiB: first multiple
  const MemoryGrowthWarning& first = raised[2][0];
  CHECK(first.kind == MemoryGrowthKind::absolute);
  CHECK(first.metric == MemoryMetric::heap);
  CHECK(first.growth_bytes == static_cast<std::int64_t>(4 * MiB));
  CHECK(first.baseline_bytes == 100 * MiB);
  CHECK(first.current_bytes == 104 * MiB);
  CHECK(first.threshold_bytes == 4 * MiB);
  CHECK(raised[3].empty());  // fell back
  CHECK(raised[4].empty());  // +5 MiB: the first multiple again, already reported
  REQUIRE(raised[5].size() == 1);  // +9 MiB: second multiple
  CHECK(raised[5][0].growth_bytes == static_cast<std::int64_t>(9 * MiB));
  REQUIRE(raised[6].size() == 1);  // +13 MiB: third
  CHECK(to_string(raised[6][0]).find("heap grew by 13.0 MiB from a baseline of 100.0 MiB") != std::string::npos);
}

TEST_CASE("start() after stop() takes a new baseline and re-arms the warnings", "[memory][growth]") {
  ScriptedHeap heap;
  *heap.values = {0, 5 * MiB, 5 * MiB, 10 * MiB};
  MemoryTracker tracker({.heap_growth_threshold_bytes = 4 * MiB, .sustained_growth_window = 0, .reader = heap});
  CHECK(tracker.try_observe("a")->warnings.empty());
  CHECK(tracker.try_observe("b")->warnings.size() == 1);
  tracker.stop();
  tracker.start();
  CHECK(tracker.try_observe("c")->warnings.empty());  // new baseline at 5 MiB
  CHECK(tracker.baseline()->label == "c");
  CHECK(tracker.try_observe("d")->warnings.size() == 1);  // +5 MiB from the new baseline
  CHECK(tracker.samples().size() == 4);  // samples from before the restart stay
}

TEST_CASE("a steady leak raises a sustained-growth warning", "[memory][growth]") {
  SECTION("scripted: 64 KiB per sample with noise") {
    ScriptedHeap heap;
    std::mt19937 random(7);
    std::uniform_int_distribution<std::size_t> noise(0, 16 * 1024);
    for (std::size_t i = 0; i < 40; ++i) heap.values->push_back(50 * MiB + i * 64 * 1024 + noise(random));
    MemoryTracker tracker({.heap_growth_threshold_bytes = 0, .sustained_growth_window = 16, .sustained_growth_warmup_samples = 0, .reader = heap});
    std::vector<std::size_t> raised_at;
    std::vector<MemoryGrowthWarning> warnings;
    for (std::size_t i = 0; i < heap.values->size(); ++i) {
      const auto observation = tracker.try_observe("run:end");
      for (const auto& warning : observation->warnings) {
        raised_at.push_back(i);
        warnings.push_back(warning);
      }
    }
    // Once the window is full, then once per fresh window.
    REQUIRE(raised_at == std::vector<std::size_t>{15, 31});
    const MemoryGrowthWarning& warning = warnings[0];
    CHECK(warning.kind == MemoryGrowthKind::sustained);
    CHECK(warning.metric == MemoryMetric::heap);
    CHECK(warning.window_samples == 16);
    CHECK(warning.slope_bytes_per_sample > 56 * 1024);
    CHECK(warning.slope_bytes_per_sample < 72 * 1024);
    CHECK(warning.trend > 0.9);
    CHECK(warning.baseline_bytes == (*heap.values)[0]);
    CHECK(warning.current_bytes == (*heap.values)[15]);
    CHECK(warning.growth_bytes ==
          static_cast<std::int64_t>((*heap.values)[15]) - static_cast<std::int64_t>((*heap.values)[0]));
    CHECK(to_string(warning).find("heap grew steadily over 16 samples") != std::string::npos);
  }
  SECTION("real: 256 KiB kept per observation, read from the allocator") {
    if (!allocator_statistics_available) STAGEFLOW_SKIP("needs glibc's mallinfo2");
    MemoryTracker tracker({.heap_growth_threshold_bytes = 0,
                           .sustained_growth_window = 8,
                           .sustained_growth_slope_bytes = 64 * 1024,
                           .sustained_growth_warmup_samples = 0,
                           .heap_source = HeapSource::allocator,
                           .read_rss = false});
    std::vector<std::unique_ptr<char[]>> leaked;
    leaked.reserve(64);
    std::vector<MemoryGrowthWarning> warnings;
    for (int i = 0; i < 8; ++i) {
      leaked.push_back(std::make_unique<char[]>(256 * 1024));
      touch(leaked.back().get(), 256 * 1024);
      auto observation = tracker.try_observe("leaky");
      warnings.insert(warnings.end(), observation->warnings.begin(), observation->warnings.end());
    }
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].kind == MemoryGrowthKind::sustained);
    CHECK(warnings[0].slope_bytes_per_sample >= 250 * 1024);
    CHECK(warnings[0].trend == 1.0);
  }
}

TEST_CASE("a flat workload raises no warning", "[memory][growth]") {
  SECTION("real: allocate and free each round, heap and RSS") {
    // A sanitizer's malloc keeps freed memory in quarantine, so its RSS really does climb.
    if (STAGEFLOW_MEMORY_SANITIZER_MALLOC) STAGEFLOW_SKIP("a sanitizer's malloc is not flat");
    MemoryTracker tracker({.heap_growth_threshold_bytes = 4 * MiB,
                           .rss_growth_threshold_bytes = 8 * MiB,
                           .sustained_growth_window = 8,
                           .sustained_growth_slope_bytes = 4096,  // a short window: allocator noise is larger
                           .sustained_growth_warmup_samples = 0});
    std::vector<MemoryGrowthWarning> warnings;
    std::mt19937 random(11);
    std::uniform_int_distribution<std::size_t> size(16, 4096);
    for (int round = 0; round < 200; ++round) {
      {
        auto big = std::make_unique<char[]>(MiB);
        touch(big.get(), MiB);
        std::vector<std::unique_ptr<char[]>> small;
        for (int i = 0; i < 64; ++i) small.push_back(std::make_unique<char[]>(size(random)));
      }
      auto observation = tracker.try_observe("round");
      warnings.insert(warnings.end(), observation->warnings.begin(), observation->warnings.end());
    }
    for (const auto& warning : warnings) UNSCOPED_INFO(to_string(warning));
    CHECK(warnings.empty());
  }
  SECTION("scripted: noise around a flat line") {
    ScriptedHeap heap;
    std::mt19937 random(3);
    std::uniform_int_distribution<std::size_t> noise(0, 512 * 1024);
    for (int i = 0; i < 2000; ++i) heap.values->push_back(200 * MiB + noise(random));
    MemoryTracker tracker({.heap_growth_threshold_bytes = 4 * MiB, .sustained_growth_warmup_samples = 0, .reader = heap});
    CHECK(observe_all(tracker, heap.values->size()).empty());
  }
  SECTION("scripted: a sawtooth (allocate, release, repeat)") {
    ScriptedHeap heap;
    for (int i = 0; i < 300; ++i) heap.values->push_back(10 * MiB + static_cast<std::size_t>(i % 10) * MiB);
    MemoryTracker tracker({.heap_growth_threshold_bytes = 16 * MiB, .sustained_growth_window = 16, .sustained_growth_warmup_samples = 0, .reader = heap});
    CHECK(observe_all(tracker, heap.values->size()).empty());
  }
}

TEST_CASE("one-off growth is not a leak: a step raises the absolute warning only", "[memory][growth]") {
  ScriptedHeap heap;
  for (int i = 0; i < 16; ++i) heap.values->push_back(10 * MiB);
  for (int i = 0; i < 16; ++i) heap.values->push_back(60 * MiB);  // a cache warms up once
  MemoryTracker tracker({.heap_growth_threshold_bytes = 32 * MiB, .sustained_growth_window = 32, .sustained_growth_warmup_samples = 0, .reader = heap});
  const auto warnings = observe_all(tracker, 32);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].kind == MemoryGrowthKind::absolute);
}

TEST_CASE("samples kept out of the growth window do not blur the trend", "[memory][growth]") {
  // Each run: start, a transient 40 MiB stage peak, end. The ends leak 128 KiB per run.
  MemoryTracker tracker({.heap_growth_threshold_bytes = 0,
                         .sustained_growth_window = 8,
                         .sustained_growth_warmup_samples = 0,
                         .reader = [run = 0, phase = 0]() mutable {
                           const std::size_t base = 100 * MiB + static_cast<std::size_t>(run) * 128 * 1024;
                           MemoryReading reading;
                           reading.heap_bytes = phase == 1 ? base + 40 * MiB : base;
                           reading.heap_source = HeapSource::custom;
                           if (++phase == 3) {
                             phase = 0;
                             ++run;
                           }
                           return reading;
                         }});
  std::vector<MemoryGrowthWarning> warnings;
  for (int run = 0; run < 8; ++run) {
    for (auto [label, in_window] :
         {std::pair{"run:start", false}, std::pair{"stage:end", false}, std::pair{"run:end", true}}) {
      auto observation = tracker.try_observe(label, {.in_growth_window = in_window});
      warnings.insert(warnings.end(), observation->warnings.begin(), observation->warnings.end());
    }
  }
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].label == "run:end");
  CHECK(warnings[0].trend == 1.0);
}

TEST_CASE("growth window statistics", "[memory][growth]") {
  stageflow::detail::GrowthWindow window(4);
  CHECK(window.slope() == 0.0);
  CHECK(window.trend() == 0.0);
  for (std::uint64_t value : {10, 20, 30, 40}) window.push(value);
  CHECK(window.full());
  CHECK(window.slope() == Approx(10.0));
  CHECK(window.trend() == 1.0);
  window.push(0);  // 20 30 40 0
  CHECK(window.front() == 20);
  CHECK(window.back() == 0);
  CHECK(window.trend() == Approx(0.0));  // 3 concordant, 3 discordant
  window.clear();
  for (std::uint64_t value : {40, 30, 20, 10}) window.push(value);
  CHECK(window.slope() == Approx(-10.0));
  CHECK(window.trend() == -1.0);
  window.clear();
  for (std::uint64_t value : {5, 5, 5, 5}) window.push(value);
  CHECK(window.slope() == 0.0);
  CHECK(window.trend() == 0.0);
  // Large values keep their precision: slopes are computed from the first value.
  window.clear();
  const std::uint64_t huge = std::uint64_t{1} << 50;
  for (std::uint64_t i = 0; i < 4; ++i) window.push(huge + 3 * i);
  CHECK(window.slope() == Approx(3.0));
}

TEST_CASE("the window's running statistics equal a full recomputation", "[memory][growth]") {
  auto brute_force = [](const std::vector<std::uint64_t>& values) {
    const std::size_t n = values.size();
    double mean_y = 0;
    for (auto value : values) mean_y += static_cast<double>(static_cast<std::int64_t>(value - values[0]));
    mean_y /= static_cast<double>(n);
    const double mean_x = static_cast<double>(n - 1) / 2.0;
    double covariance = 0;
    double variance = 0;
    std::int64_t score = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double x = static_cast<double>(i) - mean_x;
      covariance += x * (static_cast<double>(static_cast<std::int64_t>(values[i] - values[0])) - mean_y);
      variance += x * x;
      for (std::size_t j = i + 1; j < n; ++j) score += (values[j] > values[i]) - (values[j] < values[i]);
    }
    return std::pair{covariance / variance, static_cast<double>(score) / (static_cast<double>(n * (n - 1)) / 2.0)};
  };
  std::mt19937_64 random(5);
  for (std::size_t capacity : {3u, 4u, 17u, 64u}) {
    stageflow::detail::GrowthWindow window(capacity);
    std::vector<std::uint64_t> recent;
    // Starts near the top of the range and walks down by more than 2^32: exercises wrap-around and rebasing.
    std::uint64_t level = ~std::uint64_t{0} - (std::uint64_t{1} << 40);
    for (int step = 0; step < 2000; ++step) {
      level -= random() % (std::uint64_t{1} << 31);
      // Every fifth value repeats the previous one, so ties are exercised too.
      const std::uint64_t value = step % 5 == 4 ? recent.back() : level + random() % 4096;
      window.push(value);
      recent.push_back(value);
      if (recent.size() > capacity) recent.erase(recent.begin());
      if (recent.size() < 2) continue;
      const auto [slope, trend] = brute_force(recent);
      REQUIRE(window.size() == recent.size());
      REQUIRE(window.front() == recent.front());
      REQUIRE(window.back() == recent.back());
      REQUIRE(window.trend() == Approx(trend).margin(1e-12));
      REQUIRE(window.slope() == Approx(slope).epsilon(1e-9).margin(1e-3));
    }
  }
}

TEST_CASE("listeners get samples, warnings or both; a throwing one breaks nothing", "[memory][listeners]") {
  ScriptedHeap heap;
  *heap.values = {0, 8 * MiB};
  MemoryTracker tracker({.heap_growth_threshold_bytes = MiB, .reader = heap});
  std::vector<std::string> calls;
  tracker.add_listener([&](const MemorySample& sample) { calls.push_back("sample " + sample.label); });
  tracker.add_listener([](const MemorySample&) { throw std::runtime_error("listener failed"); });
  tracker.add_listener([&](const MemoryGrowthWarning& warning) { calls.push_back("warning " + warning.label); });
  struct Both {
    std::vector<std::string>* calls;
    void operator()(const MemorySample&) const { calls->push_back("both sample"); }
    void operator()(const MemoryGrowthWarning&) const { calls->push_back("both warning"); }
  };
  tracker.add_listener(Both{&calls});

  CHECK_NOTHROW(tracker.observe("first"));
  const MemorySample second = tracker.observe("second");
  CHECK(second.label == "second");
  CHECK(calls == std::vector<std::string>{"sample first", "both sample", "sample second", "both sample",
                                          "warning second", "both warning"});
  CHECK(tracker.samples().size() == 2);  // the throwing listener lost nothing
  CHECK(tracker.error_count() == 2);
  REQUIRE(tracker.last_error());
  try {
    std::rethrow_exception(tracker.last_error());
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what()) == "listener failed");
  }
}

TEST_CASE("track_memory wraps any callable and records start and end", "[memory][track_memory]") {
  MemoryTracker tracker({.read_rss = false});

  SECTION("value, void, reference results and arguments forwarded") {
    auto add = track_memory("add", tracker, [](int a, int b) { return a + b; });
    CHECK(add(2, 3) == 5);
    int counter = 0;
    auto bump = track_memory("bump", tracker, [&counter] { ++counter; });
    static_assert(std::is_void_v<decltype(bump())>);
    bump();
    CHECK(counter == 1);
    int target = 1;
    auto get = track_memory("ref", tracker, [](int& value) -> int& { return value; });
    static_assert(std::is_same_v<decltype(get(target)), int&>);
    get(target) = 7;
    CHECK(target == 7);
    std::vector<std::string> labels;
    for (const auto& sample : tracker.samples()) labels.push_back(sample.label);
    CHECK(labels == std::vector<std::string>{"add:start", "add:end", "bump:start", "bump:end", "ref:start", "ref:end"});
  }
  SECTION("move-only arguments, move-only and mutable callables") {
    auto consume = track_memory("consume", tracker, [](std::unique_ptr<int> value) { return *value * 2; });
    CHECK(consume(std::make_unique<int>(21)) == 42);
    auto owned = std::make_unique<int>(5);
    auto move_only = track_memory("owner", tracker, [held = std::move(owned)] { return *held; });
    CHECK(move_only() == 5);
    CHECK(std::move(move_only)() == 5);
    auto counting = track_memory("mutable", tracker, [n = 0]() mutable { return ++n; });
    CHECK(counting() == 1);
    CHECK(counting() == 2);
    CHECK(tracker.samples().size() == 10);
  }
  SECTION("a plain function") {
    struct Free {
      static int triple(int x) { return 3 * x; }
    };
    auto triple = track_memory("triple", tracker, Free::triple);
    CHECK(triple(4) == 12);
  }
  SECTION("the end sample is taken when the function throws, then the exception propagates") {
    auto failing = track_memory("failing", tracker, []() -> int { throw std::runtime_error("boom"); });
    CHECK_THROWS_WITH(failing(), "boom");
    const auto samples = tracker.samples();
    REQUIRE(samples.size() == 2);
    CHECK(samples[0].label == "failing:start");
    CHECK(samples[1].label == "failing:end");
  }
}

TEST_CASE("the one-argument track_memory records into the readable default tracker", "[memory][track_memory]") {
  MemoryTracker& global = default_memory_tracker();
  CHECK(&global == &default_memory_tracker());
  CHECK(global.active());
  const std::uint64_t before = global.observation_count();
  auto heavy = track_memory("heavy_stage", [] { return std::vector<int>(1000, 1); });
  CHECK(heavy().size() == 1000);
  CHECK(&heavy.tracker() == &global);
  CHECK(global.observation_count() == before + 2);
  const auto samples = global.samples();
  REQUIRE(samples.size() >= 2);
  CHECK(samples[samples.size() - 2].label == "heavy_stage:start");
  CHECK(samples.back().label == "heavy_stage:end");
}

TEST_CASE("MemoryScope records a block, early or at its end", "[memory][scope]") {
  MemoryTracker tracker({.read_rss = false});
  {
    MemoryScope scope(tracker, "block");
    REQUIRE(scope.start_sample().has_value());
    CHECK(scope.start_sample()->label == "block:start");
  }
  {
    MemoryScope scope(tracker, "early");
    auto end = scope.finish();
    REQUIRE(end.has_value());
    CHECK(end->label == "early:end");
    CHECK_FALSE(scope.finish().has_value());  // once
  }
  try {
    MemoryScope scope(tracker, "unwound");
    throw std::runtime_error("out");
  } catch (const std::runtime_error&) {
  }
  std::vector<std::string> labels;
  for (const auto& sample : tracker.samples()) labels.push_back(sample.label);
  CHECK(labels == std::vector<std::string>{"block:start", "block:end", "early:start", "early:end", "unwound:start",
                                           "unwound:end"});

  const std::uint64_t before = default_memory_tracker().observation_count();
  { MemoryScope scope("default"); }
  CHECK(default_memory_tracker().observation_count() == before + 2);
}

TEST_CASE("an end observation that throws in a scope's destructor is counted, not thrown", "[memory][scope]") {
  auto fail = std::make_shared<bool>(false);
  MemoryTracker tracker({.reader = [fail] {
    if (*fail) throw std::runtime_error("reader failed");
    return MemoryReading{};
  }});
  CHECK_NOTHROW([&] {
    MemoryScope scope(tracker, "fragile");
    *fail = true;
  }());
  CHECK(tracker.error_count() == 1);
  CHECK(tracker.samples().size() == 1);
  // Outside a destructor the reader's exception reaches the caller.
  CHECK_THROWS_WITH(tracker.observe("direct"), "reader failed");
  *fail = false;
  CHECK_NOTHROW(tracker.observe("ok"));
}

TEST_CASE("two threads observing one tracker lose nothing", "[memory][threads]") {
  MemoryTracker tracker({.sample_capacity = 64, .read_rss = false});
  std::atomic<int> listened{0};
  tracker.add_listener([&](const MemorySample&) { listened.fetch_add(1, std::memory_order_relaxed); });
  constexpr int per_thread = 5000;
  auto work = [&](const char* label) {
    for (int i = 0; i < per_thread; ++i) {
      tracker.observe(label);
      if (i % 500 == 0) (void)tracker.samples();
    }
  };
  std::thread first(work, "first-thread-with-a-long-label");
  std::thread second(work, "second-thread-with-a-long-label");
  first.join();
  second.join();
  CHECK(tracker.observation_count() == 2 * per_thread);
  CHECK(listened.load() == 2 * per_thread);
  const auto samples = tracker.samples();
  CHECK(samples.size() == 64);
  for (const auto& sample : samples)
    CHECK((sample.label == "first-thread-with-a-long-label" || sample.label == "second-thread-with-a-long-label"));
}

TEST_CASE("options are checked at construction with clear messages", "[memory][options]") {
  CHECK_THROWS_AS(MemoryTracker({.sustained_growth_window = 2}), std::invalid_argument);
  CHECK_THROWS_AS(MemoryTracker({.sustained_growth_window = 1025}), std::invalid_argument);
  CHECK_THROWS_AS(MemoryTracker({.sustained_growth_min_trend = 1.5}), std::invalid_argument);
  CHECK_THROWS_AS(MemoryTracker({.heap_source = HeapSource::custom}), std::invalid_argument);
  CHECK_THROWS_AS(MemoryTracker({.heap_source = HeapSource::allocator, .reader = [] { return MemoryReading{}; }}),
                  std::invalid_argument);
  try {
    MemoryTracker tracker({.heap_source = HeapSource::counter});
    FAIL("HeapSource::counter without the counter was accepted");
  } catch (const std::invalid_argument& error) {
    CHECK(std::string(error.what()).find("allocation_counter.hpp") != std::string::npos);
  }
  CHECK_NOTHROW(MemoryTracker({.sustained_growth_window = 0}));
  CHECK_NOTHROW(MemoryTracker({.heap_source = HeapSource::none}));
}

TEST_CASE("a tracker moves with its samples and listeners", "[memory][tracker]") {
  MemoryTracker original({.read_rss = false});
  int heard = 0;
  original.add_listener([&](const MemorySample&) { ++heard; });
  original.observe("one");
  MemoryTracker moved(std::move(original));
  CHECK(moved.active());
  CHECK_FALSE(original.active());  // NOLINT(bugprone-use-after-move): moved-from is stopped, still valid
  moved.observe("two");
  CHECK(moved.samples().size() == 2);
  CHECK(heard == 2);
  MemoryTracker assigned({.auto_start = false});
  assigned = std::move(moved);
  CHECK(assigned.observe("three").label == "three");
  CHECK(assigned.samples().size() == 3);
}
