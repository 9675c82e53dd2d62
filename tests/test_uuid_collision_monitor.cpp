// SPDX-License-Identifier: BSL-1.0
// UuidCollisionMonitor: the window rules with injected clocks (no sleeping), the Python original's
// defects as regression tests, text input, listeners, the skew check, counters, moves and threads.
#include <stageflow/helpers/uuid_collision_monitor.hpp>

#include <stageflow/helpers/uuid7.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"
#include "uuid_test_support.hpp"

using namespace std::chrono;
using stageflow::helpers::BasicUuidCollisionMonitor;
using stageflow::helpers::UuidCollisionMonitor;
using stageflow::helpers::UuidEvent;
using stageflow::testing::hand_built_uuid4;
using stageflow::testing::hand_built_uuid7;
using stageflow::testing::ManualSteadyClock;
using stageflow::testing::ManualWallClock;

namespace {

using ManualMonitor = BasicUuidCollisionMonitor<ManualSteadyClock, ManualWallClock>;

/// A monitor on clocks the test moves, and the clocks.
struct Fixture {
  ManualSteadyClock steady;
  ManualWallClock wall;
  ManualMonitor monitor;

  explicit Fixture(UuidCollisionMonitor::Options options = {})
      : monitor(std::move(options), steady, wall) {}
};

const auto A = hand_built_uuid4(1);
const auto B = hand_built_uuid4(2);
const auto C = hand_built_uuid4(3);
const auto D = hand_built_uuid4(4);

}  // namespace

TEST_CASE("the seed's construction compiles and keeps the documented defaults", "[uuid_monitor]") {
  UuidCollisionMonitor monitor({.ttl_seconds = 300, .category = "pipeline", .check_skew = true});
  CHECK(monitor.category() == "pipeline");
  CHECK(monitor.options().max_entries == 50'000);
  CHECK(monitor.options().max_skew_ms == 5000.0);
  const UuidCollisionMonitor defaults;
  CHECK(defaults.options().ttl_seconds == 300.0);
  CHECK(defaults.options().max_entries == 50'000);
  CHECK(defaults.category() == "default");
  CHECK_FALSE(defaults.options().check_skew);
  CHECK(defaults.memory_bytes() == 0);  // nothing allocated before the first observation
}

TEST_CASE("an id observed twice within the TTL collides", "[uuid_monitor]") {
  UuidCollisionMonitor monitor;
  const auto id = stageflow::helpers::generate_uuid7();
  CHECK_FALSE(monitor.observe(id));
  CHECK(monitor.observe(id));
  CHECK(monitor.observe(id));
  CHECK_FALSE(monitor.observe(stageflow::helpers::generate_uuid7()));
}

TEST_CASE("regression: A, A, B, A with max_entries 2 reports the last A", "[uuid_monitor]") {
  Fixture f({.max_entries = 2});
  CHECK_FALSE(f.monitor.observe(A));
  CHECK(f.monitor.observe(A));
  CHECK_FALSE(f.monitor.observe(B));
  CHECK(f.monitor.observe(A));  // the Python original says false: it forgot A when the first copy left
  const auto counters = f.monitor.counters();
  CHECK(counters.live_entries == 2);
  CHECK(counters.distinct_ids == 2);
}

TEST_CASE("regression: no stale positive after the TTL, even with nothing observed between", "[uuid_monitor]") {
  Fixture f({.ttl_seconds = 10});
  f.monitor.observe(A);
  f.steady.advance(seconds(10) + milliseconds(1));
  CHECK_FALSE(f.monitor.observe(A));  // the Python original checked before expiring: true
}

TEST_CASE("the TTL boundary: an observation exactly TTL old has left", "[uuid_monitor]") {
  Fixture f({.ttl_seconds = 2.5});
  f.monitor.observe(A);
  f.monitor.observe(B);
  f.steady.advance(milliseconds(2'500) - nanoseconds(1));
  CHECK(f.monitor.observe(A));
  f.steady.advance(nanoseconds(1));
  CHECK_FALSE(f.monitor.observe(B));
}

TEST_CASE("regression: an id stays while its younger observation is live", "[uuid_monitor]") {
  Fixture f({.ttl_seconds = 10});
  f.monitor.observe(A);
  f.steady.advance(seconds(6));
  CHECK(f.monitor.observe(A));
  f.steady.advance(seconds(6));  // the first A expired, the second did not
  CHECK(f.monitor.observe(A));   // the Python original: false (its set lost A with the first copy)
}

TEST_CASE("the oldest observation leaves when the window is full", "[uuid_monitor]") {
  Fixture f({.max_entries = 3});
  for (const auto& id : {A, B, C, D}) CHECK_FALSE(f.monitor.observe(id));
  CHECK_FALSE(f.monitor.observe(A));  // A left when D came
  CHECK(f.monitor.observe(D));
}

TEST_CASE("regression: wall-clock jumps neither expire nor keep entries", "[uuid_monitor]") {
  Fixture f({.ttl_seconds = 60});
  f.monitor.observe(A);
  f.wall.advance(hours(24));  // NTP step forward: the Python original flushed everything
  CHECK(f.monitor.observe(A));
  f.wall.advance(-hours(48));  // step back: the Python original kept expired entries behind newer ones
  f.steady.advance(seconds(61));
  CHECK_FALSE(f.monitor.observe(A));
  CHECK(f.monitor.counters().live_entries == 1);
}

TEST_CASE("a steady clock that goes back is taken as standing still", "[uuid_monitor]") {
  Fixture f({.ttl_seconds = 10});
  f.monitor.observe(A);
  f.steady.advance(seconds(9));
  f.monitor.observe(B);
  f.steady.advance(-seconds(100));
  CHECK(f.monitor.observe(A));  // not revived from the future, not expired either
  f.steady.advance(seconds(100) + seconds(1));  // back where it was, plus one second
  CHECK_FALSE(f.monitor.observe(C));
  CHECK(f.monitor.counters().live_entries == 3);  // the first A expired; B, A and C stay
}

TEST_CASE("an infinite TTL keeps entries until the window is full", "[uuid_monitor]") {
  Fixture f({.ttl_seconds = std::numeric_limits<double>::infinity(), .max_entries = 2});
  f.monitor.observe(A);
  f.steady.advance(hours(24 * 365 * 100));
  CHECK(f.monitor.observe(A));
}

TEST_CASE("invalid options are rejected at construction", "[uuid_monitor]") {
  using Options = UuidCollisionMonitor::Options;
  CHECK_THROWS_AS(UuidCollisionMonitor(Options{.ttl_seconds = 0}), std::invalid_argument);
  CHECK_THROWS_AS(UuidCollisionMonitor(Options{.ttl_seconds = -1}), std::invalid_argument);
  CHECK_THROWS_AS(UuidCollisionMonitor(Options{.ttl_seconds = std::numeric_limits<double>::quiet_NaN()}),
                  std::invalid_argument);
  CHECK_THROWS_AS(UuidCollisionMonitor(Options{.max_entries = 0}), std::invalid_argument);
  CHECK_THROWS_AS(UuidCollisionMonitor(Options{.max_entries = (std::size_t{1} << 30) + 1}), std::invalid_argument);
  CHECK_THROWS_AS(UuidCollisionMonitor(Options{.max_skew_ms = -1}), std::invalid_argument);
  CHECK_NOTHROW(UuidCollisionMonitor(Options{.ttl_seconds = 1e-12}));  // rounds up to one nanosecond
}

TEST_CASE("observe(text) accepts any case and braces, and meets the binary form", "[uuid_monitor]") {
  Fixture f;
  const auto id = hand_built_uuid7(1'700'000'000'000ULL);
  std::string text = boost::uuids::to_string(id);
  CHECK_FALSE(f.monitor.observe(std::string_view(text)));
  CHECK(f.monitor.observe(id));
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  CHECK(f.monitor.observe(std::string_view(text)));
  CHECK(f.monitor.observe("{" + text + "}"));
  CHECK(f.monitor.counters().collisions == 3);
}

TEST_CASE("observe(text) rejects malformed text by name and records nothing", "[uuid_monitor]") {
  Fixture f;
  int heard = 0;
  f.monitor.add_listener([&](const UuidEvent&) { ++heard; });
  f.monitor.observe(A);
  for (const std::string_view bad : {"", "pipeline-run-1", "0190a6e4-3b1c-7d2e-8f00-0123456789a",
                                     "0190a6e4-3b1c-7d2e-8f00-0123456789abc", " 0190a6e4-3b1c-7d2e-8f00-0123456789a"}) {
    INFO("text: " << bad);
    try {
      f.monitor.observe(bad);
      FAIL("no exception");
    } catch (const std::invalid_argument& error) {
      CHECK(std::string(error.what()).find("\"" + std::string(bad) + "\"") != std::string::npos);
    }
    CHECK_THROWS_AS(f.monitor.observe_detailed(bad), std::invalid_argument);
  }
  const auto counters = f.monitor.counters();
  CHECK(counters.observed == 1);
  CHECK(counters.live_entries == 1);
  CHECK(heard == 1);
}

TEST_CASE("listeners hear every observation in the order they were added", "[uuid_monitor]") {
  Fixture f({.category = "tool"});
  std::vector<std::string> calls;
  std::vector<UuidEvent> events;
  f.monitor.add_listener([&](const UuidEvent& event) {
    calls.push_back("first");
    events.push_back(event);
  });
  f.monitor.add_listener([&](const UuidEvent&) { calls.push_back("second"); });
  f.monitor.observe(A);
  f.wall.advance(seconds(3));
  f.monitor.observe(A);
  CHECK(calls == std::vector<std::string>{"first", "second", "first", "second"});
  REQUIRE(events.size() == 2);
  CHECK(events[0].id == A);
  CHECK_FALSE(events[0].collided);
  CHECK(events[0].category == "tool");
  CHECK(events[0].observed_at == ManualWallClock().now());
  CHECK_FALSE(events[0].skew_ms.has_value());
  CHECK(events[1].collided);
  CHECK(events[1].observed_at == ManualWallClock().now() + seconds(3));
}

TEST_CASE("a listener that throws breaks neither observe nor the other listeners", "[uuid_monitor]") {
  Fixture f;
  int later_listener_calls = 0;
  f.monitor.add_listener([](const UuidEvent&) { throw std::runtime_error("listener failed"); });
  f.monitor.add_listener([](const UuidEvent&) { throw 42; });  // not even a std::exception
  f.monitor.add_listener([&](const UuidEvent&) { ++later_listener_calls; });
  CHECK_FALSE(f.monitor.observe(A));
  CHECK(f.monitor.observe(A));  // recorded despite the throws
  CHECK(later_listener_calls == 2);
  CHECK(f.monitor.counters().listener_errors == 4);

  std::vector<std::string> handled;
  f.monitor.set_listener_error_handler([&](std::exception_ptr error, const UuidEvent& event) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      handled.push_back(std::string(e.what()) + (event.collided ? " on collision" : ""));
    } catch (...) {
      handled.push_back("other");
    }
    throw std::logic_error("the handler fails too");  // dropped
  });
  CHECK(f.monitor.observe(A));
  CHECK(handled == std::vector<std::string>{"listener failed on collision", "other"});
  CHECK(later_listener_calls == 3);
  CHECK(f.monitor.counters().listener_errors == 6);
}

TEST_CASE("listeners run outside the lock: one may observe again", "[uuid_monitor]") {
  Fixture f;
  int depth = 0;
  f.monitor.add_listener([&](const UuidEvent& event) {
    if (depth++ == 0) CHECK(f.monitor.observe(event.id));
    CHECK(f.monitor.counters().observed >= 1);
  });
  CHECK_FALSE(f.monitor.observe(A));
  CHECK(f.monitor.counters().collisions == 1);
}

TEST_CASE("an empty listener is refused", "[uuid_monitor]") {
  UuidCollisionMonitor monitor;
  CHECK_THROWS_AS(monitor.add_listener({}), std::invalid_argument);
}

TEST_CASE("check_skew reports v7 ids far from the wall clock, with the configured threshold", "[uuid_monitor]") {
  Fixture f({.category = "pipeline", .check_skew = true, .max_skew_ms = 2000});
  std::vector<UuidEvent> events;
  f.monitor.add_listener([&](const UuidEvent& event) { events.push_back(event); });
  const auto now = f.wall.now();

  const auto old_id = hand_built_uuid7(now - seconds(10));
  const auto observation = f.monitor.observe_detailed(old_id);
  CHECK_FALSE(observation.collided);
  CHECK(observation.skew_ms == -10'000.0);

  CHECK(f.monitor.observe_detailed(hand_built_uuid7(now + seconds(3), 2)).skew_ms == 3'000.0);
  CHECK_FALSE(f.monitor.observe_detailed(hand_built_uuid7(now + milliseconds(1'900), 3)).skew_ms.has_value());
  CHECK_FALSE(f.monitor.observe_detailed(hand_built_uuid4(9)).skew_ms.has_value());  // no time in a v4

  const auto again = f.monitor.observe_detailed(old_id);  // collision and skew from one call
  CHECK(again.collided);
  CHECK(again.skew_ms == -10'000.0);

  REQUIRE(events.size() == 5);
  CHECK(events[0].skew_ms == -10'000.0);
  CHECK_FALSE(events[2].skew_ms.has_value());
  CHECK(events[4].collided);
  const auto counters = f.monitor.counters();
  CHECK(counters.observed == 5);
  CHECK(counters.skewed == 3);
  CHECK(counters.collisions == 1);
}

TEST_CASE("without check_skew no skew is looked for", "[uuid_monitor]") {
  Fixture f;
  const auto observation = f.monitor.observe_detailed(hand_built_uuid7(f.wall.now() - hours(1)));
  CHECK_FALSE(observation.skew_ms.has_value());
  CHECK(f.monitor.counters().skewed == 0);
}

TEST_CASE("our own burst of ids raises no skew and no collision", "[uuid_monitor]") {
  UuidCollisionMonitor monitor({.category = "burst", .check_skew = true});
  int skewed = 0;
  int collided = 0;
  for (int i = 0; i < 100'000; ++i) {
    const auto observation = monitor.observe_detailed(stageflow::helpers::generate_uuid7());
    skewed += observation.skew_ms ? 1 : 0;
    collided += observation.collided ? 1 : 0;
  }
  CHECK(skewed == 0);
  CHECK(collided == 0);
  CHECK(monitor.counters().live_entries == 50'000);
}

TEST_CASE("counters count and live entries follow the TTL without a new observation", "[uuid_monitor]") {
  Fixture f({.ttl_seconds = 5, .max_entries = 100});
  f.monitor.observe(A);
  f.monitor.observe(B);
  f.monitor.observe(A);
  auto counters = f.monitor.counters();
  CHECK(counters.observed == 3);
  CHECK(counters.collisions == 1);
  CHECK(counters.skewed == 0);
  CHECK(counters.listener_errors == 0);
  CHECK(counters.live_entries == 3);
  CHECK(counters.distinct_ids == 2);
  f.steady.advance(seconds(5));
  counters = f.monitor.counters();
  CHECK(counters.live_entries == 0);
  CHECK(counters.distinct_ids == 0);
  CHECK(counters.observed == 3);
}

TEST_CASE("memory stays bounded by max_entries whatever the input", "[uuid_monitor]") {
  Fixture f({.max_entries = 1'000});
  for (std::uint64_t i = 0; i < 50'000; ++i) f.monitor.observe(hand_built_uuid4(i));
  CHECK(f.monitor.counters().live_entries == 1'000);
  CHECK(f.monitor.memory_bytes() <= ManualMonitor::memory_bound(1'000));
  CHECK(ManualMonitor::memory_bound(1'000) < 1'000 * 128);
}

TEST_CASE("a monitor moves with its window, counters and listeners", "[uuid_monitor]") {
  Fixture f({.max_entries = 10, .category = "tool"});
  int heard = 0;
  f.monitor.add_listener([&](const UuidEvent&) { ++heard; });
  f.monitor.observe(A);

  ManualMonitor moved(std::move(f.monitor));
  CHECK(moved.observe(A));
  CHECK(moved.category() == "tool");
  CHECK(moved.counters().observed == 2);
  CHECK(heard == 2);

  // The moved-from monitor keeps its options, starts empty and still works.
  CHECK(f.monitor.counters().observed == 0);  // NOLINT(bugprone-use-after-move): documented state
  CHECK_FALSE(f.monitor.observe(A));
  CHECK(f.monitor.observe(A));
  CHECK(heard == 2);

  ManualMonitor assigned({.category = "other"}, f.steady, f.wall);
  assigned = std::move(moved);
  CHECK(assigned.category() == "tool");
  CHECK(assigned.observe(A));
  CHECK(heard == 3);
}

TEST_CASE("a monitor can be a member set by designated initializers, as ToolExecutor's is", "[uuid_monitor]") {
  struct ExecutorOptions {
    UuidCollisionMonitor uuid_monitor{};
    int other = 0;
  };
  ExecutorOptions options{.uuid_monitor = UuidCollisionMonitor({.category = "tool"})};
  CHECK(options.uuid_monitor.category() == "tool");
  CHECK_FALSE(options.uuid_monitor.observe(A));
}

TEST_CASE("two threads observing the same ids: each id collides exactly once", "[uuid_monitor][threads]") {
  constexpr std::size_t id_count = 20'000;
  std::vector<boost::uuids::uuid> ids(id_count);
  for (auto& id : ids) id = stageflow::helpers::generate_uuid7();
  UuidCollisionMonitor monitor({.max_entries = 2 * id_count});

  // Each thread walks the ids in its own shuffled order, both starting together.
  std::vector<std::size_t> order_a(id_count), order_b(id_count);
  std::iota(order_a.begin(), order_a.end(), 0);
  std::iota(order_b.begin(), order_b.end(), 0);
  std::shuffle(order_a.begin(), order_a.end(), std::mt19937_64(1));
  std::shuffle(order_b.begin(), order_b.end(), std::mt19937_64(2));
  std::vector<char> collided_a(id_count), collided_b(id_count);
  std::atomic<int> ready{0};
  auto run = [&](const std::vector<std::size_t>& order, std::vector<char>& collided) {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    for (const auto index : order) collided[index] = monitor.observe(ids[index]) ? 1 : 0;
  };
  std::thread a(run, std::cref(order_a), std::ref(collided_a));
  std::thread b(run, std::cref(order_b), std::ref(collided_b));
  a.join();
  b.join();

  std::size_t wrong = 0;
  for (std::size_t i = 0; i < id_count; ++i) wrong += collided_a[i] + collided_b[i] == 1 ? 0 : 1;
  CHECK(wrong == 0);
  const auto counters = monitor.counters();
  CHECK(counters.observed == 2 * id_count);
  CHECK(counters.collisions == id_count);
  CHECK(counters.distinct_ids == id_count);
}

TEST_CASE("threads may observe, add listeners and read counters at once", "[uuid_monitor][threads]") {
  UuidCollisionMonitor monitor({.max_entries = 1'000, .check_skew = true});
  std::atomic<std::uint64_t> heard{0};
  std::atomic<bool> done{false};
  std::atomic<int> inconsistent_reads{0};  // Catch2 assertions are for the main thread only
  std::thread reader([&] {
    while (!done.load()) {
      const auto counters = monitor.counters();
      if (counters.live_entries > 1'000 || counters.collisions > counters.observed) inconsistent_reads.fetch_add(1);
    }
  });
  std::thread listener_adder([&] {
    for (int i = 0; i < 20; ++i) monitor.add_listener([&](const UuidEvent&) { heard.fetch_add(1); });
  });
  std::vector<std::thread> observers;
  for (int t = 0; t < 2; ++t)
    observers.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) monitor.observe(hand_built_uuid4(static_cast<std::uint64_t>(i % 1'500)));
    });
  for (auto& thread : observers) thread.join();
  listener_adder.join();
  done.store(true);
  reader.join();
  CHECK(inconsistent_reads.load() == 0);
  const auto counters = monitor.counters();
  CHECK(counters.observed == 40'000);
  CHECK(counters.collisions > 0);
  CHECK(counters.listener_errors == 0);
  monitor.observe(A);
  CHECK(heard.load() >= 20);  // the last observation reached all twenty listeners
}
