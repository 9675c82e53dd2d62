// SPDX-License-Identifier: BSL-1.0
// What a MemoryTracker (tracker.hpp) is built with, and what one observation may ask: the growth
// thresholds, the sustained-growth detector's window and warm-up, and where figures come from.
#pragma once

#include <stageflow/memory/sources.hpp>

#include <cstddef>
#include <functional>
#include <string_view>

namespace stageflow::helpers {

struct MemoryTrackerOptions {
  /// Start at construction. With false, observe() throws and scopes record nothing until start().
  bool auto_start = true;
  /// Samples kept, the newest ones; 0 keeps none (warnings and listeners still work).
  std::size_t sample_capacity = 1024;
  /// Warn when the heap is this many bytes above the baseline (the first sample after start()),
  /// then again at each further multiple. Checked from the first sample, warm-up or not, so a big
  /// leak (1 MiB per run) is reported within a few dozen runs. 0 turns it off.
  std::size_t heap_growth_threshold_bytes = std::size_t{32} << 20;
  /// The same for the resident set size.
  std::size_t rss_growth_threshold_bytes = std::size_t{32} << 20;
  /// Samples in the sustained-growth window (0 turns the check off, else 3 to 1024; each
  /// observation costs two passes over it). A warning empties the window, so a continuing leak
  /// warns once per window.
  std::size_t sustained_growth_window = 32;
  /// Sustained growth needs a least-squares slope above this many bytes per sample...
  std::size_t sustained_growth_slope_bytes = 512;
  /// ...and a trend (Kendall's tau, 0 to 1) at least this high: 1 means every sample rose.
  double sustained_growth_min_trend = 0.8;
  /// Samples after start() that the sustained-growth check lets pass before its window starts:
  /// a program warming up (caches, pools, the UUID monitor's window filling) grows steadily for a
  /// while, and that is not a leak. 0 checks from the first sample. The absolute thresholds, from
  /// the first sample, are not affected.
  std::size_t sustained_growth_warmup_samples = 1000;
  /// Where heap figures come from; HeapSource::counter or HeapSource::allocator when that source is missing
  /// is a std::invalid_argument at construction. automatic is the best available one (see
  /// best_available_heap_source()): no heap figure rather than an error, e.g. under a sanitizer.
  HeapSource heap_source = HeapSource::automatic;
  /// Read the resident set size and its peak (about 1.3 us on Linux).
  bool read_rss = true;
  /// Replaces the built-in sources (another allocator's statistics, tests). Called on the
  /// observing thread, outside the tracker's lock (so possibly concurrently); its exceptions
  /// propagate out of observe.
  std::function<MemoryReading()> reader = {};
};

/// Per-observation choices.
struct ObserveOptions {
  /// Appended to the label (without a separate allocation): {.label_suffix = ":start"}.
  std::string_view label_suffix = {};
  /// false: recorded and checked against the absolute thresholds, but kept out of the
  /// sustained-growth window. For intermediate samples (stage boundaries) whose transient peaks
  /// would blur the trend between comparable points (run ends).
  bool in_growth_window = true;
};

}  // namespace stageflow::helpers
