// SPDX-License-Identifier: BSL-1.0
// ClockSkewDetector: any version 7 id, past and future, a strict threshold, and no false alarm on
// a burst of our own ids (the Python original's generator ran 20 s ahead after 20k ids and its own
// detector flagged them).
// Exact comparisons of doubles below are on purpose: whole and quarter milliseconds are exact.
#include <stageflow/helpers/clock_skew_detector.hpp>

#include <stageflow/helpers/uuid7.hpp>

#include <chrono>
#include <cmath>
#include <limits>

#include "catch2_shim.hpp"
#include "uuid_test_support.hpp"

using namespace std::chrono;
using stageflow::helpers::BasicClockSkewDetector;
using stageflow::helpers::ClockSkewDetector;
using stageflow::helpers::Uuid7Generator;
using stageflow::testing::hand_built_uuid4;
using stageflow::testing::hand_built_uuid7;
using stageflow::testing::ManualWallClock;

TEST_CASE("ClockSkewDetector flags hand-built v7 ids too far in the past or the future", "[uuid_skew]") {
  ManualWallClock clock;
  const BasicClockSkewDetector<ManualWallClock> detector({.max_skew_ms = 5000}, clock);
  const auto now = clock.now();

  const auto old_id = hand_built_uuid7(now - seconds(10));
  REQUIRE(detector.check(old_id).has_value());
  CHECK(*detector.check(old_id) == -10'000.0);

  const auto future_id = hand_built_uuid7(now + seconds(6));
  REQUIRE(detector.check(future_id).has_value());
  CHECK(*detector.check(future_id) == 6'000.0);

  CHECK_FALSE(detector.check(hand_built_uuid7(now - milliseconds(4'900))).has_value());
  CHECK_FALSE(detector.check(hand_built_uuid7(now + milliseconds(4'900))).has_value());
  CHECK_FALSE(detector.check(hand_built_uuid7(now)).has_value());
}

TEST_CASE("ClockSkewDetector's threshold is strict and measure() reports any skew", "[uuid_skew]") {
  ManualWallClock clock;
  const BasicClockSkewDetector<ManualWallClock> detector({.max_skew_ms = 1000}, clock);
  const auto exactly = hand_built_uuid7(clock.now() + milliseconds(1000));
  CHECK_FALSE(detector.check(exactly).has_value());
  CHECK(detector.measure(exactly) == 1000.0);
  const auto just_over = hand_built_uuid7(clock.now() + milliseconds(1001));
  CHECK(detector.check(just_over) == 1001.0);
  // The time of an id is whole milliseconds: a clock between two of them shows the fraction.
  clock.advance(microseconds(250));
  CHECK(*detector.measure(exactly) == 999.75);
}

TEST_CASE("ClockSkewDetector ignores ids that are not version 7", "[uuid_skew]") {
  ManualWallClock clock;
  const BasicClockSkewDetector<ManualWallClock> detector({.max_skew_ms = 0}, clock);
  CHECK_FALSE(detector.check(hand_built_uuid4(42)).has_value());
  CHECK_FALSE(detector.measure(hand_built_uuid4(42)).has_value());
  CHECK_FALSE(detector.check(boost::uuids::uuid{}).has_value());
  auto wrong_variant = hand_built_uuid7(clock.now() - hours(1));
  wrong_variant.data[8] = static_cast<std::uint8_t>(wrong_variant.data[8] | 0xC0);
  CHECK_FALSE(detector.check(wrong_variant).has_value());
}

TEST_CASE("ClockSkewDetector accepts an explicit wall-clock reading", "[uuid_skew]") {
  const ClockSkewDetector detector({.max_skew_ms = 100});
  const auto at = system_clock::time_point(milliseconds(1'600'000'000'000));
  const auto id = hand_built_uuid7(at);
  CHECK_FALSE(detector.check(id, at).has_value());
  CHECK(detector.check(id, at + milliseconds(150)) == -150.0);
  CHECK(ClockSkewDetector::measure(id, at - milliseconds(20)) == 20.0);
}

TEST_CASE("ClockSkewDetector defaults to a 5 s threshold and rejects a negative or NaN one", "[uuid_skew]") {
  CHECK(ClockSkewDetector().max_skew_ms() == 5000.0);
  CHECK_THROWS_AS(ClockSkewDetector({.max_skew_ms = -1}), std::invalid_argument);
  CHECK_THROWS_AS(ClockSkewDetector({.max_skew_ms = std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  const ClockSkewDetector never({.max_skew_ms = std::numeric_limits<double>::infinity()});
  CHECK_FALSE(never.check(hand_built_uuid7(std::uint64_t{0})).has_value());
}

TEST_CASE("a burst of our own ids stays on the clock: none is flagged", "[uuid_skew]") {
  // With the clock held still, a million ids keep the clock's millisecond: zero forward drift.
  ManualWallClock clock;
  Uuid7Generator<ManualWallClock> generator(clock);
  const BasicClockSkewDetector<ManualWallClock> detector({.max_skew_ms = 0}, clock);
  int flagged = 0;
  for (int i = 0; i < 1'000'000; ++i) flagged += detector.check(generator()).has_value() ? 1 : 0;
  CHECK(flagged == 0);
}

TEST_CASE("generate_uuid7 ids are never ahead of the real clock", "[uuid_skew]") {
  const BasicClockSkewDetector<system_clock> detector;
  double most_ahead_ms = -std::numeric_limits<double>::infinity();
  int flagged = 0;
  for (int i = 0; i < 200'000; ++i) {
    const auto id = stageflow::helpers::generate_uuid7();
    most_ahead_ms = std::max(most_ahead_ms, *detector.measure(id));
    flagged += detector.check(id).has_value() ? 1 : 0;
  }
  CHECK(most_ahead_ms <= 0.0);  // an id's time is the clock's millisecond, rounded down
  CHECK(flagged == 0);
}

TEST_CASE("a wall clock stepped back is reported: the generator keeps its newer timestamp", "[uuid_skew]") {
  ManualWallClock clock;
  Uuid7Generator<ManualWallClock> generator(clock);
  const BasicClockSkewDetector<ManualWallClock> detector({.max_skew_ms = 5000}, clock);
  (void)generator();
  clock.advance(-seconds(10));
  const auto after_step = generator();  // strictly increasing, so still at the old millisecond
  REQUIRE(detector.check(after_step).has_value());
  CHECK(*detector.check(after_step) == 10'000.0);
}

// Regression (issue 16, defect 7): an id from after 2262 is beyond system_clock, not beyond the
// skew check: it measures as far in the future instead of overflowing.
TEST_CASE("ClockSkewDetector measures ids whose time system_clock cannot hold", "[uuid_skew]") {
  ManualWallClock clock;
  const BasicClockSkewDetector<ManualWallClock> detector({.max_skew_ms = 5000}, clock);
  const std::uint64_t last_ms = (std::uint64_t{1} << 48) - 1;  // the year 10889
  const auto far = hand_built_uuid7(last_ms);
  const auto now_ms = duration_cast<milliseconds>(clock.now().time_since_epoch()).count();
  REQUIRE(detector.check(far).has_value());
  CHECK(*detector.check(far) == static_cast<double>(static_cast<std::int64_t>(last_ms) - now_ms));
}
