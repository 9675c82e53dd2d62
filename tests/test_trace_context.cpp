// SPDX-License-Identifier: BSL-1.0
// W3C Trace Context: the traceparent header's rules, and how a run joins a trace (from RunOptions,
// from the snapshot, or a new one) with each stage a child span of the run.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/core/trace_context.hpp>
#include <stageflow/json/parse.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "catch2_shim.hpp"
#include "fan_out_pipeline.hpp"

using namespace stageflow;

namespace {

constexpr std::string_view example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

using test::FanOut;


/// Keeps every event with its trace ids (CollectingSink keeps the fields, not the trace).
struct TraceRecorder {
  struct Seen {
    std::string type, stage;
    TraceIds trace;
  };
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<Seen>> seen = std::make_shared<std::vector<Seen>>();
  void emit(const Event& event) const {
    std::lock_guard lock(*mutex);
    seen->push_back({std::string(event.type), std::string(event.stage), event.trace});
  }
};

/// A policy that reads the trace ids a hook sees.
struct TraceReader {
  std::shared_ptr<std::vector<TraceIds>> runs = std::make_shared<std::vector<TraceIds>>();
  template <class Run>
  void on_run_start(Run& run) const {
    runs->push_back(run.trace());
  }
};

/// A snapshot that carries its traceparent itself.
struct Traced {
  std::string header;
  std::string input_text;
  std::string_view traceparent() const { return header; }
};

/// The events of one run by a runner whose sink keeps the trace ids.
template <class Snapshot>
std::vector<TraceRecorder::Seen> traced_run(const Snapshot& snapshot, RunOptions options = {}) {
  TraceRecorder recorder;
  Runner<TraceRecorder> runner(recorder);
  (void)runner.run(FanOut{}, snapshot, options);
  return *recorder.seen;
}

void check_tree(const std::vector<TraceRecorder::Seen>& seen, const TraceId& trace, const SpanId& parent) {
  REQUIRE(!seen.empty());
  SpanId run_span{};
  std::set<std::string> stage_spans;
  for (const auto& e : seen) {
    INFO(e.type << " " << e.stage);
    CHECK(e.trace.trace_id == trace);
    CHECK(e.trace.span_id.is_valid());
    if (e.stage.empty()) {
      if (!run_span.is_valid()) run_span = e.trace.span_id;
      CHECK(e.trace.span_id == run_span);  // every run-level event: the run's span
      CHECK(e.trace.parent_span_id == parent);
    }
  }
  for (const auto& e : seen) {
    if (e.stage.empty()) continue;
    INFO(e.type << " " << e.stage);
    CHECK(e.trace.parent_span_id == run_span);  // a stage is a child of the run
    CHECK(e.trace.span_id != run_span);
    stage_spans.insert(e.stage + "=" + to_hex(e.trace.span_id));
  }
  // stage.started and the outcome of one stage share its span; different stages differ.
  std::set<std::string> ids;
  for (const auto& s : stage_spans) ids.insert(s.substr(s.find('=') + 1));
  CHECK(ids.size() == stage_spans.size());
}

}  // namespace

TEST_CASE("traceparent: the W3C example parses and formats back") {
  const auto parsed = TraceParent::parse(example);
  REQUIRE(parsed);
  CHECK(to_hex(parsed->trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(to_hex(parsed->parent_id) == "00f067aa0ba902b7");
  CHECK(parsed->flags == 0x01);
  CHECK(parsed->sampled());
  CHECK(parsed->format() == example);
  const auto unsampled = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  REQUIRE(unsampled);
  CHECK_FALSE(unsampled->sampled());
}

TEST_CASE("traceparent: malformed headers are rejected") {
  const std::vector<std::string> bad = {
      "",
      "00",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",     // short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",   // version 00 has no tail
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",    // flags not hex
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // future version, tail without '-'
  };
  for (const auto& text : bad) {
    INFO(text);
    CHECK_FALSE(TraceParent::parse(text));
  }
  // A later version is read by the 00 layout, with or without a '-'-separated tail.
  CHECK(TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CHECK(TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"));
}

// Issue 25, defect 2: the W3C Trace Context test suite (test/test.py of w3c/trace-context), its
// traceparent values written down as data (tests/data/w3c_traceparent_cases.json): a valid one is
// joined (same trace id, the caller's span id), an invalid one starts a new trace. The suite's
// test_traceparent_ows_handling sends leading and trailing spaces and tabs.
TEST_CASE("traceparent: the W3C test suite's cases") {
  std::ifstream file(STAGEFLOW_W3C_TRACEPARENT_CASES);
  REQUIRE(file);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const JsonValue cases = serialization::parse_json(text);
  REQUIRE(cases.size() >= 30);
  std::size_t valid = 0, ows = 0;
  for (const JsonValue& test : cases.as_array()) {
    const std::string& value = test.at("traceparent").as_string();
    INFO(test.at("test").as_string() << ": '" << value << "'");
    const auto parsed = TraceParent::parse(value);
    if (test.at("valid").as_bool()) {
      ++valid;
      if (value.find_first_of(" \t") != std::string::npos) ++ows;
      REQUIRE(parsed);
      CHECK(to_hex(parsed->trace_id) == "12345678901234567890123456789012");
      CHECK(to_hex(parsed->parent_id) == "1234567890123456");
    } else {
      CHECK_FALSE(parsed);
    }
  }
  CHECK(valid == 9);
  CHECK(ows == 5);
  // Whitespace inside the value, or other than spaces and tabs around it, is still malformed.
  CHECK_FALSE(TraceParent::parse("00-12345678901234567890123456789012 -1234567890123456-01"));
  CHECK_FALSE(TraceParent::parse("\n00-12345678901234567890123456789012-1234567890123456-01"));
  CHECK_FALSE(TraceParent::parse("00-12345678901234567890123456789012-1234567890123456-01\r\n"));
  CHECK_FALSE(TraceParent::parse(" \t "));
}

TEST_CASE("trace ids: random, never zero, lowercase hex") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto trace = random_trace_id();
    const auto span = random_span_id();
    CHECK(trace.is_valid());
    CHECK(span.is_valid());
    const auto text = to_hex(trace);
    CHECK(text.size() == 32);
    CHECK(text.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(text);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("a run joins the caller's trace from RunOptions; stages are children of the run") {
  TraceRecorder recorder;
  TraceReader reader;
  Runner<TraceRecorder, TraceReader> runner(recorder, reader);
  ContextSnapshot snapshot;
  snapshot.input_text = "fail";  // a failed stage is a span of the trace too
  const auto result = runner.run(FanOut{}, snapshot, RunOptions{.traceparent = example});
  CHECK(result.status == RunStatus::failed);
  const auto parent = *TraceParent::parse(example);
  check_tree(*recorder.seen, parent.trace_id, parent.parent_id);
  REQUIRE(reader.runs->size() == 1);
  CHECK(reader.runs->front().trace_id == parent.trace_id);
  CHECK(reader.runs->front().parent_span_id == parent.parent_id);
  CHECK(reader.runs->front().span_id != parent.parent_id);  // the run is a new span of that trace
}

TEST_CASE("a run reads the traceparent from the snapshot; RunOptions wins over it") {
  const std::string other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const auto from_snapshot = *TraceParent::parse(other);
  // A snapshot's traceparent() member.
  check_tree(traced_run(Traced{other, ""}), from_snapshot.trace_id, from_snapshot.parent_id);
  // ContextSnapshot: metadata["traceparent"].
  ContextSnapshot snapshot;
  snapshot.metadata["traceparent"] = other;
  check_tree(traced_run(snapshot), from_snapshot.trace_id, from_snapshot.parent_id);
  // RunOptions first.
  const auto from_options = *TraceParent::parse(example);
  check_tree(traced_run(Traced{other, ""}, RunOptions{.traceparent = example}), from_options.trace_id,
             from_options.parent_id);
}

TEST_CASE("without a traceparent, or with a malformed one, a run starts a new trace") {
  ContextSnapshot snapshot;
  for (const std::string_view given : {std::string_view{}, std::string_view{"00-not-a-traceparent"},
                                       std::string_view{"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}) {
    INFO(given);
    const auto seen = traced_run(snapshot, RunOptions{.traceparent = given});
    REQUIRE(!seen.empty());
    const TraceId trace = seen.front().trace.trace_id;
    CHECK(trace.is_valid());
    CHECK(trace != TraceParent::parse(example)->trace_id);
    check_tree(seen, trace, SpanId{});  // a root span: no parent
  }
  // Two runs, two traces.
  CHECK(traced_run(snapshot).front().trace.trace_id != traced_run(snapshot).front().trace.trace_id);
}

TEST_CASE("trace ids under ParallelExecutor", "[threads]") {
  TraceRecorder recorder;
  Runner<use_executor<ParallelExecutor>, TraceRecorder> runner(ParallelExecutor(2), recorder);
  ContextSnapshot snapshot;
  (void)runner.run(FanOut{}, snapshot, RunOptions{.traceparent = example});
  const auto parent = *TraceParent::parse(example);
  check_tree(*recorder.seen, parent.trace_id, parent.parent_id);
}

TEST_CASE("a runner without sinks keeps no trace") {
  TraceReader reader;
  Runner<TraceReader> runner(reader);
  ContextSnapshot snapshot;
  (void)runner.run(FanOut{}, snapshot, RunOptions{.traceparent = example});
  REQUIRE(reader.runs->size() == 1);
  CHECK(reader.runs->front() == TraceIds{});
}
