// SPDX-License-Identifier: BSL-1.0
// The opt-in allocation counter, in its own program: this translation unit is the one that
// includes allocation_counter.hpp, so every operator new/delete of the program is the counting one.
#include <stageflow/helpers/allocation_counter.hpp>
#include <stageflow/helpers/memory_tracker.hpp>

#include "catch2_shim.hpp"

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace stageflow::helpers;

#if STAGEFLOW_MEMORY_SANITIZER_MALLOC
// The failure tests ask for impossible sizes: let the sanitizer's malloc return null as glibc's does.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
extern "C" const char* __tsan_default_options() { return "allocator_may_return_null=1"; }
#endif

namespace {

constexpr std::size_t MiB = std::size_t{1} << 20;

/// Counts since construction, for checks that nothing else in the test program interferes with.
struct CountsSince {
  AllocationCounts start = allocation_counts().value();

  std::int64_t live_bytes() const {
    return static_cast<std::int64_t>(allocation_counts()->live_bytes) - static_cast<std::int64_t>(start.live_bytes);
  }
  std::uint64_t allocations() const { return allocation_counts()->allocations - start.allocations; }
  std::uint64_t deallocations() const { return allocation_counts()->deallocations - start.deallocations; }
};

/// Keeps the optimizer from eliding a new/delete pair (allowed since C++14).
void escape(void* pointer) { asm volatile("" : : "r"(pointer) : "memory"); }

struct alignas(256) OverAligned {
  unsigned char bytes[256];
};

std::size_t slot_count() {
  std::size_t count = 0;
  for (auto* slot = stageflow::detail::allocation_counter_registry.slots.load(); slot != nullptr; slot = slot->next)
    ++count;
  return count;
}

}  // namespace

TEST_CASE("the counter is detected and becomes the automatic heap source", "[memory][counter]") {
  CHECK(allocation_counter_installed());
  REQUIRE(allocation_counts().has_value());
  const MemoryReading reading = read_memory();
  CHECK(reading.heap_source == HeapSource::counter);
  REQUIRE(reading.allocations.has_value());
  CHECK(reading.heap_bytes == reading.allocations->live_bytes);
  CHECK(reading.allocations->allocations >= reading.allocations->deallocations);
  CHECK_NOTHROW(MemoryTracker({.heap_source = HeapSource::counter}));
}

TEST_CASE("allocating and keeping 8 MiB shows as exactly 8 MiB and one allocation", "[memory][counter]") {
  MemoryTracker tracker;
  SECTION("between two observations") {
    const MemorySample before = tracker.observe("stage:start");
    std::vector<char> kept(8 * MiB);
    escape(kept.data());
    const MemorySample after = tracker.observe("stage:end");
    const MemoryDelta delta = after.since(before);
    CHECK(after.heap_source == HeapSource::counter);
    CHECK(delta.heap_bytes == static_cast<std::int64_t>(8 * MiB));
    CHECK(delta.allocations == 1u);
    CHECK(delta.deallocations == 0u);
  }
  SECTION("as a tracked stage that returns what it allocated") {
    auto stage = track_memory("stage", tracker, [] { return std::vector<char>(8 * MiB); });
    const std::vector<char> kept = stage();
    const auto samples = tracker.samples();
    REQUIRE(samples.size() == 2);
    const MemoryDelta delta = samples[1].since(samples[0]);
    CHECK(delta.heap_bytes == static_cast<std::int64_t>(8 * MiB));
    CHECK(delta.allocations == 1u);
  }
  SECTION("a block that allocates and frees leaves no growth, but the counts show the churn") {
    MemoryScope scope(tracker, "churn");
    for (int i = 0; i < 10; ++i) {
      auto temporary = std::make_unique<char[]>(MiB);
      escape(temporary.get());
    }
    const auto end = scope.finish();
    const MemoryDelta delta = end->since(*scope.start_sample());
    CHECK(delta.heap_bytes == 0);
    CHECK(delta.allocations == 10u);
    CHECK(delta.deallocations == 10u);
  }
}

TEST_CASE("the tracker's own bookkeeping is invisible to the counter", "[memory][counter]") {
  MemoryTracker tracker({.sample_capacity = 8, .read_rss = false});
  int heard = 0;
  tracker.add_listener([&heard](const MemorySample&) { ++heard; });
  const MemorySample first = tracker.observe("a-label-long-enough-to-leave-the-small-string-buffer");
  for (int i = 0; i < 100; ++i) {
    tracker.observe("a-label-long-enough-to-leave-the-small-string-buffer");  // fills and wraps the ring
    (void)tracker.samples();
    (void)tracker.latest();
    MemoryScope scope(tracker, "another-label-long-enough-to-leave-the-small-string-buffer");
  }
  const MemorySample last = tracker.observe("a-label-long-enough-to-leave-the-small-string-buffer");
  const MemoryDelta delta = last.since(first);
  CHECK(delta.heap_bytes == 0);
  CHECK(delta.allocations == 0u);
  CHECK(delta.deallocations == 0u);
  CHECK(heard == 302);
}

TEST_CASE("every replaceable form of new and delete is counted and balanced", "[memory][counter]") {
  // Figures are captured first and checked after, so the test framework's own allocations stay out.
  const CountsSince counts;
  auto aligned_to = [](const void* pointer, std::size_t alignment) {
    return reinterpret_cast<std::uintptr_t>(pointer) % alignment == 0;
  };
  bool all_aligned = true;
  bool all_non_null = true;
  {
    int* single = new int(7);
    escape(single);
    delete single;

    int* array = new int[10];
    escape(array);
    delete[] array;

    auto* aligned = new OverAligned;
    escape(aligned);
    all_aligned &= aligned_to(aligned, 256);
    delete aligned;

    auto* aligned_array = new OverAligned[3];
    escape(aligned_array);
    all_aligned &= aligned_to(aligned_array, 256);
    delete[] aligned_array;

    int* nothrow_single = new (std::nothrow) int(1);
    all_non_null &= nothrow_single != nullptr;
    delete nothrow_single;

    int* nothrow_array = new (std::nothrow) int[4];
    all_non_null &= nothrow_array != nullptr;
    delete[] nothrow_array;

    auto* nothrow_aligned = new (std::nothrow) OverAligned;
    all_non_null &= nothrow_aligned != nullptr;
    all_aligned &= aligned_to(nothrow_aligned, 256);
    delete nothrow_aligned;

    auto* nothrow_aligned_array = new (std::nothrow) OverAligned[2];
    all_non_null &= nothrow_aligned_array != nullptr;
    all_aligned &= aligned_to(nothrow_aligned_array, 256);
    delete[] nothrow_aligned_array;

    // Direct calls, including the sized, aligned and nothrow deletes.
    void* raw = ::operator new(100);
    ::operator delete(raw, 100);
    raw = ::operator new[](100);
    ::operator delete[](raw, 100);
    raw = ::operator new(100, std::align_val_t{64});
    all_aligned &= aligned_to(raw, 64);
    ::operator delete(raw, 100, std::align_val_t{64});
    raw = ::operator new[](100, std::align_val_t{4096});
    all_aligned &= aligned_to(raw, 4096);
    ::operator delete[](raw, 100, std::align_val_t{4096});
    raw = ::operator new(8, std::nothrow);
    ::operator delete(raw, std::nothrow);
    raw = ::operator new[](8, std::nothrow);
    ::operator delete[](raw, std::nothrow);
    raw = ::operator new(8, std::align_val_t{32}, std::nothrow);
    all_aligned &= aligned_to(raw, 32);
    ::operator delete(raw, std::align_val_t{32}, std::nothrow);
    raw = ::operator new[](8, std::align_val_t{32}, std::nothrow);
    ::operator delete[](raw, std::align_val_t{32}, std::nothrow);
    raw = ::operator new(8, std::align_val_t{32});
    ::operator delete(raw, std::align_val_t{32});  // aligned delete without a size
    raw = ::operator new[](8, std::align_val_t{32});
    ::operator delete[](raw, std::align_val_t{32});
    raw = ::operator new(8);
    ::operator delete(raw);
    ::operator delete(nullptr);  // not a deallocation
  }
  const std::uint64_t allocations = counts.allocations();
  const std::uint64_t deallocations = counts.deallocations();
  const std::int64_t live = counts.live_bytes();
  CHECK(all_aligned);
  CHECK(all_non_null);
  CHECK(allocations == 19u);
  CHECK(deallocations == 19u);
  CHECK(live == 0);
}

TEST_CASE("live bytes count what was requested, whatever the alignment", "[memory][counter]") {
  const CountsSince counts;
  void* plain = ::operator new(1000);
  const std::int64_t after_plain = counts.live_bytes();
  void* aligned = ::operator new(1000, std::align_val_t{4096});
  const std::int64_t after_aligned = counts.live_bytes();
  void* empty = ::operator new(0);  // a unique non-null pointer, zero bytes
  const std::int64_t after_empty = counts.live_bytes();
  const std::uint64_t allocations = counts.allocations();
  ::operator delete(plain);
  ::operator delete(aligned, std::align_val_t{4096});
  ::operator delete(empty);
  const std::int64_t after_all = counts.live_bytes();
  CHECK(empty != nullptr);
  CHECK(after_plain == 1000);
  CHECK(after_aligned == 2000);
  CHECK(after_empty == 2000);
  CHECK(allocations == 3u);
  CHECK(after_all == 0);
}

TEST_CASE("failure follows operator new's contract: handler, bad_alloc, or null for nothrow", "[memory][counter]") {
  const CountsSince counts;
  const std::size_t impossible = SIZE_MAX / 2;
  CHECK_THROWS_AS(::operator new(impossible), std::bad_alloc);
  CHECK_THROWS_AS(::operator new(SIZE_MAX), std::bad_alloc);  // size + header would overflow
  CHECK(::operator new(impossible, std::nothrow) == nullptr);
  CHECK(::operator new(impossible, std::align_val_t{64}, std::nothrow) == nullptr);

  static int handler_calls = 0;
  handler_calls = 0;
  std::set_new_handler([] {
    ++handler_calls;
    std::set_new_handler(nullptr);  // give up on the second failure
  });
  CHECK_THROWS_AS(::operator new(impossible), std::bad_alloc);
  CHECK(handler_calls == 1);
  std::set_new_handler(nullptr);

  CHECK(counts.allocations() == 0u);  // failures are not allocations
  CHECK(counts.live_bytes() == 0);
}

TEST_CASE("memory freed on another thread, and threads that exit, keep totals exact", "[memory][counter][threads]") {
  const CountsSince counts;
  std::vector<std::unique_ptr<char[]>> handed_over;
  std::thread producer([&handed_over] {
    for (int i = 0; i < 100; ++i) handed_over.push_back(std::make_unique<char[]>(1000));
  });
  producer.join();
  // The vector's own buffer is live too; its size is unknown here, so check the blocks alone.
  const std::int64_t with_blocks = counts.live_bytes();
  CHECK(with_blocks >= 100 * 1000);
  handed_over.clear();  // freed here, allocated there
  CHECK(counts.live_bytes() == with_blocks - 100 * 1000);
  handed_over.shrink_to_fit();
  CHECK(counts.live_bytes() == 0);
  CHECK(counts.allocations() == counts.deallocations());

  // Slots of exited threads are reused: a hundred short threads in a row need at most a couple.
  const std::size_t slots_before = slot_count();
  for (int i = 0; i < 100; ++i) {
    std::thread worker([] {
      auto block = std::make_unique<int>(42);
      escape(block.get());
    });
    worker.join();
  }
  CHECK(slot_count() <= slots_before + 2);
  CHECK(counts.live_bytes() == 0);
}

TEST_CASE("a steady leak is found exactly with the counter", "[memory][counter][growth]") {
  MemoryTracker tracker({.heap_growth_threshold_bytes = 0,
                         .sustained_growth_window = 16,
                         .sustained_growth_slope_bytes = 512,
                         .sustained_growth_warmup_samples = 0,
                         .heap_source = HeapSource::counter,
                         .read_rss = false});
  std::vector<std::unique_ptr<char[]>> leaked;
  leaked.reserve(32);
  std::vector<MemoryGrowthWarning> warnings;
  for (int i = 0; i < 16; ++i) {
    leaked.push_back(std::make_unique<char[]>(1024));
    auto observation = tracker.try_observe("request:end");
    warnings.insert(warnings.end(), observation->warnings.begin(), observation->warnings.end());
  }
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].slope_bytes_per_sample == Approx(1024.0));
  CHECK(warnings[0].trend == 1.0);
  CHECK(warnings[0].growth_bytes == 15 * 1024);
}
