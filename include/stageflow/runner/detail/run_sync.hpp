// SPDX-License-Identifier: BSL-1.0
// The synchronization a run needs, chosen at compile time: real locks and atomics under a concurrent
// executor, nothing at all under SequentialExecutor (where the hooks and stages of a run take turns
// on one thread, so a lock would be pure cost).
#pragma once

#include <atomic>
#include <mutex>

namespace stageflow::detail {

struct no_lock {
  void lock() noexcept {}
  void unlock() noexcept {}
};

/// What a member is when the build does not need it (under [[no_unique_address]]: no space).
struct absent {};

template <bool Concurrent>
using run_mutex = std::conditional_t<Concurrent, std::mutex, no_lock>;

/// A flag set once by one thread and read by others.
template <bool Concurrent>
class run_flag {
 public:
  bool get() const noexcept { return value_; }
  void set() noexcept { value_ = true; }

 private:
  bool value_ = false;
};

template <>
class run_flag<true> {
 public:
  bool get() const noexcept { return value_.load(std::memory_order_acquire); }
  void set() noexcept { value_.store(true, std::memory_order_release); }

 private:
  std::atomic<bool> value_{false};
};

}  // namespace stageflow::detail
