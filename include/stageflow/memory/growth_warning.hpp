// SPDX-License-Identifier: BSL-1.0
// What the memory tracker reports when memory grows too much, and its one-line text for logs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace stageflow::helpers {

enum class MemoryGrowthKind : std::uint8_t {
  absolute,   ///< grew past a multiple of the threshold above the baseline
  sustained,  ///< grew steadily across the last window of samples: a leak's signature
};

enum class MemoryMetric : std::uint8_t { heap, rss };

constexpr std::string_view to_string(MemoryGrowthKind kind) noexcept {
  return kind == MemoryGrowthKind::absolute ? "absolute" : "sustained";
}
constexpr std::string_view to_string(MemoryMetric metric) noexcept {
  return metric == MemoryMetric::heap ? "heap" : "rss";
}

/// Passed to listeners (and returned by try_observe) when memory grows too much.
struct MemoryGrowthWarning {
  MemoryGrowthKind kind = MemoryGrowthKind::absolute;
  MemoryMetric metric = MemoryMetric::heap;
  std::string label;  ///< the observation that raised it
  std::chrono::system_clock::time_point time;
  std::int64_t growth_bytes = 0;    ///< absolute: current - baseline; sustained: last - first of the window
  std::size_t baseline_bytes = 0;   ///< absolute: the tracker's baseline; sustained: the window's first value
  std::size_t current_bytes = 0;
  std::size_t threshold_bytes = 0;  ///< absolute: the growth threshold; sustained: the slope threshold per sample
  double slope_bytes_per_sample = 0.0;  ///< sustained: least-squares growth per sample over the window
  double trend = 0.0;                   ///< sustained: Kendall's tau over the window, 1 = strictly rising
  std::size_t window_samples = 0;       ///< sustained: samples in the window
};

}  // namespace stageflow::helpers

namespace stageflow::detail {
inline std::string format_bytes(double bytes) {
  char text[32];
  const double magnitude = bytes < 0 ? -bytes : bytes;
  if (magnitude >= 1024.0 * 1024 * 1024)
    std::snprintf(text, sizeof text, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  else if (magnitude >= 1024.0 * 1024)
    std::snprintf(text, sizeof text, "%.1f MiB", bytes / (1024.0 * 1024));
  else if (magnitude >= 1024.0)
    std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024.0);
  else
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  return text;
}
}  // namespace stageflow::detail

namespace stageflow::helpers {

/// A one-line description for logs, e.g.
/// "heap grew by 72.0 MiB from a baseline of 10.0 MiB (threshold 64.0 MiB) at 'run:end'".
inline std::string to_string(const MemoryGrowthWarning& warning) {
  std::string text(to_string(warning.metric));
  if (warning.kind == MemoryGrowthKind::absolute) {
    text += " grew by " + stageflow::detail::format_bytes(static_cast<double>(warning.growth_bytes)) + " from a baseline of " +
            stageflow::detail::format_bytes(static_cast<double>(warning.baseline_bytes)) + " (threshold " +
            stageflow::detail::format_bytes(static_cast<double>(warning.threshold_bytes)) + ")";
  } else {
    char trend[16];
    std::snprintf(trend, sizeof trend, "%.2f", warning.trend);
    text += " grew steadily over " + std::to_string(warning.window_samples) + " samples: " +
            stageflow::detail::format_bytes(static_cast<double>(warning.growth_bytes)) + ", " +
            stageflow::detail::format_bytes(warning.slope_bytes_per_sample) + " per sample (trend " + trend + ", threshold " +
            stageflow::detail::format_bytes(static_cast<double>(warning.threshold_bytes)) + " per sample)";
  }
  text += " at '" + warning.label + "'";
  return text;
}

}  // namespace stageflow::helpers
