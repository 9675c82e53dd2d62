// SPDX-License-Identifier: BSL-1.0
// RetryClock: what a stage's retries read the time from, draw their jitter from and wait on.
// By default: std::chrono::steady_clock, a per-thread generator, and a wait on the calling thread
// (SequentialExecutor and ParallelExecutor) or an Asio timer (async stages). A test installs its
// own with ScopedRetryClock, so backoffs and deadlines are checked without sleeping:
//
//   struct ManualClock : stageflow::RetryClock { ... now() advances by what wait() was asked ... };
//   ManualClock clock;
//   stageflow::ScopedRetryClock use(clock);   // every retry of every runner, until `use` ends
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>

namespace stageflow {

class RetryClock {
 public:
  using clock = std::chrono::steady_clock;
  virtual ~RetryClock() = default;
  virtual clock::time_point now() = 0;
  /// A uniform random number in [0, 1): the jitter.
  virtual double uniform() = 0;
  /// Waits `delay`, or less when `stop` is requested first: then returns false at once. An
  /// installed clock's wait serves async stages too (it may block: tests only).
  virtual bool wait(std::chrono::nanoseconds delay, const std::stop_token& stop) = 0;
};

namespace detail {
inline std::atomic<RetryClock*> installed_retry_clock{nullptr};

/// splitmix64 on a per-thread state: jitter needs spread, not secrecy, and no lock.
inline double default_retry_uniform() noexcept {
  thread_local std::uint64_t state =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<std::uintptr_t>(&state);
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

/// Waits on the calling thread; a stop request ends the wait at once.
inline bool default_retry_wait(std::chrono::nanoseconds delay, const std::stop_token& stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  return !cv.wait_for(lock, stop, delay, [] { return false; }) && !stop.stop_requested();
}

inline RetryClock::clock::time_point retry_now() {
  if (RetryClock* c = installed_retry_clock.load(std::memory_order_acquire)) return c->now();
  return RetryClock::clock::now();
}
inline double retry_uniform() {
  if (RetryClock* c = installed_retry_clock.load(std::memory_order_acquire)) return c->uniform();
  return default_retry_uniform();
}
}  // namespace detail

/// Installs `clock` for every retry in the process while it lives (tests; not nestable across threads).
class ScopedRetryClock {
 public:
  explicit ScopedRetryClock(RetryClock& clock) noexcept
      : previous_(detail::installed_retry_clock.exchange(&clock, std::memory_order_acq_rel)) {}
  ScopedRetryClock(const ScopedRetryClock&) = delete;
  ScopedRetryClock& operator=(const ScopedRetryClock&) = delete;
  ~ScopedRetryClock() { detail::installed_retry_clock.store(previous_, std::memory_order_release); }

 private:
  RetryClock* previous_;
};

}  // namespace stageflow
