// SPDX-License-Identifier: BSL-1.0
// OtlpJsonSpanSink: the runs and stages as OpenTelemetry spans, written as OTLP/JSON, one
// ExportTraceServiceRequest per line: the format the OpenTelemetry Collector's `otlpjsonfile`
// receiver reads (and the file exporter writes).
//
//   std::ofstream spans("spans.jsonl");
//   stageflow::Runner<stageflow::OtlpJsonSpanSink<>> runner(
//       stageflow::OtlpJsonSpanSink<>(spans, {.service_name = "chat-api"}));
//   runner.run(pipeline, snapshot, stageflow::RunOptions{.traceparent = request_traceparent});
//
// A span is written when its outcome event arrives: one per stage that ran (stage.completed,
// .skipped, .cancelled, .failed, .timed_out) and one per run (pipeline.completed, .failed,
// .cancelled, .timed_out), in the trace the run joined (see RunOptions::traceparent). A stage's
// span is a child of the run's span; the run's span is a child of the caller's span (none for a
// new trace). Its end is the event's timestamp, its start that minus the event's duration, both
// measured by the runner (for a stage, the duration of execute(), so the after-hooks fall outside
// the span), so a stage's span always lies within its run's.
//
// Encoding, per the OTLP protobuf JSON mapping: ids are lowercase hex strings (traceId 32
// characters, spanId and parentSpanId 16; parentSpanId left out for a root span), times are
// decimal strings of Unix nanoseconds (proto3 JSON writes 64-bit integers as strings), `kind` and
// `status.code` are the enums' integers. Kind: stages are SPAN_KIND_INTERNAL (1); the run is
// INTERNAL too unless options say SERVER (2), for a run that is the whole of a request's handling.
// Status: completed and skipped are STATUS_CODE_OK (1); failed and timed_out are
// STATUS_CODE_ERROR (2) with the reason as message; cancelled is STATUS_CODE_UNSET (0): a
// cancellation is an outcome the program chose, not an error. Attributes: stageflow.stage,
// stageflow.pipeline_run_id, stageflow.status (the event's outcome word) and, when the event
// gives one, stageflow.reason.
//
// Writes take the lock of the sink's BaseSink, shared by its copies, so lines never interleave
// (otlp_json_span_sink_mt = OtlpJsonSpanSink<>; otlp_json_span_sink_st, unlocked, for one thread).
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/core/trace_context.hpp>
#include <stageflow/sinks/detail/json_line.hpp>
#include <stageflow/sinks/base_sink.hpp>
#include <stageflow/sinks/null_mutex.hpp>
#include <stageflow/uuid/text.hpp>
#include <stageflow/version.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow {

/// OpenTelemetry's span kinds (opentelemetry.proto.trace.v1.Span.SpanKind) that fit a run.
enum class SpanKind : std::uint8_t { internal = 1, server = 2 };

struct OtlpJsonSpanSinkOptions {
  /// The resource's service.name attribute.
  std::string service_name = "unknown_service";
  /// The run span's name (a stage's span is named after the stage).
  std::string run_span_name = "stageflow.run";
  SpanKind run_span_kind = SpanKind::internal;
  /// The instrumentation scope: stageflow and its version.
  std::string scope_name = "stageflow";
  std::string scope_version{stageflow::version()};
};

namespace detail {

/// What an outcome event says of its span: the status word, the OTLP status code, and whether the
/// span is the run's.
struct SpanOutcome {
  std::string_view status;  // "completed", "failed", ... (the event type after its dot)
  int code;                 // 0 unset, 1 ok, 2 error
  bool run;
};

inline std::optional<SpanOutcome> span_outcome(std::string_view type) noexcept {
  struct Row {
    std::string_view type;
    SpanOutcome outcome;
  };
  static constexpr std::array<Row, 9> rows = {{
      {events::stage_completed, {"completed", 1, false}},
      {events::stage_skipped, {"skipped", 1, false}},
      {events::stage_cancelled, {"cancelled", 0, false}},
      {events::stage_failed, {"failed", 2, false}},
      {events::stage_timed_out, {"timed_out", 2, false}},
      {events::pipeline_completed, {"completed", 1, true}},
      {events::pipeline_cancelled, {"cancelled", 0, true}},
      {events::pipeline_failed, {"failed", 2, true}},
      {events::pipeline_timed_out, {"timed_out", 2, true}},
  }};
  for (const auto& row : rows)
    if (row.type == type) return row.outcome;
  return std::nullopt;
}

inline void append_decimal(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

inline void append_string_attribute(std::string& out, std::string_view key, std::string_view value, bool first) {
  if (!first) out.push_back(',');
  out += "{\"key\":";
  append_json_text(out, key);
  out += ",\"value\":{\"stringValue\":";
  append_json_text(out, value);
  out += "}}";
}

/// What the copies of an OTLP/JSON span sink share: its options and the line prefix made from them.
struct OtlpJsonSpanSinkShared {
  explicit OtlpJsonSpanSinkShared(OtlpJsonSpanSinkOptions opts) : options(std::move(opts)) {
    // What every line starts with: the resource and the scope never change.
    prefix = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
    append_string_attribute(prefix, "service.name", options.service_name, true);
    prefix += "]},\"scopeSpans\":[{\"scope\":{\"name\":";
    append_json_text(prefix, options.scope_name);
    prefix += ",\"version\":";
    append_json_text(prefix, options.scope_version);
    prefix += "},\"spans\":[";
  }
  OtlpJsonSpanSinkOptions options;
  std::string prefix;
};

}  // namespace detail

template <class Mutex = std::mutex>
class BasicOtlpJsonSpanSink : public BaseSink<Mutex, detail::OtlpJsonSpanSinkShared> {
 public:
  /// The stream must outlive the sink and every runner holding a copy of it.
  explicit BasicOtlpJsonSpanSink(std::ostream& out, OtlpJsonSpanSinkOptions options = {})
      : BaseSink<Mutex, detail::OtlpJsonSpanSinkShared>(std::in_place, std::move(options)), out_(&out) {}

  void emit(const Event& event) const {
    const auto outcome = detail::span_outcome(event.type);
    if (!outcome || !event.trace.trace_id.is_valid()) return;  // not a span's end, or no trace
    std::string line;
    const auto& shared = this->unlocked();  // never changes after construction
    line.reserve(shared.prefix.size() + 512);
    line += shared.prefix;  // {"resourceSpans":[{"resource":...,"scopeSpans":[{"scope":...,"spans":[
    append_span(line, event, *outcome);
    line += "]}]}]}\n";
    this->locked([&](auto&) {
      out_->write(line.data(), static_cast<std::streamsize>(line.size()));
      out_->flush();
    });
  }

  const OtlpJsonSpanSinkOptions& options() const noexcept { return this->unlocked().options; }

 private:
  void append_span(std::string& line, const Event& event, const detail::SpanOutcome& outcome) const {
    const auto& options = this->unlocked().options;
    line += "{\"traceId\":\"";
    detail::append_hex(line, event.trace.trace_id.bytes);
    line += "\",\"spanId\":\"";
    detail::append_hex(line, event.trace.span_id.bytes);
    line.push_back('"');
    if (event.trace.parent_span_id.is_valid()) {
      line += ",\"parentSpanId\":\"";
      detail::append_hex(line, event.trace.parent_span_id.bytes);
      line.push_back('"');
    }
    line += ",\"name\":";
    detail::append_json_text(line, outcome.run ? std::string_view(options.run_span_name) : event.stage);
    line += ",\"kind\":";
    line.push_back(static_cast<char>('0' + static_cast<int>(outcome.run ? options.run_span_kind : SpanKind::internal)));
    const std::int64_t end =
        std::chrono::duration_cast<std::chrono::nanoseconds>(event.timestamp.time_since_epoch()).count();
    const std::int64_t start = event.has_duration() ? end - event.duration.count() : end;
    line += ",\"startTimeUnixNano\":\"";
    detail::append_decimal(line, start);
    line += "\",\"endTimeUnixNano\":\"";
    detail::append_decimal(line, end);
    line += "\",\"attributes\":[";
    const std::string_view reason = event.reason;
    std::string run_id;
    run_id.reserve(36);
    detail::append_uuid(run_id, event.pipeline_run_id);
    bool first = true;
    if (!outcome.run) {
      detail::append_string_attribute(line, "stageflow.stage", event.stage, first);
      first = false;
    }
    detail::append_string_attribute(line, "stageflow.pipeline_run_id", run_id, first);
    detail::append_string_attribute(line, "stageflow.status", outcome.status, false);
    if (!reason.empty()) detail::append_string_attribute(line, "stageflow.reason", reason, false);
    line += "],\"status\":{\"code\":";
    line.push_back(static_cast<char>('0' + outcome.code));
    if (outcome.code == 2 && !reason.empty()) {
      line += ",\"message\":";
      detail::append_json_text(line, reason);
    }
    line += "}}";
  }

  std::ostream* out_;
};

template <class Mutex = std::mutex>
using OtlpJsonSpanSink = BasicOtlpJsonSpanSink<Mutex>;
using otlp_json_span_sink_mt = BasicOtlpJsonSpanSink<std::mutex>;
using otlp_json_span_sink_st = BasicOtlpJsonSpanSink<NullMutex>;

}  // namespace stageflow
