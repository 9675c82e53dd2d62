// SPDX-License-Identifier: BSL-1.0
// schedule_backoff: a retry's backoff under an executor that runs on Boost.Asio (ParallelExecutor,
// which includes this header): an Asio timer on a strand of the executor, then `then(true)` on
// it; a stop request cancels the timer at once (`then(false)`). No thread waits meanwhile. The
// run engine finds this by argument-dependent lookup and waits on the thread for executors
// without it.
#pragma once

#include <stageflow/runner/cancel_on_stop.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>

namespace stageflow {

namespace detail {
/// One backoff: its timer, the stop request that cancels it, and what comes after. If the
/// executor drops the wait unrun (its context stopped), `then(false)` still runs, so the run ends.
template <class Then>
struct BackoffWait {
  template <class Executor>
  BackoffWait(const Executor& ex, std::chrono::nanoseconds delay, std::stop_token s, Then t)
      : timer(boost::asio::make_strand(ex), delay), stop(std::move(s)), then(std::move(t)) {}
  BackoffWait(const BackoffWait&) = delete;
  BackoffWait& operator=(const BackoffWait&) = delete;
  ~BackoffWait() {
    if (then) std::exchange(then, std::nullopt).value()(false);
  }
  void done(const boost::system::error_code& ec) {
    guard.reset();  // on the strand, as cancel_on_stop requires
    const bool waited = !ec && !stop.stop_requested();
    std::exchange(then, std::nullopt).value()(waited);
  }
  boost::asio::steady_timer timer;
  std::stop_token stop;
  std::optional<Then> then;
  std::optional<cancel_on_stop<boost::asio::steady_timer>> guard;
};
}  // namespace detail

/// Waits `delay` on a timer of `executor`'s Asio executor, then calls `then(waited)` there;
/// `waited` is false when `stop` was requested first.
template <class Executor, class Then>
  requires requires(const Executor& e) { boost::asio::make_strand(e.get_executor()); }
void schedule_backoff(const Executor& executor, std::chrono::nanoseconds delay, const std::stop_token& stop,
                      Then then) {
  auto wait = std::make_shared<detail::BackoffWait<Then>>(executor.get_executor(), delay, stop, std::move(then));
  wait->guard.emplace(wait->stop, wait->timer);
  auto& timer = wait->timer;
  timer.async_wait([wait = std::move(wait)](const boost::system::error_code& ec) { wait->done(ec); });
}

}  // namespace stageflow
