// SPDX-License-Identifier: BSL-1.0
// Clocks for tests. ManualSteadyClock moves only when a test says so; copies share one time, so a
// policy's copy of the clock sees the test's advance() at once. SteppingClock moves a millisecond
// at each reading, so a test can count a runner's readings (use_clock<SteppingClock>).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace stageflow::testing {

struct ManualSteadyClock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr bool is_steady = true;

  std::shared_ptr<std::atomic<rep>> ticks = std::make_shared<std::atomic<rep>>(1'000'000'000);

  time_point now() const noexcept { return time_point(duration(ticks->load(std::memory_order_acquire))); }
  void advance(duration d) const noexcept { ticks->fetch_add(d.count(), std::memory_order_acq_rel); }
};

/// A runner's clock (static now()) that moves exactly one millisecond at each reading; `ticks`
/// counts the readings of the whole program.
struct SteppingClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<SteppingClock, duration>;
  static constexpr bool is_steady = true;
  static inline std::atomic<std::int64_t> ticks{0};
  static time_point now() noexcept { return time_point(std::chrono::milliseconds(ticks.fetch_add(1) + 1)); }
};

}  // namespace stageflow::testing
