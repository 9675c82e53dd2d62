// SPDX-License-Identifier: BSL-1.0
// ClockSkewDetector: does a UUIDv7's embedded time agree with our wall clock?
//
// A version 7 id carries the Unix time (ms) of its creation. An id whose time is far from now was
// made by a host whose clock disagrees with ours (or is very old, or forged). The detector reads
// the 48-bit timestamp of any RFC 9562 version 7 id, whoever generated it; other versions have no
// time and are never flagged.
//
// The skew is signed: id time minus now, in milliseconds. Positive means the id claims to come from
// the future (its maker's clock is ahead), negative that it is older than the threshold. An id is
// flagged when |skew| > max_skew_ms.
//
// Our own generate_uuid7() never runs ahead of the clock in a burst (a 42-bit counter per
// millisecond, not a +1 ms bump per id), so its ids are never flagged for being in the future; the
// only way it gets ahead is a wall clock stepped back, which is exactly the skew to report.
// With the default coarse wall clock, readings lag real time by up to one kernel tick (1-4 ms): an
// id made this instant can show a skew of a few ms, irrelevant beside a threshold of seconds.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/uuid/clocks.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace stageflow::helpers {

struct ClockSkewDetectorOptions {
  /// Flag an id whose time is more than this many milliseconds from now, either way.
  double max_skew_ms = 5000.0;
};

template <WallClockSource WallClock = CoarseSystemClock>
class BasicClockSkewDetector {
 public:
  using Options = ClockSkewDetectorOptions;

  /// Throws std::invalid_argument when max_skew_ms is negative or NaN (infinity: never flag).
  explicit BasicClockSkewDetector(Options options = {}, WallClock clock = {})
      : options_(options), clock_(std::move(clock)) {
    if (!(options_.max_skew_ms >= 0.0))
      throw std::invalid_argument("stageflow: ClockSkewDetector max_skew_ms must be >= 0, got " +
                                  std::to_string(options_.max_skew_ms));
  }

  /// The skew in ms (id time minus now) when it exceeds max_skew_ms either way; nullopt when it
  /// does not, or when the id is not version 7.
  std::optional<double> check(const boost::uuids::uuid& id) const {
    if (!is_uuid7(id)) return std::nullopt;  // no clock read for ids without a time
    return check(id, clock_.now());
  }

  /// As check(id), against a wall-clock reading the caller already has.
  std::optional<double> check(const boost::uuids::uuid& id, std::chrono::system_clock::time_point now) const noexcept {
    const auto skew = measure(id, now);
    if (skew && std::abs(*skew) > options_.max_skew_ms) return skew;
    return std::nullopt;
  }

  /// The skew in ms (id time minus now) whatever its size; nullopt when the id is not version 7.
  std::optional<double> measure(const boost::uuids::uuid& id) const {
    if (!is_uuid7(id)) return std::nullopt;
    return measure(id, clock_.now());
  }

  static std::optional<double> measure(const boost::uuids::uuid& id,
                                       std::chrono::system_clock::time_point now) noexcept {
    // In milliseconds, so an id from beyond system_clock's range (after 2262) still measures as skewed.
    const auto id_time = uuid7_time_ms(id);
    if (!id_time) return std::nullopt;
    using milliseconds = std::chrono::duration<double, std::milli>;
    const auto now_ms = std::chrono::floor<std::chrono::milliseconds>(now);
    return milliseconds(*id_time - now_ms).count() - milliseconds(now - now_ms).count();
  }

  double max_skew_ms() const noexcept { return options_.max_skew_ms; }
  const WallClock& clock() const noexcept { return clock_; }

 private:
  Options options_;
  STAGEFLOW_NO_UNIQUE_ADDRESS WallClock clock_;
};

/// The detector on the coarse wall clock: `ClockSkewDetector detector({.max_skew_ms = 2000});`.
using ClockSkewDetector = BasicClockSkewDetector<>;

}  // namespace stageflow::helpers
