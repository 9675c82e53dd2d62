// SPDX-License-Identifier: BSL-1.0
// LatencyHistogram: what `hedge{.after = stageflow::hedge_at_percentile(95)}` reads. One per
// hedged stage type, process-wide (the latency belongs to the service the stage calls, not to a
// runner). Fixed size (180 counters, 4 per power of two: a percentile is at most 25% above the
// true one), lock-free (relaxed atomic increments), and it forgets: every `fade_every` samples
// each counter halves, so the delay follows a service that slows down or recovers.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace stageflow::detail {

class LatencyHistogram {
 public:
  static constexpr unsigned sub_buckets = 4;  // per power of two
  static constexpr unsigned max_exponent = 46;  // 2^46 ns, about 19 hours: anything longer counts there
  static constexpr std::size_t size = (max_exponent - 1) * sub_buckets;
  static constexpr std::uint64_t fade_every = 4096;

  void record(std::chrono::nanoseconds latency) noexcept {
    const auto ns = static_cast<std::uint64_t>(latency.count() < 1 ? 1 : latency.count());
    counts_[index(ns)].fetch_add(1, std::memory_order_relaxed);
    if ((recorded_.fetch_add(1, std::memory_order_relaxed) + 1) % fade_every == 0) fade();
  }

  /// Samples it holds now (after fading).
  std::uint64_t count() const noexcept {
    std::uint64_t total = 0;
    for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
    return total;
  }

  /// The latency below which `p` percent of the samples lie (the upper edge of its bucket); 0 when empty.
  std::chrono::nanoseconds percentile(double p) const noexcept {
    std::array<std::uint32_t, size> snapshot;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < size; ++i) total += snapshot[i] = counts_[i].load(std::memory_order_relaxed);
    if (total == 0) return std::chrono::nanoseconds(0);
    const double clamped = p < 0 ? 0 : p > 100 ? 100 : p;
    auto rank = static_cast<std::uint64_t>(clamped / 100.0 * static_cast<double>(total) + 0.5);
    if (rank < 1) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < size; ++i) {
      seen += snapshot[i];
      if (seen >= rank) return std::chrono::nanoseconds(static_cast<std::int64_t>(upper_edge(i)));
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(upper_edge(size - 1)));
  }

  /// The bucket of `ns` (>= 1): exact below 4 ns, then 4 buckets per power of two.
  static constexpr std::size_t index(std::uint64_t ns) noexcept {
    const unsigned e = static_cast<unsigned>(std::bit_width(ns)) - 1;
    if (e < 2) return static_cast<std::size_t>(ns);
    if (e >= max_exponent) return size - 1;
    const auto sub = static_cast<std::size_t>((ns >> (e - 2)) & 3);
    return (e - 1) * sub_buckets + sub;
  }
  /// The first latency above bucket i.
  static constexpr std::uint64_t upper_edge(std::size_t i) noexcept {
    if (i < sub_buckets) return i + 1;
    const std::size_t e = i / sub_buckets + 1;
    const std::uint64_t sub = i % sub_buckets;
    return (sub_buckets + sub + 1) << (e - 2);
  }

 private:
  void fade() noexcept {
    for (auto& c : counts_) {
      const std::uint32_t now = c.load(std::memory_order_relaxed);
      c.fetch_sub(now / 2, std::memory_order_relaxed);  // concurrent increments stay counted
    }
  }

  std::array<std::atomic<std::uint32_t>, size> counts_{};
  std::atomic<std::uint64_t> recorded_{0};
};
static_assert(LatencyHistogram::index(1) == 1 && LatencyHistogram::index(4) == 4 && LatencyHistogram::index(7) == 7 &&
              LatencyHistogram::index(8) == 8 && LatencyHistogram::upper_edge(8) == 10);

/// Stage S's histogram (used only when its hedge delay is a percentile).
template <class S>
inline LatencyHistogram stage_latencies;

/// Whether S's hedge delay is read from its latencies (hedge_at_percentile).
template <class S>
inline constexpr bool hedges_at_percentile = requires { S::hedge.after.percentile; };

/// The delay before S's next copy: fixed, or the percentile of its latencies once it has
/// `min_samples` of them (`fixed` until then).
template <class S>
std::chrono::nanoseconds hedge_delay() noexcept {
  if constexpr (hedges_at_percentile<S>) {
    constexpr auto after = S::hedge.after;
    if (after.percentile > 0 && stage_latencies<S>.count() >= after.min_samples)
      return stage_latencies<S>.percentile(after.percentile);
    return after.fixed;
  } else {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(S::hedge.after);
  }
}

/// A copy of S answered after `latency`.
template <class S>
void record_hedge_latency([[maybe_unused]] std::chrono::nanoseconds latency) noexcept {
  if constexpr (hedges_at_percentile<S>) stage_latencies<S>.record(latency);
}

}  // namespace stageflow::detail
