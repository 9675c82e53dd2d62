// SPDX-License-Identifier: BSL-1.0
// ToolExecutor: plans of tool actions under the UUID monitor and the memory tracker.
#include <stageflow/tools/executor.hpp>

#include "catch2_shim.hpp"

using namespace stageflow;
using namespace stageflow::tools;

namespace {

ToolExecutor make_executor(bool reject_duplicates = false) {
  ToolExecutor executor({.uuid_monitor = helpers::UuidCollisionMonitor({.category = "tool"}),
                         .memory_tracker = helpers::MemoryTracker({.read_rss = false}),
                         .reject_duplicate_actions = reject_duplicates});
  executor.register_tool("echo", [](const ToolAction& a) {
    ToolOutput out = ToolOutput::ok(a.payload);
    out.artifacts.push_back(JsonValue::object({{"echoed", a.payload}}));
    return out;
  });
  executor.register_tool("explode", [](const ToolAction&) -> ToolOutput { throw std::runtime_error("tool exploded"); });
  executor.register_tool("refuse", [](const ToolAction&) { return ToolOutput::failure("not allowed"); });
  return executor;
}

}  // namespace

TEST_CASE("actions run in order; failures are reported, not thrown, and ask for reentry", "[tool_executor]") {
  auto executor = make_executor();
  const auto result = executor.execute({{.type = "echo", .payload = 1},
                                        {.type = "explode"},
                                        {.type = "missing"},
                                        {.type = "refuse"},
                                        {.type = "echo", .payload = "two"}});
  REQUIRE(result.actions.size() == 5);
  CHECK(result.actions_executed == 2);
  CHECK(result.actions_failed == 3);
  CHECK_FALSE(result.ok());
  CHECK(result.requires_reentry);
  CHECK(result.actions[1].output.error == "tool exploded");
  CHECK(result.actions[2].output.error == "no tool registered for action type \"missing\"");
  CHECK(result.actions[3].output.error == "not allowed");
  CHECK(result.actions[4].output.data == JsonValue("two"));
  REQUIRE(result.artifacts_produced.size() == 2);
  CHECK(result.artifacts_produced[1].at("echoed") == JsonValue("two"));
  for (const auto& action : result.actions) CHECK(helpers::is_uuid7(action.id));  // nil ids get fresh v7 ids
}

TEST_CASE("a repeated action id is counted, and rejected when asked", "[tool_executor]") {
  const auto id = helpers::generate_uuid7();
  SECTION("reported") {
    auto executor = make_executor();
    const auto result = executor.execute({{.id = id, .type = "echo"}, {.id = id, .type = "echo"}});
    CHECK(result.duplicate_ids == 1);
    CHECK(result.actions[1].duplicate_id);
    CHECK(result.actions_executed == 2);
    CHECK(executor.uuid_monitor()->counters().collisions == 1);
  }
  SECTION("rejected") {
    auto executor = make_executor(true);
    executor.execute({{.id = id, .type = "echo"}});
    const auto again = executor.execute({{.id = id, .type = "echo"}});
    CHECK(again.actions_failed == 1);
    CHECK(again.actions[0].output.error.starts_with("duplicate action id"));
  }
}

TEST_CASE("each tool call is sampled by the memory tracker", "[tool_executor]") {
  auto executor = make_executor();
  executor.register_tool("allocate", [](const ToolAction&) {
    static std::vector<char> kept;
    kept.assign(std::size_t{4} << 20, 'x');
    return ToolOutput::ok();
  });
  const auto result = executor.execute({{.type = "allocate"}, {.type = "missing"}});
  std::vector<std::string> labels;
  for (const auto& s : executor.memory_tracker()->samples()) labels.push_back(s.label);
  CHECK(labels == std::vector<std::string>{"tool:allocate:start", "tool:allocate:end"});  // a missing tool is not called
  REQUIRE(result.actions[0].memory.has_value());
  if (result.actions[0].memory->heap_bytes) CHECK(*result.actions[0].memory->heap_bytes >= (4 << 20));
  CHECK_FALSE(result.actions[1].memory.has_value());
}

TEST_CASE("an executor without monitor or tracker, and a stopped tracker", "[tool_executor]") {
  ToolExecutor bare;
  bare.register_tool("echo", [](const ToolAction& a) { return ToolOutput::ok(a.payload); });
  CHECK(bare.execute({{.type = "echo", .payload = true}}).ok());
  CHECK(bare.uuid_monitor() == nullptr);
  CHECK(bare.memory_tracker() == nullptr);

  ToolExecutor stopped({.memory_tracker = helpers::MemoryTracker({.auto_start = false})});
  stopped.register_tool("echo", [](const ToolAction& a) { return ToolOutput::ok(a.payload); });
  const auto result = stopped.execute({{.type = "echo"}});
  CHECK(result.ok());
  CHECK(stopped.memory_tracker()->samples().empty());
  CHECK_THROWS_AS(stopped.register_tool("empty", Tool{}), std::invalid_argument);
}
