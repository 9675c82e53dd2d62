// SPDX-License-Identifier: BSL-1.0
// The collision monitor's shared-window hook (uuid/shared_window.hpp), against a fake backend:
// what observe() hands over, how fleet reports reach listeners and sinks, and the backend's lifetime.
#include <stageflow/fleet/fleet_events.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/uuid/collision_monitor.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch2_shim.hpp"
#include "fake_shared_window.hpp"

using namespace stageflow;
using helpers::UuidCollisionMonitor;
using helpers::UuidEvent;
using helpers::UuidScope;
using stageflow::testing::FakeSharedWindow;

TEST_CASE("without a shared window the fleet counters stay zero") {
  UuidCollisionMonitor monitor({.category = "local"});
  const auto id = helpers::generate_uuid7();
  CHECK_FALSE(monitor.observe(id));
  CHECK(monitor.observe(id));
  const auto c = monitor.counters();
  CHECK(c.collisions == 1);
  CHECK(c.fleet_collisions == 0);
  CHECK(c.fleet_dropped == 0);
  CHECK(c.backend_errors == 0);
  CHECK_FALSE(monitor.options().shared_window);
}

TEST_CASE("observe() hands every id to the shared window and still answers from the local window") {
  auto fake = std::make_shared<FakeSharedWindow>();
  UuidCollisionMonitor monitor({.ttl_seconds = 2.5, .category = "pipeline", .shared_window = helpers::SharedWindow(fake)});
  CHECK(fake->ttl() == std::chrono::milliseconds(2500));
  const auto a = helpers::generate_uuid7();
  const auto b = helpers::generate_uuid7();
  CHECK_FALSE(monitor.observe(a));
  CHECK_FALSE(monitor.observe(b));
  fake->report_collision(b, "elsewhere");  // the fleet's answer does not change the local one
  CHECK(monitor.observe(a));
  CHECK(fake->submitted() == std::vector{a, b, a});
  CHECK(monitor.counters().collisions == 1);
  CHECK(monitor.counters().fleet_collisions == 1);
}

TEST_CASE("a fleet collision reaches the listeners with scope fleet and the other instance; local ones say local") {
  auto fake = std::make_shared<FakeSharedWindow>();
  UuidCollisionMonitor monitor({.category = "pipeline", .shared_window = helpers::SharedWindow(fake)});
  std::vector<UuidEvent> heard;
  monitor.add_listener([&](const UuidEvent& e) { heard.push_back(e); });
  const auto id = helpers::generate_uuid7();
  monitor.observe(id);
  monitor.observe(id);
  fake->report_collision(id, "host-b/77/0badf00d");
  REQUIRE(heard.size() == 3);
  CHECK(heard[1].collided);
  CHECK(heard[1].scope == UuidScope::local);
  CHECK(heard[1].other_instance.empty());
  CHECK(heard[2].collided);
  CHECK(heard[2].scope == UuidScope::fleet);
  CHECK(heard[2].id == id);
  CHECK(heard[2].category == "pipeline");
  CHECK(heard[2].other_instance == "host-b/77/0badf00d");
  CHECK(helpers::to_string(heard[2].scope) == "fleet");
}

TEST_CASE("a backend report reaches the backend listeners with the totals; a throwing listener is counted") {
  auto fake = std::make_shared<FakeSharedWindow>();
  UuidCollisionMonitor monitor({.category = "pipeline", .shared_window = helpers::SharedWindow(fake)});
  fake->set_counters({.dropped = 5, .backend_errors = 2});
  CHECK_FALSE(fake->report_unavailable("nobody listens yet"));  // not heard: the window reports the next one
  fake->set_counters({.dropped = 5, .backend_errors = 2});
  std::vector<helpers::UuidBackendNotice> notices;
  monitor.add_backend_listener([&](const helpers::UuidBackendNotice& n) { notices.push_back(n); });
  monitor.add_backend_listener([](const helpers::UuidBackendNotice&) { throw std::runtime_error("listener bug"); });
  monitor.add_listener([](const UuidEvent&) { throw std::runtime_error("listener bug"); });
  CHECK(fake->report_unavailable("connection refused"));
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].error == "connection refused");
  CHECK(notices[0].category == "pipeline");
  CHECK(notices[0].backend_errors == 3);
  CHECK(notices[0].fleet_dropped == 5);
  fake->report_collision(helpers::generate_uuid7(), "other");
  const auto c = monitor.counters();
  CHECK(c.listener_errors == 2);
  CHECK(c.backend_errors == 3);
  CHECK(c.fleet_dropped == 5);
  CHECK_THROWS_AS(monitor.add_backend_listener({}), std::invalid_argument);
}

TEST_CASE("the monitor stops its shared window when it goes; a window serves one monitor") {
  auto fake = std::make_shared<FakeSharedWindow>();
  const helpers::SharedWindow window(fake);
  {
    UuidCollisionMonitor monitor({.shared_window = window});
    CHECK(fake->attached());
    CHECK_THROWS_AS(UuidCollisionMonitor({.shared_window = window}), std::logic_error);
  }
  CHECK(fake->stops() == 1);
  CHECK_FALSE(fake->attached());
  fake->report_collision(helpers::generate_uuid7(), "late");  // nobody to hear it: no crash
}

TEST_CASE("a moved monitor takes its shared window along; the moved-from one neither hears nor stops it") {
  auto fake = std::make_shared<FakeSharedWindow>();
  std::vector<UuidEvent> heard;
  UuidCollisionMonitor first({.category = "pipeline", .shared_window = helpers::SharedWindow(fake)});
  first.add_listener([&](const UuidEvent& e) { heard.push_back(e); });
  UuidCollisionMonitor second(std::move(first));
  CHECK_FALSE(first.options().shared_window);
  const auto id = helpers::generate_uuid7();
  second.observe(id);
  first.observe(helpers::generate_uuid7());  // local only now
  CHECK(fake->submitted() == std::vector{id});
  fake->report_collision(id, "other");
  REQUIRE(heard.size() == 2);
  CHECK(heard[1].scope == UuidScope::fleet);
  { UuidCollisionMonitor gone(std::move(first)); }
  CHECK(fake->stops() == 0);
  UuidCollisionMonitor third;
  third = std::move(second);
  fake->report_collision(id, "other");
  CHECK(heard.size() == 3);
  CHECK(fake->stops() == 0);
}

TEST_CASE("forward_fleet_events: fleet collisions and backend reports become events; local ones do not") {
  auto fake = std::make_shared<FakeSharedWindow>();
  UuidCollisionMonitor monitor({.category = "tool", .shared_window = helpers::SharedWindow(fake)});
  CollectingSink sink;
  fleet::forward_fleet_events(monitor, sink);
  const auto id = helpers::generate_uuid7();
  monitor.observe(id);
  monitor.observe(id);  // a local collision: UuidTelemetry's to report, in its run
  fake->report_collision(id, "host-b/1/2");
  fake->set_counters({.dropped = 9, .backend_errors = 4});
  fake->report_unavailable("Redis at 127.0.0.1:1: Connection refused");
  const auto events = sink.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "uuid.collision");
  CHECK(events[0].pipeline_run_id.is_nil());
  CHECK(events[0].text("id") == boost::uuids::to_string(id));
  CHECK(events[0].text("scope") == "fleet");
  CHECK(events[0].text("instance") == "host-b/1/2");
  CHECK(events[0].text("category") == "tool");
  CHECK_FALSE(events[0].field("field"));
  CHECK(events[1].type == "uuid.backend_unavailable");
  CHECK(events[1].text("error") == "Redis at 127.0.0.1:1: Connection refused");
  CHECK(events[1].number("backend_errors") == 5);
  CHECK(events[1].number("dropped") == 9);
}
