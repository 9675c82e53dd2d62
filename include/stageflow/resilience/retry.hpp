// SPDX-License-Identifier: BSL-1.0
// Retries: a stage that declares
//
//   static constexpr stageflow::Retry retry{.max_attempts = 3,
//                                           .initial_backoff = std::chrono::milliseconds(1),
//                                           .max_backoff = std::chrono::milliseconds(100),
//                                           .multiplier = 2.0, .jitter = stageflow::Jitter::full};
//
// is attempted again when an attempt throws or returns fail(...); skip and cancel are final, and a
// timeout is retried only with `.retry_timeouts = true`. A stage may answer
// `return stageflow::retry_after("rate limited", std::chrono::milliseconds(50));` (a failure): its
// next attempt waits at least that long. An attempt whose backoff would end after the run's
// deadline never starts: the stage ends with its last failure, and its reason says so.
//
// The runner reads these members through the stage (core/stage.hpp's has_retry), so it never
// includes this header: the schedule is Retry::delay, a pure function of the attempt, the previous
// delay and one uniform random number.
#pragma once

#include <stageflow/core/stage_output.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace stageflow {

/// How a backoff is spread (the names of AWS's "Exponential Backoff and Jitter"): with `b` the
/// exponential backoff of this retry (capped at max_backoff),
///   none          b
///   full          uniform in [0, b)
///   equal         b/2 + uniform in [0, b/2)
///   decorrelated  uniform in [initial_backoff, 3 * previous delay), capped at max_backoff
enum class Jitter : std::uint8_t { none, full, equal, decorrelated };

struct Retry {
  /// Attempts in all, the first included (1: no retry; at most 255, see StageReport::attempts).
  unsigned max_attempts = 3;
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(1);
  std::chrono::nanoseconds max_backoff = std::chrono::milliseconds(100);
  double multiplier = 2.0;
  Jitter jitter = Jitter::full;
  /// Whether an attempt that ran past the stage's timeout is retried (each attempt gets the whole timeout).
  bool retry_timeouts = false;

  /// The wait before retry number `retry` (1: before the second attempt), given the previous
  /// retry's wait (0 before the first), the floor a retry_after answer asked for, and `u`, a
  /// uniform random number in [0, 1). The floor wins over max_backoff: the service said so.
  constexpr std::chrono::nanoseconds delay(unsigned retry, std::chrono::nanoseconds previous,
                                           std::chrono::nanoseconds floor, double u) const noexcept {
    using ns = std::chrono::nanoseconds;
    const double cap = static_cast<double>(max_backoff.count());
    const double initial = std::min(static_cast<double>(initial_backoff.count()), cap);
    double b = initial;
    for (unsigned k = 1; k < retry && b < cap; ++k) b *= multiplier;
    b = std::min(b, cap);
    u = std::clamp(u, 0.0, 1.0);
    double d = b;
    switch (jitter) {
      case Jitter::none: break;
      case Jitter::full: d = u * b; break;
      case Jitter::equal: d = b / 2 + u * (b / 2); break;
      case Jitter::decorrelated: {
        const double prev = previous.count() > 0 ? static_cast<double>(previous.count()) : initial;
        const double high = std::max(initial, 3 * prev);
        d = std::min(cap, initial + u * (high - initial));
        break;
      }
    }
    const ns waited(static_cast<ns::rep>(std::max(0.0, d)));
    return std::max(waited, floor);
  }
};

/// A failure that asks for the next attempt no sooner than `delay` from now (a rate limiter's
/// answer). Converts to any StageOutput<T>; without a `retry` member it is a plain failure.
inline StageVerdict retry_after(std::string reason, std::chrono::nanoseconds delay) {
  return {StageStatus::fail, std::move(reason), delay};
}

}  // namespace stageflow
