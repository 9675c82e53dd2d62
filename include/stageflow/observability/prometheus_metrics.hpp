// SPDX-License-Identifier: BSL-1.0
// PrometheusMetrics: run and stage counters and duration histograms, and counters of the hardening
// events, on the user's own prometheus::Registry (prometheus-cpp). Optional: this header needs
// prometheus-cpp (pkg-config prometheus-cpp-core); the rest of stageflow does not.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   stageflow::PrometheusMetrics metrics(registry, {.pipeline = "chat"});
//   stageflow::Runner<stageflow::PrometheusMetrics, stageflow::PrometheusEventCounter,
//                     stageflow::pipeline::UuidTelemetry<>> runner(metrics, metrics.event_counter());
//   prometheus::Exposer exposer("127.0.0.1:9464");   // prometheus-cpp-pull
//   exposer.RegisterCollectable(registry);           // GET /metrics
//
// Series (the prefix is `stageflow` unless options say otherwise; durations in seconds):
//
//   stageflow_runs_total{pipeline, status}                  status: to_string(RunStatus)
//   stageflow_run_duration_seconds{pipeline}                histogram
//   stageflow_stages_total{pipeline, stage, status}         status: to_string(StageStatus), not not_run
//   stageflow_stage_duration_seconds{pipeline, stage}       histogram of execute() alone
//   stageflow_hardening_events_total{pipeline, stage, event}  uuid.collision, immutability.violation,
//                                                           context.size_exceeded, context.growth_warning,
//                                                           memory.growth_warning
//   stageflow_resilience_events_total{pipeline, stage, event} circuit.opened, circuit.half_opened,
//                                                           circuit.closed, stage.retrying, stage.hedged
//   stageflow_sink_events_dropped_total{pipeline}           events an AsyncSink dropped: the sum of the
//                                                           `dropped` of its sink.events_dropped reports
//                                                           (give the counter to its writer with TeeSink)
//
// Two policies, one set of series: PrometheusMetrics works from the hooks (runs, stages,
// durations) and is no event sink; PrometheusEventCounter (from metrics.event_counter()) is the
// event sink that counts the hardening and resilience events. They are apart because a runner with any event
// sink builds an event at every stage start and end (about 35 ns each on our machine): a runner
// that already has a sink (JSON Lines, OTLP spans) adds the counter for next to nothing, and one
// without a sink can keep the run and stage metrics without paying for events.
//
// The hot path looks nothing up: the series of a pipeline type's stages are made once, the first
// time a run of that type starts, and a run keeps a pointer to them, so a stage costs one counter
// increment and one histogram observation. Hardening events are rare (each is an anomaly): they
// find their series by label, under prometheus-cpp's lock.
//
// Declare PrometheusMetrics first among the policies: after-hooks run in reverse order, so it then
// sees each stage's final status (after every other policy's after_stage), and it still counts a
// stage another policy's before_stage failed. The registry must outlive the policies, unless they
// hold it (the shared_ptr constructor). Safe under ParallelExecutor: prometheus-cpp's metrics are
// thread-safe, and the per-run state is written once, before any stage starts.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage_output.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace stageflow {

/// Duration buckets in seconds, 10 µs to 10 s: stages of latency-sensitive programs are short.
inline prometheus::Histogram::BucketBoundaries default_duration_buckets() {
  return {1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
          2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};
}

struct PrometheusMetricsOptions {
  /// The value of the `pipeline` label of every series this policy makes. Two policies with
  /// different names may share one registry (their series differ by this label).
  std::string pipeline = "default";
  /// Upper bounds in seconds, strictly increasing (prometheus-cpp rejects others).
  prometheus::Histogram::BucketBoundaries run_duration_buckets = default_duration_buckets();
  prometheus::Histogram::BucketBoundaries stage_duration_buckets = default_duration_buckets();
  /// The metric names' prefix: `<prefix>_runs_total`, ...
  std::string prefix = "stageflow";
};

namespace detail {

/// The events PrometheusMetrics counts (the names <stageflow/pipeline/...> emit; a test checks that
/// they agree).
inline constexpr std::array<std::string_view, 5> counted_hardening_events = {
    "uuid.collision", "immutability.violation", "context.size_exceeded", "context.growth_warning",
    "memory.growth_warning"};
/// The resilience events it counts: CircuitBreakers' transitions, Retry's and Hedge's attempts
/// (the names <stageflow/resilience/...> emit; a test checks that they agree).
inline constexpr std::array<std::string_view, 5> counted_resilience_events = {
    "circuit.opened", "circuit.half_opened", "circuit.closed", "stage.retrying", "stage.hedged"};
/// AsyncSink's report of the events it dropped (events::sink_events_dropped; a test checks they agree).
inline constexpr std::string_view sink_events_dropped_event = "sink.events_dropped";

inline constexpr std::array<StageStatus, 5> counted_stage_statuses = {
    StageStatus::ok, StageStatus::skip, StageStatus::cancel, StageStatus::fail, StageStatus::timed_out};
inline constexpr std::array<RunStatus, 4> counted_run_statuses = {RunStatus::completed, RunStatus::failed,
                                                                  RunStatus::cancelled, RunStatus::timed_out};

/// One address per pipeline type: the key of its series table.
template <class Pipeline>
inline constexpr char pipeline_type_key = 0;

inline double seconds(std::chrono::nanoseconds d) noexcept { return static_cast<double>(d.count()) * 1e-9; }

/// The series of one stage: a counter per outcome and the duration histogram.
struct PrometheusStageSeries {
  std::array<prometheus::Counter*, 6> by_status{};  // indexed by StageStatus (not_run stays null)
  prometheus::Histogram* duration = nullptr;
};

/// The families on the registry, the run-level series, and each pipeline type's stage series,
/// shared by the copies of PrometheusMetrics and PrometheusEventCounter.
class PrometheusSeries {
 public:
  PrometheusSeries(prometheus::Registry& registry, PrometheusMetricsOptions opts) : options(std::move(opts)) {
    const std::string& p = options.prefix;
    runs_family_ = &prometheus::BuildCounter().Name(p + "_runs_total").Help("Pipeline runs by outcome").Register(registry);
    run_duration_family_ = &prometheus::BuildHistogram()
                                .Name(p + "_run_duration_seconds")
                                .Help("Pipeline run durations, stages and policies included")
                                .Register(registry);
    stages_family_ =
        &prometheus::BuildCounter().Name(p + "_stages_total").Help("Stage executions by outcome").Register(registry);
    stage_duration_family_ = &prometheus::BuildHistogram()
                                  .Name(p + "_stage_duration_seconds")
                                  .Help("Stage durations (execute() alone)")
                                  .Register(registry);
    hardening_family_ = &prometheus::BuildCounter()
                             .Name(p + "_hardening_events_total")
                             .Help("Hardening events: UUID collisions, immutability violations, context size and "
                                   "memory growth warnings")
                             .Register(registry);
    resilience_family_ = &prometheus::BuildCounter()
                              .Name(p + "_resilience_events_total")
                              .Help("Resilience events: circuit breakers opening, half-opening and closing, "
                                    "retried and hedged stage attempts")
                              .Register(registry);
    sink_events_dropped = &prometheus::BuildCounter()
                               .Name(p + "_sink_events_dropped_total")
                               .Help("Events an AsyncSink dropped because its queue was full")
                               .Register(registry)
                               .Add({{"pipeline", options.pipeline}});
    for (const RunStatus status : counted_run_statuses)
      runs[static_cast<std::size_t>(status)] =
          &runs_family_->Add({{"pipeline", options.pipeline}, {"status", std::string(to_string(status))}});
    run_duration = &run_duration_family_->Add({{"pipeline", options.pipeline}}, options.run_duration_buckets);
    // Run-level series exist from the start, at zero, so alerts on their rate work at once.
    for (const std::string_view name : counted_hardening_events) hardening_event(name, {});
  }
  PrometheusSeries(const PrometheusSeries&) = delete;
  PrometheusSeries& operator=(const PrometheusSeries&) = delete;

  /// The stage series of a pipeline type, made on first use (a lock-free walk of a short list after).
  template <class Pipeline>
  const PrometheusStageSeries* stages_of() {
    const void* key = &pipeline_type_key<Pipeline>;
    if (const auto* found = find(key)) return found->stages.data();
    std::lock_guard lock(insert_mutex_);
    if (const auto* found = find(key)) return found->stages.data();  // made while we waited
    auto node = std::make_unique<Node>(Node{key, {}, head_.load(std::memory_order_relaxed)});
    node->stages.resize(Pipeline::size);
    for (std::size_t i = 0; i < Pipeline::size; ++i) {
      const std::string stage(Pipeline::names[i]);
      for (const StageStatus status : counted_stage_statuses)
        node->stages[i].by_status[static_cast<std::size_t>(status)] = &stages_family_->Add(
            {{"pipeline", options.pipeline}, {"stage", stage}, {"status", std::string(to_string(status))}});
      node->stages[i].duration = &stage_duration_family_->Add({{"pipeline", options.pipeline}, {"stage", stage}},
                                                              options.stage_duration_buckets);
    }
    head_.store(node.get(), std::memory_order_release);
    return nodes_.emplace_back(std::move(node))->stages.data();
  }

  /// The counter of one hardening event at one stage (empty: run level), found by label.
  prometheus::Counter& hardening_event(std::string_view event, std::string_view stage) {
    return hardening_family_->Add(
        {{"pipeline", options.pipeline}, {"stage", std::string(stage)}, {"event", std::string(event)}});
  }

  /// The counter of one resilience event at one stage, found by label.
  prometheus::Counter& resilience_event(std::string_view event, std::string_view stage) {
    return resilience_family_->Add(
        {{"pipeline", options.pipeline}, {"stage", std::string(stage)}, {"event", std::string(event)}});
  }

  const PrometheusMetricsOptions options;
  std::shared_ptr<prometheus::Registry> keep_alive;
  std::array<prometheus::Counter*, 4> runs{};  // indexed by RunStatus
  prometheus::Histogram* run_duration = nullptr;
  prometheus::Counter* sink_events_dropped = nullptr;

 private:
  // A pipeline type's stage series, in listing order; nodes are only ever added.
  struct Node {
    const void* key;
    std::vector<PrometheusStageSeries> stages;
    const Node* next;
  };
  const Node* find(const void* key) const noexcept {
    for (const auto* node = head_.load(std::memory_order_acquire); node != nullptr; node = node->next)
      if (node->key == key) return node;
    return nullptr;
  }

  prometheus::Family<prometheus::Counter>* runs_family_;
  prometheus::Family<prometheus::Histogram>* run_duration_family_;
  prometheus::Family<prometheus::Counter>* stages_family_;
  prometheus::Family<prometheus::Histogram>* stage_duration_family_;
  prometheus::Family<prometheus::Counter>* hardening_family_;
  prometheus::Family<prometheus::Counter>* resilience_family_;
  std::atomic<const Node*> head_{nullptr};
  std::mutex insert_mutex_;
  std::vector<std::unique_ptr<Node>> nodes_;  // owns the list
};

}  // namespace detail

/// The event sink that counts the hardening and resilience events into PrometheusMetrics' series: get it from
/// PrometheusMetrics::event_counter(); it also adds AsyncSink's drop reports to
/// `<prefix>_sink_events_dropped_total`. Any other event is passed over with a few length compares.
class PrometheusEventCounter {
 public:
  /// A few length compares per event (<stageflow/runner/policy.hpp>).
  static constexpr bool light_hooks = true;
  void emit(const Event& event) const {
    if (event.type == detail::sink_events_dropped_event) {
      for (const EventField& field : event.fields)
        if (const auto* n = std::get_if<std::int64_t>(&field.value); n != nullptr && field.key == "dropped" && *n > 0)
          series_->sink_events_dropped->Increment(static_cast<double>(*n));
      return;
    }
    for (const std::string_view name : detail::counted_hardening_events) {
      if (event.type != name) continue;
      series_->hardening_event(name, event.stage).Increment();
      return;
    }
    for (const std::string_view name : detail::counted_resilience_events) {
      if (event.type != name) continue;
      series_->resilience_event(name, event.stage).Increment();
      return;
    }
  }

 private:
  friend class PrometheusMetrics;
  explicit PrometheusEventCounter(std::shared_ptr<detail::PrometheusSeries> series) : series_(std::move(series)) {}
  std::shared_ptr<detail::PrometheusSeries> series_;
};

class PrometheusMetrics {
 public:
  /// Registers the families on `registry`, which must outlive this policy and its copies.
  explicit PrometheusMetrics(prometheus::Registry& registry, PrometheusMetricsOptions options = {})
      : series_(std::make_shared<detail::PrometheusSeries>(registry, std::move(options))) {}
  /// The same, and the policy (with its copies and its event counter) keeps the registry alive.
  explicit PrometheusMetrics(std::shared_ptr<prometheus::Registry> registry, PrometheusMetricsOptions options = {})
      : series_(std::make_shared<detail::PrometheusSeries>(*registry, std::move(options))) {
    series_->keep_alive = std::move(registry);
  }

  /// The event sink that counts the hardening events in these series (see the top of this file).
  PrometheusEventCounter event_counter() const { return PrometheusEventCounter(series_); }

  /// The series of this run's stages, found once per run.
  struct run_state {
    const detail::PrometheusStageSeries* stages = nullptr;
  };
  // Written in on_run_start, before any stage starts; only read afterwards.
  static constexpr bool synchronizes_run_state = true;

  template <class Run>
  void on_run_start(run_state& state, Run&) const {
    state.stages = series_->stages_of<typename Run::pipeline_type>();
  }

  template <class Run, class Stage>
  void after_stage(run_state& state, Run&, Stage& stage) const {
    const StageStatus status = stage.status();
    if (status == StageStatus::not_run) return;  // another hook ended the run before it started
    const auto& series = state.stages[Stage::index];
    series.by_status[static_cast<std::size_t>(status)]->Increment();
    series.duration->Observe(detail::seconds(stage.duration()));
  }

  template <class Run>
  void on_run_end(run_state&, Run& run) const {
    series_->runs[static_cast<std::size_t>(run.status())]->Increment();
    series_->run_duration->Observe(detail::seconds(run.duration()));
  }

  const PrometheusMetricsOptions& options() const noexcept { return series_->options; }

 private:
  std::shared_ptr<detail::PrometheusSeries> series_;
};

}  // namespace stageflow
