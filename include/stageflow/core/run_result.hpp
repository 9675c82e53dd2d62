// SPDX-License-Identifier: BSL-1.0
// RunResult: everything a run produced.
//
//   auto result = runner.run(pipeline, snapshot);
//   if (!result.ok()) std::cerr << result.error_stage << ": " << result.error << '\n';
//   if (const Reply* reply = result.output<ReplyStage>()) send(*reply);
//   for (const auto& stage : result.stages) print(stage.name, stage.status, stage.duration);
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/core/stage_output.hpp>

#include <boost/uuid/uuid.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace stageflow {

/// How a run ended. `timed_out`: its deadline passed, or a stage ran past its `timeout`.
enum class RunStatus : std::uint8_t { completed, failed, cancelled, timed_out };

constexpr std::string_view to_string(RunStatus status) noexcept {
  switch (status) {
    case RunStatus::completed: return "completed";
    case RunStatus::failed: return "failed";
    case RunStatus::cancelled: return "cancelled";
    case RunStatus::timed_out: return "timed_out";
  }
  return "unknown";
}

/// The outcome event of a run that ended with this status: the one table from status to event name.
constexpr std::string_view outcome_event(RunStatus status) noexcept {
  switch (status) {
    case RunStatus::completed: return events::pipeline_completed;
    case RunStatus::failed: return events::pipeline_failed;
    case RunStatus::cancelled: return events::pipeline_cancelled;
    case RunStatus::timed_out: return events::pipeline_timed_out;
  }
  return {};
}

/// The outcome event of a stage that ended with this status; empty for not_run (no event).
constexpr std::string_view outcome_event(StageStatus status) noexcept {
  switch (status) {
    case StageStatus::ok: return events::stage_completed;
    case StageStatus::skip: return events::stage_skipped;
    case StageStatus::cancel: return events::stage_cancelled;
    case StageStatus::fail: return events::stage_failed;
    case StageStatus::timed_out: return events::stage_timed_out;
    case StageStatus::not_run: return {};
  }
  return {};
}

/// How one stage went.
struct StageReport {
  std::string_view name;
  StageStatus status = StageStatus::not_run;
  /// How many times execute was called: 1, more for a stage that declares `retry` and was
  /// retried, 0 when it never executed. One byte beside `status` (one store sets both; a Retry
  /// allows at most 255 attempts).
  std::uint8_t attempts = 0;
  std::chrono::nanoseconds duration{0};  // of execute() alone, policies excluded
  std::string reason;                    // why it skipped, cancelled or failed
  /// The fields found changed across this stage by the ImmutabilityInterceptor, as paths
  /// ("messages[2].content", "enrich:tier"; see <stageflow/hardening/immutability_interceptor.hpp>).
  /// Empty when nothing changed or the check is off.
  std::vector<std::string> changed_fields{};
};

/// A number a policy recorded for a stage (e.g. "context_size_bytes"). Names are string literals.
struct Metric {
  std::string_view stage;
  std::string_view name;
  double value;
};

template <class Pipeline, class Snapshot>
struct RunResult;

template <class... Stages, class Snapshot>
struct RunResult<Pipeline<Stages...>, Snapshot> {
  using pipeline_type = Pipeline<Stages...>;
  using snapshot_type = Snapshot;
  template <class S>
  using output_type = stage_output_t<Snapshot, pipeline_type, S>;
  using outputs_type = std::tuple<std::optional<output_type<Stages>>...>;

  RunStatus status = RunStatus::completed;
  boost::uuids::uuid pipeline_run_id{};
  std::string error;             // why the run failed, was cancelled or timed out
  std::string_view error_stage;  // the stage that failed, cancelled or timed out; empty when a policy,
                                 // the stop token or the run's deadline ended the run
  std::chrono::nanoseconds duration{0};
  std::array<StageReport, sizeof...(Stages)> stages{};  // in the Pipeline's listing order
  std::vector<Metric> metrics;
  outputs_type outputs;

  bool ok() const noexcept { return status == RunStatus::completed; }

  /// True when a best-effort stage (`static constexpr bool best_effort = true;`) failed or timed
  /// out and the run went on without its output.
  bool degraded() const noexcept {
    constexpr std::array<bool, sizeof...(Stages)> best_effort{is_best_effort_v<Stages>...};
    for (std::size_t i = 0; i < best_effort.size(); ++i)
      if (best_effort[i] && (stages[i].status == StageStatus::fail || stages[i].status == StageStatus::timed_out))
        return true;
    return false;
  }

  /// S's output, or nullptr when S did not produce one (skipped, failed, not run).
  template <class S>
  const output_type<S>* output() const noexcept {
    const auto& slot = std::get<pipeline_type::template index_of<S>()>(outputs);
    return slot ? &*slot : nullptr;
  }

  template <class S>
  const StageReport& report() const noexcept {
    return stages[pipeline_type::template index_of<S>()];
  }
  /// The report of the stage with this name, or nullptr.
  const StageReport* report(std::string_view name) const noexcept {
    for (const auto& stage : stages)
      if (stage.name == name) return &stage;
    return nullptr;
  }

  /// Every changed field the ImmutabilityInterceptor found, stage by stage in listing order (each
  /// stage's are in its report's changed_fields); empty when nothing was mutated.
  std::vector<std::string> changed_fields() const {
    std::vector<std::string> fields;
    for (const auto& stage : stages) fields.insert(fields.end(), stage.changed_fields.begin(), stage.changed_fields.end());
    return fields;
  }

  /// The last value recorded under this stage and name, or nullopt.
  std::optional<double> metric(std::string_view stage, std::string_view name) const noexcept {
    for (auto it = metrics.rbegin(); it != metrics.rend(); ++it)
      if (it->stage == stage && it->name == name) return it->value;
    return std::nullopt;
  }
};

}  // namespace stageflow
