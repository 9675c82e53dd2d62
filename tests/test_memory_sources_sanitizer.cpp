// SPDX-License-Identifier: BSL-1.0
// The memory sources as a sanitizer build sees them (simulated here by the macro the header sets
// under -fsanitize=address/thread): the sanitizer's malloc replaces glibc's, so HeapSource::allocator
// is unavailable. Asking for it must say so (not blame the C library), and HeapSource::automatic,
// the best available source, must work instead (issue 16, defect 2: the demo terminated there).
#define STAGEFLOW_MEMORY_SANITIZER_MALLOC 1
#include <stageflow/helpers/memory_tracker.hpp>

#include "catch2_shim.hpp"

#include <stdexcept>
#include <string>

using namespace stageflow::helpers;

TEST_CASE("under a sanitizer the allocator's statistics are off, and the error says why", "[memory][sanitizer]") {
  STATIC_REQUIRE_FALSE(allocator_statistics_available);
  CHECK_FALSE(allocator_heap_bytes().has_value());
  try {
    MemoryTracker tracker({.heap_source = HeapSource::allocator});
    FAIL("HeapSource::allocator was accepted under a sanitizer");
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(message.find("sanitizer") != std::string::npos);
    CHECK(message.find("glibc") == std::string::npos);
    CHECK(message.find("HeapSource::automatic") != std::string::npos);
  }
}

TEST_CASE("HeapSource::automatic falls back to the best available source", "[memory][sanitizer]") {
  CHECK(best_available_heap_source() == HeapSource::none);  // no allocation counter in this program
  MemoryTracker tracker({.heap_source = HeapSource::automatic, .read_rss = false});
  const MemorySample sample = tracker.observe("step");
  CHECK(sample.heap_source == best_available_heap_source());
  CHECK_FALSE(sample.heap_bytes.has_value());  // absent, not a made-up zero
  CHECK(tracker.samples().size() == 1);
}
