// SPDX-License-Identifier: BSL-1.0
// UuidCollisionMonitor: notices an id used twice within a time window.
//
//   UuidCollisionMonitor monitor({.ttl_seconds = 300, .category = "pipeline", .check_skew = true});
//   bool collided = monitor.observe(pipeline_run_id);      // boost::uuids::uuid, or canonical text
//
// The window is the last `max_entries` observations younger than `ttl_seconds`. observe(id), as
// one atomic step: observations as old as the TTL leave the window; the id collides when the window
// still holds an earlier observation of it; the oldest observation leaves if the window is full;
// this observation joins. So each id is counted per observation, not kept in a set: with
// max_entries = 2, the sequence A, A, B, A reports the last A as a collision (the Python original
// forgets A when the older copy leaves), and an id seen once longer ago than the TTL is no
// collision even if nothing was observed in between (the Python original checked before expiring).
//
// Time: the TTL runs on a monotonic clock, so a wall-clock step does not expire or revive entries.
// The default clock is CLOCK_MONOTONIC_COARSE (a few ns a read; see clocks.hpp): entries leave
// within one kernel tick (1-4 ms) of their exact TTL. The wall clock serves only what is reported
// (UuidEvent::observed_at) and the skew check. Both clocks are template parameters and constructor
// arguments, so tests drive time by hand.
//
// Threads: every member function may be called from any thread. Check-and-insert is atomic under
// one mutex: when two threads observe the same id, exactly one of them sees the collision. The
// skew check and the listeners run outside the lock.
//
// Memory: bounded by max_entries whatever the input: memory_bytes() <= memory_bound(max_entries),
// 72 to 120 bytes per entry (4.3 MB for the default 50,000). Storage grows with use, so a monitor
// that sees few ids stays small.
//
// Listeners: called after each observation, on the observing thread, outside the lock, in the
// order they were added. A listener that throws does not disturb observe() or the other listeners:
// the exception is caught, counted in counters().listener_errors, handed to the error handler if
// one is set (set_listener_error_handler), and otherwise dropped.
//
// Fleet-wide (options.shared_window, see shared_window.hpp; on Redis: <stageflow/fleet/redis_window.hpp>):
// observe() still answers from the local window alone, and also hands the id to the shared window
// (a queue push under the same lock: no network on the request path). An id another instance
// claimed within the TTL reaches the listeners later, from the window's thread, as a UuidEvent with
// scope == UuidScope::fleet and the other instance's name; a backend that cannot be reached reaches
// the backend listeners (add_backend_listener) at most once per the window's report interval.
// Without a shared window none of this costs anything but one untaken branch.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/uuid/detail/window.hpp>
#include <stageflow/uuid/clock_skew_detector.hpp>
#include <stageflow/uuid/clocks.hpp>
#include <stageflow/uuid/shared_window.hpp>
#include <stageflow/uuid/text.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::helpers {

struct UuidCollisionMonitorOptions {
  /// How long an observation stays in the window, in seconds (> 0; infinity: until evicted).
  double ttl_seconds = 300.0;
  /// How many observations the window holds at most (1 to 2^30).
  std::size_t max_entries = 50'000;
  /// Names the monitor in events ("pipeline", "tool", ...).
  std::string category = "default";
  /// Also check each version 7 id's timestamp against the wall clock (see ClockSkewDetector).
  bool check_skew = false;
  /// The skew check's threshold in milliseconds, either way.
  double max_skew_ms = 5000.0;
  /// Also check ids against other instances (empty: this monitor's window only). See shared_window.hpp.
  SharedWindow shared_window{};
};

/// What a listener hears about one observation.
struct UuidEvent {
  boost::uuids::uuid id{};
  bool collided = false;
  std::string category{};
  std::chrono::system_clock::time_point observed_at{};  // wall clock
  std::optional<double> skew_ms{};                       // set when the skew check flagged the id
  UuidScope scope = UuidScope::local;                    // fleet: reported later by the shared window
  std::string other_instance{};                          // fleet: the instance that claimed the id first
};

/// What a backend listener hears: the shared window's backend is unavailable (once per interval).
struct UuidBackendNotice {
  std::string category{};
  std::string error{};                                   // the backend's own words
  std::chrono::system_clock::time_point observed_at{};   // wall clock
  std::uint64_t backend_errors = 0;                      // totals so far (see UuidMonitorCounters)
  std::uint64_t fleet_dropped = 0;
};

/// Everything one observation found, for callers that report both (the runner's telemetry policy).
struct UuidObservation {
  bool collided = false;
  std::optional<double> skew_ms{};  // id time minus now, when check_skew is on and it exceeds the threshold
};

struct UuidMonitorCounters {
  std::uint64_t observed = 0;         // observe() calls that recorded an id
  std::uint64_t collisions = 0;       // of which collided
  std::uint64_t skewed = 0;           // of which the skew check flagged
  std::uint64_t listener_errors = 0;  // exceptions thrown by listeners
  std::size_t live_entries = 0;       // observations in the window now
  std::size_t distinct_ids = 0;       // distinct ids in the window now
  // With a shared window (else 0):
  std::uint64_t fleet_collisions = 0;  // ids another instance had claimed within the TTL
  std::uint64_t fleet_dropped = 0;     // ids the fleet never checked (queue full, lost in an outage)
  std::uint64_t backend_errors = 0;    // failed connects and batches
};

template <SteadyClockSource SteadyClock = CoarseSteadyClock, WallClockSource WallClock = CoarseSystemClock>
class BasicUuidCollisionMonitor final : private SharedWindowReceiver {
 public:
  using Options = UuidCollisionMonitorOptions;
  using Listener = std::function<void(const UuidEvent&)>;
  using BackendListener = std::function<void(const UuidBackendNotice&)>;
  /// Receives what a listener threw (std::current_exception()) and the event it was handling.
  using ListenerErrorHandler = std::function<void(std::exception_ptr, const UuidEvent&)>;

  /// Throws std::invalid_argument for a TTL that is not > 0, max_entries outside 1..2^30 or a
  /// negative max_skew_ms. Allocates no window storage until the first observation. Starts the
  /// shared window, if any (std::logic_error when it already serves another monitor).
  explicit BasicUuidCollisionMonitor(Options options = {}, SteadyClock steady_clock = {}, WallClock wall_clock = {})
      : options_(std::move(options)),
        steady_clock_(std::move(steady_clock)),
        skew_detector_({.max_skew_ms = options_.max_skew_ms}, std::move(wall_clock)),
        window_(options_.max_entries, ttl_ticks(options_.ttl_seconds)),
        shared_(options_.shared_window.backend()) {
    if (shared_) shared_->start(std::chrono::nanoseconds(window_.ttl()), *this);
  }

  /// Moves the window, counters, listeners and the shared window. Do not move a monitor other
  /// threads are using. The moved-from monitor keeps its options (without the shared window) and starts empty.
  BasicUuidCollisionMonitor(BasicUuidCollisionMonitor&& other)
      : options_(other.options_),
        steady_clock_(other.steady_clock_),
        skew_detector_(other.skew_detector_),
        window_(other.window_.max_entries(), other.window_.ttl()) {
    {
      std::lock_guard lock(other.mutex_);
      steal(other);
    }
    if (shared_) shared_->retarget(*this);  // unlocked: a report in progress may need other.mutex_
  }
  BasicUuidCollisionMonitor& operator=(BasicUuidCollisionMonitor&& other) {
    if (this != &other) {
      if (shared_) shared_->stop();  // this monitor's own shared window ends here
      std::scoped_lock lock(mutex_, other.mutex_);
      options_ = other.options_;
      steady_clock_ = other.steady_clock_;
      skew_detector_ = other.skew_detector_;
      steal(other);
    }
    if (this != &other && shared_) shared_->retarget(*this);  // unlocked, as in the move constructor
    return *this;
  }
  BasicUuidCollisionMonitor(const BasicUuidCollisionMonitor&) = delete;
  BasicUuidCollisionMonitor& operator=(const BasicUuidCollisionMonitor&) = delete;
  /// Stops the shared window (joins its thread): no listener is called after this.
  ~BasicUuidCollisionMonitor() {
    if (shared_) shared_->stop();
  }

  /// Records the id; true when the window already held it (a collision).
  bool observe(const boost::uuids::uuid& id) { return observe_detailed(id).collided; }

  /// Parses canonical text (any case, optionally in braces; see uuid_text.hpp), then observe(id).
  /// Malformed text throws std::invalid_argument quoting it, and records nothing.
  bool observe(std::string_view text) { return observe(parse_uuid(text)); }

  /// observe(id), also returning the skew when check_skew is on and the id is past the threshold.
  UuidObservation observe_detailed(const boost::uuids::uuid& id) {
    const auto tick = to_tick(steady_clock_.now());
    UuidObservation result;
    std::optional<std::chrono::system_clock::time_point> wall_now;
    if (options_.check_skew && is_uuid7(id)) {
      wall_now = skew_detector_.clock().now();
      result.skew_ms = skew_detector_.check(id, *wall_now);
    }
    std::shared_ptr<const ListenerSet> listeners;
    {
      std::lock_guard lock(mutex_);
      result.collided = window_.observe(stageflow::detail::UuidKey::from(id), tick);
      ++counters_.observed;
      counters_.collisions += result.collided ? 1 : 0;
      counters_.skewed += result.skew_ms ? 1 : 0;
      if (shared_) shared_->submit(id);  // a queue push; serialized by this lock, as submit() asks
      if (listeners_) listeners = listeners_;
    }
    if (listeners) {
      const UuidEvent event{id, result.collided, options_.category,
                            wall_now ? *wall_now : skew_detector_.clock().now(), result.skew_ms};
      notify(*listeners, event);
    }
    return result;
  }

  /// As observe(text), with the skew (see the other overload).
  UuidObservation observe_detailed(std::string_view text) { return observe_detailed(parse_uuid(text)); }

  /// Adds a listener called after every observation (see the header comment). Throws
  /// std::invalid_argument for an empty std::function.
  void add_listener(Listener listener) {
    if (!listener) throw std::invalid_argument("stageflow: UuidCollisionMonitor::add_listener got an empty listener");
    std::lock_guard lock(mutex_);
    auto updated = listeners_ ? std::make_shared<ListenerSet>(*listeners_) : std::make_shared<ListenerSet>();
    updated->listeners.push_back(std::move(listener));
    listeners_ = std::move(updated);
  }

  /// Adds a listener called when the shared window's backend is unavailable (see the header
  /// comment), on the window's thread. Throws std::invalid_argument for an empty std::function.
  void add_backend_listener(BackendListener listener) {
    if (!listener)
      throw std::invalid_argument("stageflow: UuidCollisionMonitor::add_backend_listener got an empty listener");
    std::lock_guard lock(mutex_);
    auto updated = listeners_ ? std::make_shared<ListenerSet>(*listeners_) : std::make_shared<ListenerSet>();
    updated->backend_listeners.push_back(std::move(listener));
    listeners_ = std::move(updated);
  }

  /// Sets what receives listeners' exceptions (replacing any earlier handler; empty: drop them).
  /// An exception thrown by the handler itself is dropped.
  void set_listener_error_handler(ListenerErrorHandler handler) {
    std::lock_guard lock(mutex_);
    auto updated = listeners_ ? std::make_shared<ListenerSet>(*listeners_) : std::make_shared<ListenerSet>();
    updated->on_error = std::move(handler);
    listeners_ = std::move(updated);
  }

  /// A consistent snapshot of the counters; live_entries and distinct_ids leave out observations
  /// the TTL has expired by now.
  UuidMonitorCounters counters() const {
    const auto tick = to_tick(steady_clock_.now());
    std::lock_guard lock(mutex_);
    window_.expire(tick);
    UuidMonitorCounters snapshot = counters_;
    snapshot.live_entries = window_.size();
    snapshot.distinct_ids = window_.distinct();
    if (shared_) {
      const SharedWindowCounters fleet = shared_->counters();
      snapshot.fleet_collisions = fleet.fleet_collisions;
      snapshot.fleet_dropped = fleet.dropped;
      snapshot.backend_errors = fleet.backend_errors;
    }
    return snapshot;
  }

  /// Bytes the window holds now; never more than memory_bound(options().max_entries).
  std::size_t memory_bytes() const {
    std::lock_guard lock(mutex_);
    return window_.memory_bytes();
  }
  static std::size_t memory_bound(std::size_t max_entries) noexcept {
    return stageflow::detail::UuidWindow::memory_bound(max_entries);
  }

  const std::string& category() const noexcept { return options_.category; }
  const Options& options() const noexcept { return options_; }

 private:
  struct ListenerSet {
    std::vector<Listener> listeners;
    std::vector<BackendListener> backend_listeners;
    ListenerErrorHandler on_error;
  };

  std::shared_ptr<const ListenerSet> current_listeners() const {
    std::lock_guard lock(mutex_);
    return listeners_;
  }

  // SharedWindowReceiver: called on the shared window's thread.
  void on_fleet_collision(const boost::uuids::uuid& id, std::string_view other_instance) override {
    const auto listeners = current_listeners();
    if (!listeners || listeners->listeners.empty()) return;
    UuidEvent event{id, true, options_.category, skew_detector_.clock().now(), std::nullopt};
    event.scope = UuidScope::fleet;
    event.other_instance = std::string(other_instance);
    notify(*listeners, event);
  }
  bool on_backend_unavailable(std::string_view error, const SharedWindowCounters& fleet) override {
    const auto listeners = current_listeners();
    if (!listeners || listeners->backend_listeners.empty()) return false;
    const UuidBackendNotice notice{options_.category, std::string(error), skew_detector_.clock().now(),
                                   fleet.backend_errors, fleet.dropped};
    for (const auto& listener : listeners->backend_listeners) {
      try {
        listener(notice);
      } catch (...) {  // counted like a listener's; the window's thread goes on
        std::lock_guard lock(mutex_);
        ++counters_.listener_errors;
      }
    }
    return true;
  }

  static std::int64_t to_tick(const auto& time_point) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time_point.time_since_epoch()).count();
  }

  static std::int64_t ttl_ticks(double ttl_seconds) {
    if (!(ttl_seconds > 0.0))
      throw std::invalid_argument("stageflow: UuidCollisionMonitor ttl_seconds must be > 0, got " +
                                  std::to_string(ttl_seconds));
    const double nanoseconds = std::ceil(ttl_seconds * 1e9);
    constexpr auto max_ticks = std::numeric_limits<std::int64_t>::max();
    if (nanoseconds >= static_cast<double>(max_ticks)) return max_ticks;  // also infinity
    return static_cast<std::int64_t>(nanoseconds);
  }

  void notify(const ListenerSet& set, const UuidEvent& event) {
    for (const auto& listener : set.listeners) {
      try {
        listener(event);
      } catch (...) {
        {
          std::lock_guard lock(mutex_);
          ++counters_.listener_errors;
        }
        if (set.on_error) {
          try {
            set.on_error(std::current_exception(), event);
          } catch (...) {  // the handler's own failure has nowhere left to go
          }
        }
      }
    }
  }

  void steal(BasicUuidCollisionMonitor& other) {
    window_ = std::move(other.window_);
    counters_ = std::exchange(other.counters_, {});
    listeners_ = std::exchange(other.listeners_, nullptr);
    shared_ = std::exchange(other.shared_, nullptr);
    other.options_.shared_window = {};
  }

  Options options_;
  STAGEFLOW_NO_UNIQUE_ADDRESS SteadyClock steady_clock_;
  BasicClockSkewDetector<WallClock> skew_detector_;  // also the monitor's wall clock
  mutable std::mutex mutex_;
  // Guarded by mutex_:
  mutable stageflow::detail::UuidWindow window_;
  UuidMonitorCounters counters_{};
  std::shared_ptr<const ListenerSet> listeners_;  // copied on write, so observe() can call them unlocked
  SharedWindowBackend* shared_ = nullptr;         // options_.shared_window's, or null (local only)
};

/// The monitor on the coarse clocks (see clocks.hpp).
using UuidCollisionMonitor = BasicUuidCollisionMonitor<>;

}  // namespace stageflow::helpers
