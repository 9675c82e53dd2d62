// SPDX-License-Identifier: BSL-1.0
// StageTimeout: watches one execution of a stage that declares `timeout`. The stage sees a stop
// token of its own, chained to the run's; at the timeout the watchdog requests stop on it alone.
#pragma once

#include <stageflow/runner/detail/watchdog.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <stop_token>
#include <string>

namespace stageflow::detail {

/// A callable that requests stop on a source (std::stop_callback needs a named type).
struct request_stop_of {
  std::stop_source* source;
  void operator()() const noexcept { source->request_stop(); }
};

/// "20 ms", "0.5 ms": a duration as people read timeouts.
inline std::string milliseconds_text(std::chrono::nanoseconds d) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, static_cast<double>(d.count()) / 1e6).ptr;
  return std::string(buffer, end) + " ms";
}

class StageTimeout {
 public:
  using clock = std::chrono::steady_clock;

  StageTimeout(const std::stop_token& run_stop, std::chrono::nanoseconds timeout)
      : forward_(run_stop, request_stop_of{&source_}),
        started_(clock::now()),
        timeout_(timeout),
        alarm_(started_ + timeout, [this] {
          expired_.store(true, std::memory_order_release);
          source_.request_stop();
        }) {}

  /// The token the stage sees.
  const std::stop_token& token() const noexcept { return token_; }

  /// Ends the watch (the alarm cannot fire after this); true when the stage ran past its timeout.
  bool finish() {
    alarm_.disarm();
    return expired_.load(std::memory_order_acquire) || clock::now() - started_ >= timeout_;
  }

 private:
  std::stop_source source_;
  std::stop_token token_ = source_.get_token();
  std::atomic<bool> expired_{false};
  std::stop_callback<request_stop_of> forward_;
  clock::time_point started_;
  std::chrono::nanoseconds timeout_;
  WatchdogAlarm alarm_;  // last: disarmed before anything it touches is destroyed
};

}  // namespace stageflow::detail
