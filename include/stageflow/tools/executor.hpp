// SPDX-License-Identifier: BSL-1.0
// ToolExecutor: runs an agent's plan of tool actions with the same monitors as the runner.
//
//   stageflow::tools::ToolExecutor executor({
//       .uuid_monitor = stageflow::helpers::UuidCollisionMonitor({.category = "tool"}),
//       .memory_tracker = stageflow::helpers::MemoryTracker()});
//   executor.register_tool("search", [](const ToolAction& action) {
//     return ToolOutput::ok(search(action.payload.at("query").as_string()));
//   });
//   ToolExecutorResult result = executor.execute(plan);   // never throws for a tool's failure
//
// The monitor and the tracker follow the library's one ownership rule (<stageflow/core/shared.hpp>):
// a value is the executor's own, a std::shared_ptr is shared, e.g. with the runner's UuidTelemetry
// and MemoryTracking, so one monitor sees run ids and tool-call ids alike and one tracker's samples
// hold pipeline and tool samples in order.
//
// Each action's id goes through the UUID collision monitor (a repeated id means a replayed or
// duplicated action: counted, and with `reject_duplicate_actions` not executed) and each tool call
// is sampled by the memory tracker (`tool:<type>:start` / `tool:<type>:end`). Actions run in plan
// order; a failed action does not stop the plan, but sets `requires_reentry` so the agent looks
// again (as in the original). `execute` may be called from several threads at once once the tools
// are registered.
#pragma once

#include <stageflow/config.hpp>  // first: the C++20 check
#include <stageflow/core/shared.hpp>
#include <stageflow/json/value.hpp>
#include <stageflow/memory/tracker.hpp>
#include <stageflow/uuid/collision_monitor.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::tools {

/// One step of a plan: which tool, with what.
struct ToolAction {
  boost::uuids::uuid id{};  // nil: the executor gives it a fresh UUIDv7
  std::string type{};       // the registered tool's name
  JsonValue payload{};
};

/// What a tool returns.
struct ToolOutput {
  bool success = true;
  JsonValue data{};
  std::string error{};
  std::vector<JsonValue> artifacts{};
  bool requires_reentry = false;  // the agent should plan again after this action

  static ToolOutput ok(JsonValue data = {}) { return {.success = true, .data = std::move(data)}; }
  static ToolOutput failure(std::string error) { return {.success = false, .error = std::move(error)}; }
};

using Tool = std::function<ToolOutput(const ToolAction&)>;

struct ToolExecutorOptions {
  /// A monitor of its own (a value) or one you share (a std::shared_ptr); empty: none.
  Shared<helpers::UuidCollisionMonitor> uuid_monitor{};
  /// The same for the tracker.
  Shared<helpers::MemoryTracker> memory_tracker{};
  /// An action whose id the monitor has seen within its window is not executed (it fails).
  bool reject_duplicate_actions = false;
};

/// How one action went.
struct ActionReport {
  boost::uuids::uuid id{};
  std::string type{};
  ToolOutput output{};
  bool duplicate_id = false;
  std::chrono::nanoseconds duration{0};
  std::optional<helpers::MemoryDelta> memory{};  // when a started tracker sampled it
};

struct ToolExecutorResult {
  std::size_t actions_executed = 0;  // succeeded
  std::size_t actions_failed = 0;
  std::size_t duplicate_ids = 0;
  std::vector<JsonValue> artifacts_produced{};
  bool requires_reentry = false;
  std::vector<ActionReport> actions{};  // in plan order

  bool ok() const noexcept { return actions_failed == 0; }
};

class ToolExecutor {
 public:
  explicit ToolExecutor(ToolExecutorOptions options = {}) : options_(std::move(options)) {}

  ToolExecutor(ToolExecutor&&) noexcept = default;
  ToolExecutor& operator=(ToolExecutor&&) noexcept = default;

  /// Registers (or replaces) the tool for an action type. Not concurrent with execute().
  ToolExecutor& register_tool(std::string type, Tool tool) {
    if (!tool) throw std::invalid_argument("ToolExecutor::register_tool(\"" + type + "\"): empty tool");
    tools_.insert_or_assign(std::move(type), std::move(tool));
    return *this;
  }
  bool has_tool(std::string_view type) const { return tools_.find(type) != tools_.end(); }

  /// Runs every action in order. A tool that throws or is missing fails its action, not the plan.
  ToolExecutorResult execute(std::span<const ToolAction> plan) const {
    ToolExecutorResult result;
    result.actions.reserve(plan.size());
    for (const ToolAction& planned : plan) result.actions.push_back(run_action(planned));
    for (auto& report : result.actions) {
      if (report.output.success) {
        ++result.actions_executed;
        for (auto& artifact : report.output.artifacts) result.artifacts_produced.push_back(artifact);
      } else {
        ++result.actions_failed;
      }
      if (report.duplicate_id) ++result.duplicate_ids;
      if (!report.output.success || report.output.requires_reentry) result.requires_reentry = true;
    }
    return result;
  }
  ToolExecutorResult execute(std::initializer_list<ToolAction> plan) const {
    return execute(std::span<const ToolAction>(plan.begin(), plan.size()));
  }

  /// The monitor, or nullptr when there is none.
  helpers::UuidCollisionMonitor* uuid_monitor() noexcept { return options_.uuid_monitor.get(); }
  const helpers::UuidCollisionMonitor* uuid_monitor() const noexcept { return options_.uuid_monitor.get(); }
  /// The tracker, or nullptr when there is none.
  helpers::MemoryTracker* memory_tracker() noexcept { return options_.memory_tracker.get(); }
  const helpers::MemoryTracker* memory_tracker() const noexcept { return options_.memory_tracker.get(); }
  /// The instances themselves, to share with another component (null when there is none).
  const std::shared_ptr<helpers::UuidCollisionMonitor>& shared_uuid_monitor() const noexcept {
    return options_.uuid_monitor.shared();
  }
  const std::shared_ptr<helpers::MemoryTracker>& shared_memory_tracker() const noexcept {
    return options_.memory_tracker.shared();
  }

 private:
  ActionReport run_action(const ToolAction& planned) const {
    ActionReport report{.id = planned.id.is_nil() ? helpers::generate_uuid7() : planned.id, .type = planned.type};
    if (options_.uuid_monitor) report.duplicate_id = options_.uuid_monitor->observe(report.id);
    if (report.duplicate_id && options_.reject_duplicate_actions) {
      report.output = ToolOutput::failure("duplicate action id: already executed within the monitor's window");
      return report;
    }
    const auto tool = tools_.find(planned.type);
    if (tool == tools_.end()) {
      report.output = ToolOutput::failure("no tool registered for action type \"" + planned.type + "\"");
      return report;
    }

    std::optional<helpers::MemorySample> before;
    if (options_.memory_tracker)
      if (auto observation = options_.memory_tracker->try_observe(
              "tool:" + planned.type, {.label_suffix = ":start", .in_growth_window = false}))
        before = std::move(observation->sample);

    const auto started = std::chrono::steady_clock::now();
    try {
      if (planned.id.is_nil()) {
        ToolAction with_id = planned;
        with_id.id = report.id;
        report.output = tool->second(with_id);
      } else {
        report.output = tool->second(planned);
      }
    } catch (const std::exception& e) {
      report.output = ToolOutput::failure(e.what());
    } catch (...) {
      report.output = ToolOutput::failure("unknown exception");
    }
    report.duration = std::chrono::steady_clock::now() - started;

    if (before && options_.memory_tracker)
      if (auto after = options_.memory_tracker->try_observe("tool:" + planned.type, {.label_suffix = ":end"}))
        report.memory = after->sample.since(*before);
    return report;
  }

  ToolExecutorOptions options_;
  std::map<std::string, Tool, std::less<>> tools_;
};

}  // namespace stageflow::tools
