// SPDX-License-Identifier: BSL-1.0
// A steady clock that moves only when a test says so; copies share one time, so a policy's copy
// of the clock sees the test's advance() at once.
#pragma once

#include <atomic>
#include <chrono>
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

}  // namespace stageflow::testing
