// SPDX-License-Identifier: BSL-1.0
// One monitor and one tracker per service: shared by UuidTelemetry, MemoryTracking, PipelineRunner
// and ToolExecutor under the one ownership rule of <stageflow/core/shared.hpp>; typed event field
// readers; the snapshot-level metric name. The threaded case runs under TSan in CI.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/core/shared.hpp>
#include <stageflow/helpers/run_utils.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/callback_sink.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/tools/executor.hpp>

#include "catch2_shim.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace stageflow;
namespace pl = stageflow::pipeline;
using helpers::MemoryTracker;
using helpers::UuidCollisionMonitor;
using tools::ToolAction;
using tools::ToolExecutor;
using tools::ToolOutput;

namespace {

struct Answer {
  static constexpr std::string_view name = "answer";
  std::string execute(const auto& ctx) const { return ctx.snapshot().input_text; }
};
using OneStage = Pipeline<Answer>;

ToolExecutor echo_executor(tools::ToolExecutorOptions options) {
  ToolExecutor executor(std::move(options));
  executor.register_tool("echo", [](const ToolAction& a) { return ToolOutput::ok(a.payload); });
  return executor;
}

ContextSnapshot snapshot_with_run_id(const boost::uuids::uuid& id) {
  ContextSnapshot snapshot{.run = RunIdentity::generate(), .input_text = "hi"};
  snapshot.run.pipeline_run_id = id;
  return snapshot;
}

}  // namespace

TEST_CASE("Shared<T>: a value is the component's own, a shared_ptr is shared, empty is none") {
  Shared<UuidCollisionMonitor> none;
  CHECK_FALSE(none);
  Shared<UuidCollisionMonitor> own = UuidCollisionMonitor({.category = "own"});
  REQUIRE(own);
  CHECK(own->category() == "own");
  auto mine = std::make_shared<UuidCollisionMonitor>(helpers::UuidCollisionMonitorOptions{.category = "mine"});
  Shared<UuidCollisionMonitor> shared = mine;
  CHECK(shared.get() == mine.get());
  const Shared<UuidCollisionMonitor> copy = own;  // copies share
  CHECK(copy.get() == own.get());
}

TEST_CASE("one monitor sees run ids (UuidTelemetry) and tool-call ids (ToolExecutor): a collision between them shows") {
  auto monitor = std::make_shared<UuidCollisionMonitor>(helpers::UuidCollisionMonitorOptions{.category = "service"});
  CollectingSink sink;
  const Runner<CollectingSink, pl::UuidTelemetry<>> runner{sink, pl::UuidTelemetry<>(monitor)};
  const ToolExecutor executor = echo_executor({.uuid_monitor = monitor});

  SECTION("a tool call reusing a run's id") {
    const auto id = helpers::generate_uuid7();
    REQUIRE(runner.run(OneStage{}, snapshot_with_run_id(id)).ok());
    const auto result = executor.execute({{.id = id, .type = "echo"}});
    CHECK(result.duplicate_ids == 1);
    CHECK(result.actions[0].duplicate_id);
  }
  SECTION("a run reusing a tool call's id") {
    const auto id = helpers::generate_uuid7();
    CHECK(executor.execute({{.id = id, .type = "echo"}}).duplicate_ids == 0);
    REQUIRE(runner.run(OneStage{}, snapshot_with_run_id(id)).ok());
    REQUIRE(sink.count("uuid.collision") == 1);
    const auto events = sink.events();
    const auto collision = std::find_if(events.begin(), events.end(), [](const auto& e) { return e.type == "uuid.collision"; });
    CHECK(collision->text("field") == "pipeline_run_id");
    CHECK(collision->text("category") == "service");
  }
  CHECK(monitor->counters().collisions == 1);
  const ToolExecutor& read_only = executor;  // const accessors
  CHECK(read_only.uuid_monitor() == monitor.get());
  CHECK(read_only.shared_uuid_monitor() == monitor);
}

TEST_CASE("one tracker's samples hold pipeline and tool samples, in order") {
  auto tracker = std::make_shared<MemoryTracker>(helpers::MemoryTrackerOptions{.read_rss = false});
  const Runner<pl::MemoryTracking> runner{pl::MemoryTracking(tracker)};
  const ToolExecutor executor = echo_executor({.memory_tracker = tracker});
  REQUIRE(runner.run(OneStage{}, ContextSnapshot{}).ok());
  REQUIRE(executor.execute({{.type = "echo"}}).ok());
  REQUIRE(runner.run(OneStage{}, ContextSnapshot{}).ok());
  std::vector<std::string> labels;
  for (const auto& sample : tracker->samples()) labels.push_back(sample.label);
  const std::vector<std::string> expected{"pipeline:start", "answer:start", "answer:end",     "pipeline:end",
                                          "tool:echo:start", "tool:echo:end", "pipeline:start", "answer:start",
                                          "answer:end",      "pipeline:end"};
  CHECK(labels == expected);
  const ToolExecutor& read_only = executor;
  CHECK(read_only.memory_tracker() == tracker.get());
}

TEST_CASE("PipelineRunner takes the monitor's and tracker's options, or shared instances") {
  SECTION("options beyond the seed's flags") {
    const helpers::PipelineRunner runner({.enable_uuid_monitor = true,
                                          .uuid_monitor_ttl_seconds = 60,
                                          .enable_memory_tracker = true,
                                          .uuid_monitor_options = {.max_entries = 10, .category = "chat", .check_skew = true},
                                          .fail_on_collision = true,
                                          .memory_tracker_options = {.sample_capacity = 8, .read_rss = false}});
    REQUIRE(runner.uuid_monitor() != nullptr);
    CHECK(runner.uuid_monitor()->category() == "chat");
    CHECK(runner.uuid_monitor()->options().ttl_seconds == 60);  // the seed's flag decides the TTL
    CHECK(runner.uuid_monitor()->options().max_entries == 10);
    CHECK(runner.uuid_monitor()->options().check_skew);
    REQUIRE(runner.memory_tracker() != nullptr);
    CHECK(runner.memory_tracker()->options().sample_capacity == 8);
    const auto snapshot = runner.create_snapshot({.input_text = "x"});
    CHECK(runner.run(OneStage{}, snapshot).ok());
    const auto again = runner.run(OneStage{}, snapshot);  // the same run id: fail_on_collision
    CHECK(again.status == RunStatus::failed);
    CHECK(again.error.find("uuid collision") != std::string::npos);
  }
  SECTION("the instances a ToolExecutor also uses") {
    const ToolExecutor executor = echo_executor({.uuid_monitor = UuidCollisionMonitor({.category = "tool"}),
                                                 .memory_tracker = MemoryTracker({.read_rss = false})});
    const helpers::PipelineRunner runner({.enable_uuid_monitor = true,
                                          .enable_memory_tracker = true,
                                          .uuid_monitor = executor.shared_uuid_monitor(),
                                          .memory_tracker = executor.shared_memory_tracker()});
    CHECK(runner.uuid_monitor() == executor.uuid_monitor());
    CHECK(runner.memory_tracker() == executor.memory_tracker());
    CHECK(runner.shared_uuid_monitor() == executor.shared_uuid_monitor());
    const auto snapshot = runner.create_snapshot();
    REQUIRE(runner.run(OneStage{}, snapshot).ok());
    CHECK(executor.execute({{.id = snapshot.run.pipeline_run_id, .type = "echo"}}).duplicate_ids == 1);
  }
}

TEST_CASE("typed field readers on events and recorded events") {
  int seen = 0;
  const Runner<CallbackSink<>, pl::ContextSizeInterceptor> runner{
      CallbackSink<>([&](const Event& e) {
        if (e.type != "context.size_exceeded") return;
        ++seen;
        CHECK(e.number("limit_bytes") == 1.0);
        CHECK(e.number("size_bytes") > 1.0);
        CHECK_FALSE(e.number("missing"));
        CHECK_FALSE(e.text("limit_bytes"));  // a number is not text
      }),
      pl::ContextSizeInterceptor({.max_size_bytes = 1})};
  const auto result = runner.run(OneStage{}, ContextSnapshot{.input_text = "hello"});
  CHECK(seen == 1);
  CHECK(result.metric("snapshot", "context_size_bytes") > 1.0);  // the snapshot's own size, named
  RecordedEvent recorded;
  recorded.type = "x";
  recorded.fields = {{"n", std::int64_t{3}}, {"d", 0.5}, {"s", std::string("t")}, {"b", true}};
  CHECK(recorded.number("n") == 3.0);
  CHECK(recorded.number("d") == 0.5);
  CHECK_FALSE(recorded.number("s"));
  CHECK(recorded.text("s") == "t");
  CHECK(recorded.flag("b") == true);
  CHECK_FALSE(recorded.flag("n"));
}

TEST_CASE("a shared monitor and tracker used from several threads by runs and tool plans at once") {
  auto monitor = std::make_shared<UuidCollisionMonitor>();
  auto tracker = std::make_shared<MemoryTracker>(helpers::MemoryTrackerOptions{.read_rss = false});
  const Runner<pl::UuidTelemetry<>, pl::MemoryTracking> runner{pl::UuidTelemetry<>(monitor), pl::MemoryTracking(tracker)};
  const ToolExecutor executor = echo_executor({.uuid_monitor = monitor, .memory_tracker = tracker});
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) {
          if (t % 2 == 0)
            (void)runner.run(OneStage{}, ContextSnapshot{.run = RunIdentity::generate()});
          else
            (void)executor.execute({{.type = "echo"}});
        }
      });
  }
  // Two runs of 200 (3 ids each: run, request, interaction) and two plans of 200 (one id each).
  CHECK(monitor->counters().collisions == 0);
  CHECK(monitor->counters().observed == 2 * 200 * 3 + 2 * 200);
  CHECK(tracker->observation_count() == 2 * 200 * 4 + 2 * 200 * 2);
}
