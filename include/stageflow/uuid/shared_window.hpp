// SPDX-License-Identifier: BSL-1.0
// SharedWindow: the hook by which a UuidCollisionMonitor also checks its ids against other
// instances of the service (a fleet-wide window), without knowing how.
//
//   UuidCollisionMonitor monitor({.category = "pipeline",
//                                 .shared_window = stageflow::fleet::RedisWindow({.address = "127.0.0.1:6379"})});
//
// The monitor's own window stays the answer of observe(); the shared window only hears each id
// (submit: no network on the request path) and reports back later, from its own thread, the ids
// another instance had already claimed within the TTL (fleet collisions) and when its backend is
// unavailable. Type-erased, so this folder needs no client library: <stageflow/fleet/redis_window.hpp>
// implements it on hiredis; a test or another store can implement SharedWindowBackend too.
#pragma once

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow::helpers {

/// Where a collision was found: in this monitor's own window, or in the fleet-wide one.
enum class UuidScope : std::uint8_t { local, fleet };

constexpr std::string_view to_string(UuidScope scope) noexcept {
  return scope == UuidScope::fleet ? "fleet" : "local";
}

/// A shared window's own counters (all since it started).
struct SharedWindowCounters {
  std::uint64_t submitted = 0;         // ids handed to submit()
  std::uint64_t checked = 0;           // ids the backend answered for
  std::uint64_t fleet_collisions = 0;  // of which another instance had claimed
  std::uint64_t dropped = 0;           // ids never checked: queue full, or lost with a failed batch
  std::uint64_t backend_errors = 0;    // failed connects and failed batches
  std::uint64_t reconnects = 0;        // connections made after the first
  bool connected = false;              // whether the backend answered last time
};

/// What a shared window reports to its monitor. Called on the window's own thread, one call at a time.
class SharedWindowReceiver {
 public:
  /// `id` was claimed within the TTL by another instance, named `other_instance`.
  virtual void on_fleet_collision(const boost::uuids::uuid& id, std::string_view other_instance) = 0;
  /// The backend cannot be reached (or refuses): at most once per the window's report interval.
  /// Returns whether anyone heard it (a report nobody heard, e.g. before the monitor's backend
  /// listeners were added, does not start the interval: the next error is reported).
  virtual bool on_backend_unavailable(std::string_view error, const SharedWindowCounters& totals) = 0;

 protected:
  ~SharedWindowReceiver() = default;
};

/// What implements a shared window (see the header comment).
class SharedWindowBackend {
 public:
  virtual ~SharedWindowBackend() = default;
  /// Called once, by the monitor's constructor: ids live `ttl` in the shared window; reports go to
  /// `receiver` until stop(). A second call (a second monitor) throws std::logic_error.
  virtual void start(std::chrono::nanoseconds ttl, SharedWindowReceiver& receiver) = 0;
  /// Hands over one id. On the request path: never blocks on the backend, never throws, and a
  /// full queue drops the id (counted). The monitor serializes its calls (one at a time).
  virtual void submit(const boost::uuids::uuid& id) noexcept = 0;
  /// Points the reports at another receiver (the monitor moved); waits for a report in progress.
  virtual void retarget(SharedWindowReceiver& receiver) noexcept = 0;
  /// Ends the work: no report after it returns. Idempotent.
  virtual void stop() noexcept = 0;
  virtual SharedWindowCounters counters() const noexcept = 0;
};

/// The monitor option `.shared_window`: empty (the default: local only) or one backend. Copies
/// share the backend, which serves one monitor.
class SharedWindow {
 public:
  SharedWindow() = default;
  explicit SharedWindow(std::shared_ptr<SharedWindowBackend> backend) noexcept : backend_(std::move(backend)) {}

  explicit operator bool() const noexcept { return backend_ != nullptr; }
  SharedWindowBackend* backend() const noexcept { return backend_.get(); }
  const std::shared_ptr<SharedWindowBackend>& shared_backend() const noexcept { return backend_; }

 private:
  std::shared_ptr<SharedWindowBackend> backend_;
};

}  // namespace stageflow::helpers
