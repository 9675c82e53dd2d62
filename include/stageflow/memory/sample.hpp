// SPDX-License-Identifier: BSL-1.0
// A labelled memory sample (heap, resident set, exact allocation counts) and the change between two.
#pragma once

#include <stageflow/memory/sources.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace stageflow::helpers {

/// The change between two samples; a figure is absent when either sample lacks it.
struct MemoryDelta {
  std::optional<std::int64_t> heap_bytes;
  std::optional<std::int64_t> rss_bytes;
  std::optional<std::uint64_t> allocations;    ///< operator new calls in between (counter only)
  std::optional<std::uint64_t> deallocations;  ///< operator delete calls in between (counter only)
};

struct MemorySample {
  std::string label;
  std::chrono::system_clock::time_point time;
  std::optional<std::size_t> heap_bytes;       ///< heap in use, from heap_source
  std::optional<std::size_t> heap_peak_bytes;  ///< highest heap_bytes this tracker observed since start()
  std::optional<std::size_t> rss_bytes;        ///< resident set size
  std::optional<std::size_t> rss_peak_bytes;   ///< the kernel's RSS high-water mark (process lifetime)
  std::optional<AllocationCounts> allocations;  ///< exact totals, when the counter is installed
  HeapSource heap_source = HeapSource::none;

  /// What changed from `earlier` to this sample.
  MemoryDelta since(const MemorySample& earlier) const noexcept {
    auto difference = [](const std::optional<std::size_t>& now,
                         const std::optional<std::size_t>& before) -> std::optional<std::int64_t> {
      if (!now || !before) return std::nullopt;
      return static_cast<std::int64_t>(*now) - static_cast<std::int64_t>(*before);
    };
    MemoryDelta delta;
    if (heap_source == earlier.heap_source) delta.heap_bytes = difference(heap_bytes, earlier.heap_bytes);
    delta.rss_bytes = difference(rss_bytes, earlier.rss_bytes);
    if (allocations && earlier.allocations) {
      delta.allocations = allocations->allocations - earlier.allocations->allocations;
      delta.deallocations = allocations->deallocations - earlier.allocations->deallocations;
    }
    return delta;
  }
};

}  // namespace stageflow::helpers
