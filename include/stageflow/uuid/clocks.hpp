// SPDX-License-Identifier: BSL-1.0
// Clocks for the hardening helpers: what an injected clock must provide, and the coarse clocks
// used by default.
//
// Every helper that reads time takes its clock as a template parameter and an object, so tests
// drive time by hand instead of sleeping. A steady clock measures intervals (TTLs); a wall clock
// says what time it is (reports, UUIDv7 timestamps) and must give system_clock time points.
//
// Coarse clocks: the time of the last timer tick, read without asking the hardware.
//
// On Linux, CLOCK_MONOTONIC_COARSE and CLOCK_REALTIME_COARSE cost a few nanoseconds (about 6-7 ns
// here, against about 25 ns for std::chrono::steady_clock / system_clock) and advance once per
// kernel tick: their resolution is 1 to 4 ms (`resolution()` says which). That is plenty for a TTL
// measured in seconds or a clock-skew threshold of seconds, and it is why the UUID collision monitor
// uses them by default. Elsewhere they are the standard clocks.
#pragma once

#include <chrono>
#include <concepts>

#if defined(__linux__)
#  include <time.h>
#endif

namespace stageflow::helpers {

/// A clock object whose now() is a std::chrono time point that never goes backwards.
template <class Clock>
concept SteadyClockSource = requires(const Clock& clock) {
  std::chrono::duration_cast<std::chrono::nanoseconds>(clock.now().time_since_epoch());
};

/// A clock object whose now() is (or converts to) a std::chrono::system_clock time point.
template <class Clock>
concept WallClockSource = requires(const Clock& clock) {
  { clock.now() } -> std::convertible_to<std::chrono::system_clock::time_point>;
};

#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE) && defined(CLOCK_REALTIME_COARSE)

/// The resolution of a POSIX clock (for the coarse clocks: the kernel tick).
inline std::chrono::nanoseconds posix_clock_resolution(clockid_t clock) noexcept {
  timespec ts{};
  ::clock_getres(clock, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

/// A steady clock that advances once per kernel tick (CLOCK_MONOTONIC_COARSE).
struct CoarseSteadyClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseSteadyClock, duration>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
  /// How far apart two distinct readings are at least (the kernel tick).
  static duration resolution() noexcept { return posix_clock_resolution(CLOCK_MONOTONIC_COARSE); }
};

/// The wall clock, advancing once per kernel tick (CLOCK_REALTIME_COARSE). Its time_point is
/// std::chrono::system_clock's, so readings mix freely with system_clock ones.
struct CoarseSystemClock {
  using duration = std::chrono::system_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::system_clock::time_point;
  static constexpr bool is_steady = false;

  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return time_point(std::chrono::duration_cast<duration>(std::chrono::seconds(ts.tv_sec) +
                                                           std::chrono::nanoseconds(ts.tv_nsec)));
  }
  static std::chrono::nanoseconds resolution() noexcept { return posix_clock_resolution(CLOCK_REALTIME_COARSE); }
};

#else  // no coarse clocks on this platform: the precise ones, same interface

struct CoarseSteadyClock : std::chrono::steady_clock {
  static std::chrono::nanoseconds resolution() noexcept { return std::chrono::nanoseconds(1); }
};
struct CoarseSystemClock : std::chrono::system_clock {
  static std::chrono::nanoseconds resolution() noexcept { return std::chrono::nanoseconds(1); }
};

#endif

}  // namespace stageflow::helpers
