// SPDX-License-Identifier: BSL-1.0
// RunContext and StageRun: what a policy's hooks see of a run and of one stage's execution.
//
//   template <class Run, class Stage>
//   void after_stage(Run& run, Stage& stage) const {
//     if (stage.status() == stageflow::StageStatus::ok && too_slow(stage.duration()))
//       run.emit("stage.slow", Stage::name, {{"budget_ns", budget.count()}}, stage.duration());
//   }
//
// Under a concurrent executor several stages, and their hooks, run at the same time. What stays
// safe to call from any hook: snapshot(), pipeline_run_id(), stop_token(), status(), error(),
// ending(), fail(), cancel(), record_metric(), emit(), and everything about the hook's own stage
// (StageRun) and its upstream stages (which finished before it started). The outputs and reports of
// stages that are not upstream may still be changing: read them in on_run_end, when every stage
// has finished.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/events.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/core/trace_context.hpp>
#include <stageflow/runner/run_core.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow {

/// What a policy sees of a run: the snapshot, the outputs so far, the reports; and what it can do:
/// emit events, record metrics, end the run. A view over the run's RunCore.
template <class Runner, class Pipeline, class Snapshot>
class RunContext {
 public:
  using pipeline_type = Pipeline;
  using snapshot_type = Snapshot;
  using result_type = RunResult<Pipeline, Snapshot>;
  using core_type = RunCore<Runner, Pipeline, Snapshot>;
  using clock = typename Runner::clock;
  template <class S>
  using output_type = stage_output_t<Snapshot, Pipeline, S>;
  static constexpr bool has_event_sink = Runner::has_event_sink;
  /// True when stages of this run may run at the same time (a concurrent executor).
  static constexpr bool concurrent = Runner::concurrent;

  explicit RunContext(core_type& core) noexcept : core_(&core) {}

  const Snapshot& snapshot() const noexcept { return *core_->snapshot; }
  const boost::uuids::uuid& pipeline_run_id() const noexcept { return core_->result->pipeline_run_id; }
  /// The run's stop token: it fires on failure, cancellation, the caller's stop and the deadline.
  const std::stop_token& stop_token() const noexcept { return *core_->stop; }

  /// S's output, or nullptr when it has none (yet).
  template <class S>
  const output_type<S>* output() const noexcept {
    return core_->result->template output<S>();
  }
  /// Calls f(name, output) for every stage that has an output so far, in listing order.
  template <class F>
  void for_each_output(F&& f) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if (const auto& slot = std::get<I>(core_->result->outputs)) f(Pipeline::names[I], *slot);
          }(),
          ...);
    }(std::make_index_sequence<Pipeline::size>{});
  }
  std::span<const StageReport> stages() const noexcept { return core_->result->stages; }
  /// completed while nothing has gone wrong yet.
  RunStatus status() const {
    std::lock_guard lock(core_->mutex);
    return core_->result->status;
  }
  /// Why the run failed, was cancelled or timed out (empty while it has not).
  std::string error() const {
    std::lock_guard lock(core_->mutex);
    return core_->result->error;
  }
  typename clock::duration elapsed() const { return clock::now() - core_->started; }
  /// The run's duration, known once its last stage has finished: valid in on_run_end (zero
  /// before), where it costs no clock reading, unlike elapsed().
  std::chrono::nanoseconds duration() const noexcept { return core_->result->duration; }

  /// The run's span in its trace (see RunOptions::traceparent); all zero when the runner has no
  /// event sink, since only events carry trace ids.
  TraceIds trace() const noexcept { return core_->trace_ids(core_type::no_stage); }

  /// Fails the run after the current hook; no further stage starts.
  void fail(std::string reason) { core_->end(RunStatus::failed, std::move(reason)); }
  /// Cancels the run after the current hook (partial results are kept); no further stage starts.
  void cancel(std::string reason) { core_->end(RunStatus::cancelled, std::move(reason)); }
  /// True once something ended the run: no further stage starts.
  bool ending() const noexcept { return core_->ending.get(); }

  /// Records a number in the RunResult's metrics; `name` must outlive the result (a literal).
  void record_metric(std::string_view stage, std::string_view name, double value) {
    std::lock_guard lock(core_->mutex);
    core_->result->metrics.push_back({stage, name, value});
  }

  /// Sends an event to the runner's sinks; free when it has none. `fields` are what is particular
  /// to this event type (a JSON line nests them under "fields"); durations are nanoseconds.
  void emit(std::string_view type, std::string_view stage = {}, std::initializer_list<EventField> fields = {},
            std::chrono::nanoseconds duration = std::chrono::nanoseconds(-1)) const {
    emit_outcome(type, stage, {}, {}, duration, fields);
  }
  /// An event with a status (a word of to_string(StageStatus or RunStatus)) and a reason, as
  /// envelope members. Stamped now; the runner's own outcome events carry measured times instead.
  void emit_outcome(std::string_view type, std::string_view stage, std::string_view status, std::string_view reason,
                    std::chrono::nanoseconds duration, std::initializer_list<EventField> fields = {}) const {
    if constexpr (has_event_sink)
      core_->send(type, index_of(stage), status, reason, duration, std::chrono::system_clock::now(), fields);
  }

  /// The run's state behind this view, for the engine and for extensions of it (resilience,
  /// checkpoints); a policy needs only the members above.
  core_type& core() const noexcept { return *core_; }

 private:
  /// The index of the stage with this name (a policy's events name stages by text), or no_stage.
  static std::size_t index_of(std::string_view stage) noexcept {
    if (!stage.empty())
      for (std::size_t i = 0; i < Pipeline::size; ++i)
        if (Pipeline::names[i] == stage) return i;
    return core_type::no_stage;
  }

  core_type* core_;
};

/// What a policy sees of one stage's run: its identity, its context, its outcome.
template <class Run, class S>
class StageRun {
  using pipeline_type = typename Run::pipeline_type;
  using snapshot_type = typename Run::snapshot_type;

 public:
  using stage_type = S;
  using context_type = StageContext<snapshot_type, pipeline_type, S>;
  using output_type = stage_output_t<snapshot_type, pipeline_type, S>;
  static constexpr std::size_t index = pipeline_type::template index_of<S>();
  static constexpr std::string_view name = S::name;

  StageRun(const Run& run, const S& stage, const context_type& context) noexcept
      : core_(&run.core()), stage_(&stage), context_(&context) {}

  const S& stage() const noexcept { return *stage_; }
  /// Exactly what the stage's execute receives: its snapshot and its inputs.
  const context_type& context() const noexcept { return *context_; }
  StageStatus status() const noexcept { return report().status; }
  std::chrono::nanoseconds duration() const noexcept { return report().duration; }
  /// The stage's span, a child of the run's (all zero when the runner has no event sink).
  TraceIds trace() const noexcept { return core_->trace_ids(index); }
  const std::string& reason() const noexcept { return report().reason; }
  /// The stage's output once it has run successfully, else nullptr.
  const output_type* output() const noexcept { return core_->result->template output<S>(); }

  /// Calls f(name, output) for every upstream stage this stage may read (those it runs after) that
  /// has an output: the inputs the stage sees.
  template <class F>
  void for_each_input(F&& f) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (pipeline_type::plan.ancestor[index][I]) {
              if (const auto& slot = std::get<I>(core_->result->outputs)) f(pipeline_type::names[I], *slot);
            }
          }(),
          ...);
    }(std::make_index_sequence<pipeline_type::size>{});
  }

  /// Fails the stage: before it runs, it will not run; after it ran, its output is dropped.
  /// Either way the run fails with this reason.
  void fail(std::string reason) {
    auto& r = core_->result->stages[index];
    if (r.status == StageStatus::fail) return;  // keep the first reason
    r.status = StageStatus::fail;
    r.reason = std::move(reason);
    core_->template drop_output<index>();
  }

  /// Gives the stage its output without running it (a before-hook restoring a checkpoint, see
  /// <stageflow/store/checkpoint.hpp>): status ok, the output visible to dependents, execute not
  /// called. Only from before_stage, and only before any policy failed the stage.
  template <class... Args>
  void restore(Args&&... output) {
    auto& r = core_->result->stages[index];
    if (r.status != StageStatus::not_run) return;
    core_->template slot<index>().emplace(std::forward<Args>(output)...);
    r.status = StageStatus::ok;
    core_->template publish<index>();
  }
  /// The same for a stage that had skipped: status skip with its reason, no output.
  void restore_skipped(std::string reason) {
    auto& r = core_->result->stages[index];
    if (r.status != StageStatus::not_run) return;
    r.status = StageStatus::skip;
    r.reason = std::move(reason);
  }

  /// Adds field paths a policy found changed around this stage to its report
  /// (StageReport::changed_fields, RunResult::changed_fields()). Only this stage's hooks write
  /// its report while it runs, so this races with nothing.
  template <class Paths>
  void record_changed_fields(const Paths& paths) {
    auto& fields = core_->result->stages[index].changed_fields;
    fields.insert(fields.end(), std::begin(paths), std::end(paths));
  }

 private:
  const StageReport& report() const noexcept { return core_->result->stages[index]; }

  typename Run::core_type* core_;
  const S* stage_;
  const context_type* context_;
};

}  // namespace stageflow
