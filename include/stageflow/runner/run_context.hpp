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
#include <stageflow/runner/detail/run_sync.hpp>

#include <boost/uuid/uuid.hpp>

#include <array>
#include <atomic>
#include <iterator>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <mutex>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow {

template <class Config, class... Policies>
class BasicRunner;
namespace detail {
template <class Runner, class Pipeline, class Snapshot, bool Full>
struct RunFrame;

/// The traceparent a snapshot carries: its `traceparent()` member, else the string at
/// metadata["traceparent"] (ContextSnapshot), else none.
template <class Snapshot>
std::string_view snapshot_traceparent(const Snapshot& snapshot) {
  if constexpr (requires {
                  { snapshot.traceparent() } -> std::convertible_to<std::string_view>;
                }) {
    return snapshot.traceparent();
  } else if constexpr (requires { snapshot.metadata.find(std::string_view{}); }) {
    const auto* value = snapshot.metadata.find("traceparent");
    if (value != nullptr && value->is_string()) return value->as_string();
    return {};
  } else {
    return {};
  }
}

/// A run's place in its trace: the trace, the run's span and its parent, one span per stage.
template <std::size_t N>
struct RunTrace {
  TraceId trace_id{};
  SpanId run_span{};
  SpanId parent{};  // the caller's span; zero for a new trace
  std::array<SpanId, N> stage_spans{};
};
}  // namespace detail

/// What a policy sees of a run: the snapshot, the outputs so far, the reports; and what it can do:
/// emit events, record metrics, end the run.
template <class Runner, class Pipeline, class Snapshot>
class RunContext {
 public:
  using pipeline_type = Pipeline;
  using snapshot_type = Snapshot;
  using result_type = RunResult<Pipeline, Snapshot>;
  using clock = typename Runner::clock;
  template <class S>
  using output_type = stage_output_t<Snapshot, Pipeline, S>;
  static constexpr bool has_event_sink = Runner::has_event_sink;
  /// True when stages of this run may run at the same time (a concurrent executor).
  static constexpr bool concurrent = Runner::concurrent;

  const Snapshot& snapshot() const noexcept { return *snapshot_; }
  const boost::uuids::uuid& pipeline_run_id() const noexcept { return result_->pipeline_run_id; }
  /// The run's stop token: it fires on failure, cancellation, the caller's stop and the deadline.
  const std::stop_token& stop_token() const noexcept { return *stop_; }

  /// S's output, or nullptr when it has none (yet).
  template <class S>
  const output_type<S>* output() const noexcept {
    return result_->template output<S>();
  }
  /// Calls f(name, output) for every stage that has an output so far, in listing order.
  template <class F>
  void for_each_output(F&& f) const {
    for_each_output_impl(f, std::make_index_sequence<Pipeline::size>{});
  }
  std::span<const StageReport> stages() const noexcept { return result_->stages; }
  /// completed while nothing has gone wrong yet.
  RunStatus status() const {
    std::lock_guard lock(mutex_);
    return result_->status;
  }
  /// Why the run failed, was cancelled or timed out (empty while it has not).
  std::string error() const {
    std::lock_guard lock(mutex_);
    return result_->error;
  }
  typename clock::duration elapsed() const { return clock::now() - started_; }
  /// The run's duration, known once its last stage has finished: valid in on_run_end (zero
  /// before), where it costs no clock reading, unlike elapsed().
  std::chrono::nanoseconds duration() const noexcept { return result_->duration; }

  /// The run's span in its trace (see RunOptions::traceparent); all zero when the runner has no
  /// event sink, since only events carry trace ids.
  TraceIds trace() const noexcept { return trace_ids({}); }

  /// Fails the run after the current hook; no further stage starts.
  void fail(std::string reason) { end(RunStatus::failed, std::move(reason)); }
  /// Cancels the run after the current hook (partial results are kept); no further stage starts.
  void cancel(std::string reason) { end(RunStatus::cancelled, std::move(reason)); }
  /// True once something ended the run: no further stage starts.
  bool ending() const noexcept { return ending_.get(); }

  /// Records a number in the RunResult's metrics; `name` must outlive the result (a literal).
  void record_metric(std::string_view stage, std::string_view name, double value) {
    std::lock_guard lock(mutex_);
    result_->metrics.push_back({stage, name, value});
  }

  /// Sends an event to the runner's sinks; free when it has none. `fields` are what is particular
  /// to this event type (a JSON line nests them under "fields"); durations are nanoseconds.
  void emit(std::string_view type, std::string_view stage = {}, std::initializer_list<EventField> fields = {},
            std::chrono::nanoseconds duration = std::chrono::nanoseconds(-1)) const {
    emit_outcome(type, stage, {}, {}, duration, fields);
  }
  /// An outcome event (stage.completed, pipeline.failed, ...): also its status, a word of
  /// to_string(StageStatus or RunStatus), and the reason, as envelope members.
  void emit_outcome(std::string_view type, std::string_view stage, std::string_view status, std::string_view reason,
                    std::chrono::nanoseconds duration, std::initializer_list<EventField> fields = {}) const {
    if constexpr (has_event_sink) {
      Event event{type,
                  result_->pipeline_run_id,
                  stage,
                  duration,
                  std::chrono::system_clock::now(),
                  std::span<const EventField>(fields.begin(), fields.size()),
                  status,
                  reason,
                  trace_ids(stage)};
      Runner::emit_to_sinks(*policies_, event);
    }
  }

 private:
  template <class, class...>
  friend class BasicRunner;
  template <class, class>
  friend class StageRun;
  template <class, class, class, bool>
  friend struct detail::RunFrame;

  RunContext(const typename Runner::policies_type& policies, const Snapshot& snapshot, result_type& result,
             const std::stop_token& stop, typename clock::time_point started) noexcept
      : policies_(&policies), snapshot_(&snapshot), result_(&result), stop_(&stop), started_(started),
        last_reading_(started) {}

  /// Places the run in the caller's trace (`traceparent`, else the snapshot's) or in a new one, and
  /// draws the run's and the stages' span ids. Only runners with an event sink keep trace ids.
  void start_trace([[maybe_unused]] std::string_view traceparent) {
    if constexpr (has_event_sink) {
      if (traceparent.empty()) traceparent = detail::snapshot_traceparent(*snapshot_);
      if (const auto parent = TraceParent::parse(traceparent)) {
        trace_.trace_id = parent->trace_id;
        trace_.parent = parent->parent_id;
      } else {
        trace_.trace_id = random_trace_id();
      }
      trace_.run_span = random_span_id();
      for (auto& span : trace_.stage_spans) span = random_span_id();
    }
  }

  /// The trace ids of an event: the run's span for run-level events, the stage's span (a child of
  /// the run's) for events naming one of the pipeline's stages.
  TraceIds trace_ids([[maybe_unused]] std::string_view stage) const noexcept {
    if constexpr (has_event_sink) {
      if (!stage.empty())
        for (std::size_t i = 0; i < Pipeline::size; ++i)
          if (Pipeline::names[i] == stage) return {trace_.trace_id, trace_.stage_spans[i], trace_.run_span};
      return {trace_.trace_id, trace_.run_span, trace_.parent};
    } else {
      return {};
    }
  }

  /// Ends the run with this status unless something already ended it: the first ending is the
  /// story, except that a failure replaces a cancellation. Returns true when this ending was kept.
  bool end(RunStatus status, std::string reason, std::string_view stage = {}) {
    {
      std::lock_guard lock(mutex_);
      if (ending_.get() && !(status == RunStatus::failed && result_->status == RunStatus::cancelled)) return false;
      result_->status = status;
      result_->error = std::move(reason);
      result_->error_stage = stage;
      ending_.set();
    }
    // Running stages see ctx.stop_requested(). Outside the lock: stop callbacks run user code.
    if constexpr (concurrent) stop_source_->request_stop();
    return true;
  }

  template <class F, std::size_t... I>
  void for_each_output_impl(F& f, std::index_sequence<I...>) const {
    (
        [&] {
          if (const auto& slot = std::get<I>(result_->outputs)) f(Pipeline::names[I], *slot);
        }(),
        ...);
  }

  const typename Runner::policies_type* policies_;
  const Snapshot* snapshot_;
  result_type* result_;
  const std::stop_token* stop_;
  typename clock::time_point started_;
  std::array<const void*, Pipeline::size> outputs_{};  // what StageContext::input reads
  typename clock::time_point last_reading_;            // see BasicRunner::chains_clock_readings
  detail::run_flag<concurrent> ending_;
  STAGEFLOW_NO_UNIQUE_ADDRESS mutable detail::run_mutex<concurrent> mutex_;
  // The run's own stop source (concurrent runs), which end() fires.
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<concurrent, std::stop_source*, detail::absent> stop_source_{};
  STAGEFLOW_NO_UNIQUE_ADDRESS std::conditional_t<has_event_sink, detail::RunTrace<Pipeline::size>, detail::absent>
      trace_{};
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

  const S& stage() const noexcept { return *stage_; }
  /// Exactly what the stage's execute receives: its snapshot and its inputs.
  const context_type& context() const noexcept { return *context_; }
  StageStatus status() const noexcept { return report().status; }
  std::chrono::nanoseconds duration() const noexcept { return report().duration; }
  /// The stage's span, a child of the run's (all zero when the runner has no event sink).
  TraceIds trace() const noexcept { return run_->trace_ids(name); }
  const std::string& reason() const noexcept { return report().reason; }
  /// The stage's output once it has run successfully, else nullptr.
  const output_type* output() const noexcept { return run_->result_->template output<S>(); }

  /// Calls f(name, output) for every upstream stage this stage may read (those it runs after) that
  /// has an output: the inputs the stage sees.
  template <class F>
  void for_each_input(F&& f) const {
    for_each_input_impl(f, std::make_index_sequence<pipeline_type::size>{});
  }

  /// Fails the stage: before it runs, it will not run; after it ran, its output is dropped.
  /// Either way the run fails with this reason.
  void fail(std::string reason) {
    auto& r = run_->result_->stages[index];
    if (r.status == StageStatus::fail) return;  // keep the first reason
    r.status = StageStatus::fail;
    r.reason = std::move(reason);
    std::get<index>(run_->result_->outputs).reset();
    run_->outputs_[index] = nullptr;
  }

  /// Adds field paths a policy found changed around this stage to its report
  /// (StageReport::changed_fields, RunResult::changed_fields()). Only this stage's hooks write
  /// its report while it runs, so this races with nothing.
  template <class Paths>
  void record_changed_fields(const Paths& paths) {
    auto& fields = run_->result_->stages[index].changed_fields;
    fields.insert(fields.end(), std::begin(paths), std::end(paths));
  }

 private:
  template <class, class...>
  friend class BasicRunner;

  StageRun(Run& run, const S& stage, const context_type& context) noexcept
      : run_(&run), stage_(&stage), context_(&context) {}
  const StageReport& report() const noexcept { return run_->result_->stages[index]; }

  template <class F, std::size_t... I>
  void for_each_input_impl(F& f, std::index_sequence<I...>) const {
    (
        [&] {
          if constexpr (pipeline_type::plan.ancestor[index][I]) {
            if (const auto& slot = std::get<I>(run_->result_->outputs)) f(pipeline_type::names[I], *slot);
          }
        }(),
        ...);
  }

  Run* run_;
  const S* stage_;
  const context_type* context_;
};

}  // namespace stageflow
