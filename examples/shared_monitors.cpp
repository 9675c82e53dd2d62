// SPDX-License-Identifier: BSL-1.0
// One monitor and one tracker for a whole service: a chat pipeline's runs and the agent's tool
// calls report to the same UuidCollisionMonitor and the same MemoryTracker. A tool call that
// replays a run's id is a collision the monitor sees, whichever component observed it first; the
// tracker's samples tell the run and the tool calls as one story, in order.
//
//   build/release/examples/shared_monitors
#include <stageflow/helpers/memory_tracker.hpp>
#include <stageflow/helpers/uuid_utils.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/stageflow.hpp>
#include <stageflow/tools/executor.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace {

struct Plan {
  static constexpr std::string_view name = "plan";
  std::string execute(const auto& ctx) const { return "search: " + ctx.snapshot().input_text; }
};
using Agent = stageflow::Pipeline<Plan>;

}  // namespace

int main() {
  namespace sp = stageflow::pipeline;
  using stageflow::helpers::MemoryTracker;
  using stageflow::helpers::UuidCollisionMonitor;

  // The service's one monitor and one tracker, owned here and shared with both components.
  auto monitor = std::make_shared<UuidCollisionMonitor>(stageflow::helpers::UuidCollisionMonitorOptions{.category = "agent"});
  auto tracker = std::make_shared<MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{.read_rss = false});

  stageflow::CollectingSink events;
  const stageflow::Runner<stageflow::CollectingSink, sp::UuidTelemetry<>, sp::MemoryTracking> runner{
      events, sp::UuidTelemetry<>(monitor), sp::MemoryTracking(tracker)};
  stageflow::tools::ToolExecutor tools({.uuid_monitor = monitor, .memory_tracker = tracker});
  tools.register_tool("search", [](const stageflow::tools::ToolAction& action) {
    return stageflow::tools::ToolOutput::ok(stageflow::JsonValue("results for " + action.payload.as_string()));
  });

  const auto snapshot = stageflow::ContextSnapshot{.run = stageflow::RunIdentity::generate(), .input_text = "invoices"};
  const auto run = runner.run(Agent{}, snapshot);
  std::printf("run %s: %s\n", boost::uuids::to_string(run.pipeline_run_id).c_str(),
              std::string(stageflow::to_string(run.status)).c_str());

  // A buggy agent reuses the run's id as its tool call's id: the shared monitor has seen it.
  const auto plan = tools.execute({{.type = "search", .payload = "invoices"},
                                   {.id = snapshot.run.pipeline_run_id, .type = "search", .payload = "again"}});
  std::printf("tool calls: %zu executed, %zu with an id already seen (a replay of the run's id)\n",
              plan.actions_executed, plan.duplicate_ids);
  std::printf("monitor '%s': %llu ids observed, %llu collisions\n", monitor->category().c_str(),
              static_cast<unsigned long long>(monitor->counters().observed),
              static_cast<unsigned long long>(monitor->counters().collisions));

  std::printf("tracker samples, in order:");
  for (const auto& sample : tracker->samples()) std::printf(" %s", sample.label.c_str());
  std::printf("\n");

  const bool ok = run.ok() && plan.duplicate_ids == 1 && monitor->counters().collisions == 1 &&
                  tracker->samples().size() == 4 + 4;
  return ok ? 0 : 1;
}
