// SPDX-License-Identifier: BSL-1.0
// The tracker on a platform that gives no memory figures at all (no glibc mallinfo2, no /proc, no
// getrusage), simulated by switching every source off before the first include. It must compile,
// report absent figures as absent (never a made-up zero), and still record and track.
#define STAGEFLOW_MEMORY_HAS_MALLINFO2 0
#define STAGEFLOW_MEMORY_HAS_PROC_STATM 0
#define STAGEFLOW_MEMORY_HAS_GETRUSAGE 0
#include <stageflow/helpers/memory_tracker.hpp>

#include "catch2_shim.hpp"

#include <stdexcept>
#include <string>

using namespace stageflow::helpers;

TEST_CASE("without platform sources every figure is absent, not zero", "[memory][fallback]") {
  STATIC_REQUIRE_FALSE(allocator_statistics_available);
  STATIC_REQUIRE_FALSE(resident_set_available);
  STATIC_REQUIRE_FALSE(resident_set_peak_available);
  CHECK_FALSE(allocator_heap_bytes().has_value());
  CHECK_FALSE(resident_set_bytes().has_value());
  CHECK_FALSE(resident_set_peak_bytes().has_value());
  const MemoryReading reading = read_memory();
  CHECK(reading.heap_source == HeapSource::none);
  CHECK_FALSE(reading.heap_bytes.has_value());
  CHECK_FALSE(reading.rss_bytes.has_value());
  CHECK_FALSE(reading.allocations.has_value());
}

TEST_CASE("the tracker still records labels and times, and never warns on absent figures", "[memory][fallback]") {
  MemoryTracker tracker({.heap_growth_threshold_bytes = 1, .rss_growth_threshold_bytes = 1,
                         .sustained_growth_window = 3, .sustained_growth_slope_bytes = 0});
  for (int i = 0; i < 10; ++i) CHECK(tracker.try_observe("step")->warnings.empty());
  const auto samples = tracker.samples();
  REQUIRE(samples.size() == 10);
  CHECK(samples[0].label == "step");
  CHECK_FALSE(samples[0].heap_bytes.has_value());
  CHECK_FALSE(samples[0].heap_peak_bytes.has_value());
  const MemoryDelta delta = samples[9].since(samples[0]);
  CHECK_FALSE(delta.heap_bytes.has_value());
  CHECK_FALSE(delta.rss_bytes.has_value());
  auto tracked = track_memory("work", tracker, [] { return 1; });
  CHECK(tracked() == 1);
  CHECK(tracker.samples().size() == 12);
}

TEST_CASE("asking for a source the platform lacks is an error at construction", "[memory][fallback]") {
  try {
    MemoryTracker tracker({.heap_source = HeapSource::allocator});
    FAIL("HeapSource::allocator was accepted without mallinfo2");
  } catch (const std::invalid_argument& error) {
    CHECK(std::string(error.what()).find("mallinfo2") != std::string::npos);
  }
}
