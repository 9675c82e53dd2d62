// SPDX-License-Identifier: BSL-1.0
// UuidTelemetry: the runner policy over UuidCollisionMonitor.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <thread>

#include "catch2_shim.hpp"

using namespace stageflow;
using stageflow::pipeline::UuidTelemetry;

namespace {

struct Echo {
  static constexpr std::string_view name = "echo";
  std::string execute(const auto& ctx) const { return ctx.snapshot().input_text; }
};
using P = Pipeline<Echo>;

/// A version 7 id whose timestamp is `age` in the past.
boost::uuids::uuid v7_aged(std::chrono::milliseconds age) {
  auto id = helpers::generate_uuid7();
  const auto ms = static_cast<std::uint64_t>(
      (std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()) - age)
          .count());
  for (int i = 0; i < 6; ++i) id.data[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  return id;
}

}  // namespace

TEST_CASE("a repeated run id is reported as uuid.collision; the run goes on by default", "[uuid_telemetry]") {
  CollectingSink sink;
  Runner<CollectingSink, UuidTelemetry<>> runner(sink, UuidTelemetry<>({.monitor = {.category = "pipeline"}}));
  const ContextSnapshot snapshot{.run = RunIdentity::generate()};
  CHECK(runner.run(P{}, snapshot).ok());
  CHECK(sink.count("uuid.collision") == 0);
  const auto again = runner.run(P{}, snapshot);
  CHECK(again.ok());
  // The run id and both correlation ids of the snapshot, in that order.
  REQUIRE(sink.count("uuid.collision") == 3);
  const auto events = sink.events();
  const auto collision = *std::find_if(events.begin(), events.end(), [](auto& e) { return e.type == "uuid.collision"; });
  CHECK(collision.text("field") == "pipeline_run_id");
  CHECK(collision.text("category") == "pipeline");
  CHECK(collision.text("id") == boost::uuids::to_string(snapshot.run.pipeline_run_id));
  CHECK(collision.pipeline_run_id == snapshot.run.pipeline_run_id);
  CHECK(runner.policy<UuidTelemetry<>>().monitor().counters().collisions == 3);
}

TEST_CASE("fail_on_collision fails the run before any stage starts", "[uuid_telemetry]") {
  Runner<UuidTelemetry<>> runner(UuidTelemetry<>({.fail_on_collision = true}));
  const ContextSnapshot snapshot{.run = RunIdentity::generate()};
  CHECK(runner.run(P{}, snapshot).ok());
  const auto again = runner.run(P{}, snapshot);
  CHECK(again.status == RunStatus::failed);
  CHECK(again.error.starts_with("uuid collision: pipeline_run_id "));
  CHECK(again.stages[0].status == StageStatus::not_run);
}

TEST_CASE("correlation ids are observed; session ids and nil ids are not", "[uuid_telemetry]") {
  CollectingSink sink;
  Runner<CollectingSink, UuidTelemetry<>> runner(sink);
  auto ids = RunIdentity::generate();
  ContextSnapshot first{.run = ids};
  ContextSnapshot second{.run = RunIdentity::generate()};
  second.run.session_id = ids.session_id;  // same session: expected, not a collision
  second.run.user_id = ids.user_id;
  second.run.interaction_id = {};          // nil: not observed
  runner.run(P{}, first);
  runner.run(P{}, second);
  CHECK(sink.count("uuid.collision") == 0);
  ContextSnapshot reused_request{.run = RunIdentity::generate()};
  reused_request.run.request_id = ids.request_id;
  runner.run(P{}, reused_request);
  REQUIRE(sink.count("uuid.collision") == 1);
  for (const auto& e : sink.events())
    if (e.type == "uuid.collision") CHECK(e.text("field") == "request_id");
  // Observed: 3 run ids, 3 request ids, 2 interaction ids.
  CHECK(runner.policy<UuidTelemetry<>>().monitor().counters().observed == 8);
}

TEST_CASE("a generated run id is observed too", "[uuid_telemetry]") {
  Runner<UuidTelemetry<>> runner;
  const auto r = runner.run(P{}, ContextSnapshot{});  // nil ids everywhere
  CHECK(r.ok());
  CHECK(runner.policy<UuidTelemetry<>>().monitor().counters().observed == 1);
}

TEST_CASE("a run id far from the clock is reported as uuid.clock_skew", "[uuid_telemetry]") {
  CollectingSink sink;
  Runner<CollectingSink, UuidTelemetry<>> runner(sink, UuidTelemetry<>({.monitor = {.category = "pipeline", .check_skew = true, .max_skew_ms = 2000}}));
  ContextSnapshot stale{.run = RunIdentity::generate()};
  stale.run.pipeline_run_id = v7_aged(std::chrono::hours(1));
  CHECK(runner.run(P{}, stale).ok());
  REQUIRE(sink.count("uuid.clock_skew") == 1);
  const auto events = sink.events();
  const auto skew = *std::find_if(events.begin(), events.end(), [](auto& e) { return e.type == "uuid.clock_skew"; });
  const std::int64_t skew_ns = std::get<std::int64_t>(*skew.field("skew_ns"));
  CHECK(skew_ns < -3'590'000'000'000);  // an hour in the past
  CHECK(skew_ns > -3'610'000'000'000);
  sink.clear();
  runner.run(P{}, ContextSnapshot{.run = RunIdentity::generate()});  // fresh ids: no skew
  CHECK(sink.count("uuid.clock_skew") == 0);
}

TEST_CASE("copies of the policy and concurrent runs share one monitor", "[uuid_telemetry][concurrency][threads]") {
  auto monitor = std::make_shared<helpers::UuidCollisionMonitor>(helpers::UuidCollisionMonitorOptions{.category = "tool"});
  const Runner<UuidTelemetry<>> runner{UuidTelemetry<>(monitor)};
  const ContextSnapshot shared{.run = RunIdentity::generate()};
  auto work = [&] {
    for (int i = 0; i < 500; ++i) runner.run(P{}, ContextSnapshot{.run = RunIdentity::generate()});
    runner.run(P{}, shared);
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  // 2 x 501 runs of 3 ids each; exactly one collision: the shared snapshot's three ids, seen twice.
  CHECK(monitor->counters().observed == 2 * 501 * 3);
  CHECK(monitor->counters().collisions == 3);
  CHECK(&runner.policy<UuidTelemetry<>>().monitor() == monitor.get());
}
