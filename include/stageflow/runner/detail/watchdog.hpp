// SPDX-License-Identifier: BSL-1.0
// Watchdog: one background thread that fires callbacks at steady_clock deadlines, for run deadlines
// and stage timeouts. It exists so a deadline reaches a stage wherever it runs, the calling thread
// included (SequentialExecutor), without a timer per run. Started on first use; a program that sets
// no deadline and no timeout never starts it.
//
// Its lifetime is its users': every armed alarm holds a shared_ptr to it. A static runner whose
// pool joins a late stage at exit may disarm that stage's alarm after the process's own reference
// is gone (static destruction runs in reverse order of construction); the watchdog then lives
// until that last alarm goes.
//
// Callbacks run on the watchdog thread and must be short (they request stop and wake waiters).
// disarm() guarantees that, once it returns, the callback is neither running nor will run: so a
// callback may point into a frame that disarms before it dies.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace stageflow::detail {

class Watchdog {
 public:
  using clock = std::chrono::steady_clock;
  using Id = std::uint64_t;
  /// What arm() returns and disarm() takes.
  struct Ticket {
    clock::time_point when{};
    Id id = 0;
  };

  /// The process's watchdog, shared with every alarm armed on it.
  static std::shared_ptr<Watchdog> instance() {
    static const std::shared_ptr<Watchdog> watchdog(new Watchdog());
    return watchdog;
  }

  /// Calls `fire` at `when` (at once if it has passed), unless disarmed first.
  Ticket arm(clock::time_point when, std::function<void()> fire) {
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    const Id id = ++last_id_;
    const bool earliest = entries_.empty() || when < entries_.begin()->first.when;
    entries_.emplace(Key{when, id}, std::move(fire));
    if (earliest) wake_.notify_one();
    return {when, id};
  }

  /// Cancels `id`; returns after its callback finished if it was running (except on the watchdog
  /// thread itself, where waiting would deadlock).
  void disarm(Ticket ticket) {
    std::unique_lock lock(mutex_);
    if (entries_.erase(Key{ticket.when, ticket.id}) != 0) return;
    if (firing_ == ticket.id && std::this_thread::get_id() != thread_.get_id())
      fired_.wait(lock, [&] { return firing_ != ticket.id; });
  }

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (!thread_.joinable()) return;
    // A thread cannot join itself. No callback of the runner's destroys an alarm, so the last
    // reference never goes on the watchdog's thread; if a future one does, detaching beats
    // std::terminate (and that callback must then be the last thing the loop runs).
    if (std::this_thread::get_id() == thread_.get_id())
      thread_.detach();
    else
      thread_.join();
  }

 private:
  struct Key {
    clock::time_point when;
    Id id;
    bool operator<(const Key& other) const noexcept {
      return when != other.when ? when < other.when : id < other.id;
    }
  };

  Watchdog() = default;

  void loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (entries_.empty()) {
        wake_.wait(lock);
        continue;
      }
      auto first = entries_.begin();
      // A copy: wait_until keeps its argument by reference, and disarm() may erase the entry
      // while this thread waits.
      const clock::time_point when = first->first.when;
      if (clock::now() < when) {
        wake_.wait_until(lock, when);
        continue;
      }
      std::function<void()> fire = std::move(first->second);
      firing_ = first->first.id;
      entries_.erase(first);
      lock.unlock();
      try {
        fire();
      } catch (...) {
        // A callback that throws loses nothing but itself.
      }
      lock.lock();
      firing_ = 0;
      fired_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable fired_;
  std::map<Key, std::function<void()>> entries_;
  std::thread thread_;
  Id last_id_ = 0;
  Id firing_ = 0;
  bool stopping_ = false;
};

/// Arms the watchdog for its lifetime (a no-op when there is no deadline).
class WatchdogAlarm {
 public:
  WatchdogAlarm() = default;
  WatchdogAlarm(Watchdog::clock::time_point when, std::function<void()> fire)
      : watchdog_(Watchdog::instance()), ticket_(watchdog_->arm(when, std::move(fire))) {}
  WatchdogAlarm(const WatchdogAlarm&) = delete;
  WatchdogAlarm& operator=(const WatchdogAlarm&) = delete;
  ~WatchdogAlarm() { disarm(); }
  void disarm() {
    if (ticket_.id != 0) watchdog_->disarm(std::exchange(ticket_, {}));
    watchdog_.reset();
  }

 private:
  std::shared_ptr<Watchdog> watchdog_;
  Watchdog::Ticket ticket_{};
};

}  // namespace stageflow::detail
