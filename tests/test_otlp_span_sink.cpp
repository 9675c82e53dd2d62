// SPDX-License-Identifier: BSL-1.0
// OtlpJsonSpanSink: every line is an OTLP/JSON ExportTraceServiceRequest whose field names and
// encodings follow the OTLP protobuf JSON mapping, and the spans form the run's tree in the caller's
// trace.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/otlp_json_span_sink.hpp>

#include <nlohmann/json.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "catch2_shim.hpp"
#include "fan_out_pipeline.hpp"

using namespace stageflow;
using nlohmann::json;

namespace {

constexpr std::string_view caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

using test::FanOut;


std::vector<json> lines_of(const std::string& text) {
  std::vector<json> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    INFO(line);
    REQUIRE_NOTHROW(out.push_back(json::parse(line)));
  }
  return out;
}

bool lower_hex(const json& value, std::size_t size) {
  if (!value.is_string()) return false;
  const auto text = value.get<std::string>();
  return text.size() == size && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool decimal_string(const json& value) {
  if (!value.is_string()) return false;
  const auto text = value.get<std::string>();
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

std::map<std::string, std::string> attributes(const json& span) {
  std::map<std::string, std::string> out;
  for (const auto& a : span.at("attributes")) {
    REQUIRE(a.at("value").size() == 1);  // AnyValue: exactly one of its fields
    out[a.at("key").get<std::string>()] = a.at("value").at("stringValue").get<std::string>();
  }
  return out;
}

/// The one span of a line, after checking the envelope: resource, scope, one span.
json span_of(const json& request, const std::string& service) {
  REQUIRE(request.size() == 1);
  REQUIRE(request.at("resourceSpans").size() == 1);
  const auto& rs = request.at("resourceSpans")[0];
  const auto& resource_attributes = rs.at("resource").at("attributes");
  REQUIRE(resource_attributes.size() == 1);
  CHECK(resource_attributes[0].at("key") == "service.name");
  CHECK(resource_attributes[0].at("value").at("stringValue") == service);
  REQUIRE(rs.at("scopeSpans").size() == 1);
  const auto& ss = rs.at("scopeSpans")[0];
  CHECK(ss.at("scope").at("name") == "stageflow");
  CHECK(ss.at("scope").at("version") == STAGEFLOW_TEST_PROJECT_VERSION);
  REQUIRE(ss.at("spans").size() == 1);
  return ss.at("spans")[0];
}

/// The span fields and their encodings, per the OTLP protobuf JSON mapping.
void check_encoding(const json& span) {
  static const std::set<std::string> allowed = {"traceId",           "spanId",          "parentSpanId", "name", "kind",
                                                "startTimeUnixNano", "endTimeUnixNano", "attributes",   "status"};
  for (const auto& [key, _] : span.items()) CHECK(allowed.count(key) == 1);
  CHECK(lower_hex(span.at("traceId"), 32));
  CHECK(lower_hex(span.at("spanId"), 16));
  if (span.contains("parentSpanId")) CHECK(lower_hex(span.at("parentSpanId"), 16));
  CHECK(span.at("name").is_string());
  CHECK(span.at("kind").is_number_integer());
  CHECK(decimal_string(span.at("startTimeUnixNano")));
  CHECK(decimal_string(span.at("endTimeUnixNano")));
  CHECK(std::stoull(span.at("startTimeUnixNano").get<std::string>()) <=
        std::stoull(span.at("endTimeUnixNano").get<std::string>()));
  CHECK(span.at("status").at("code").is_number_integer());
}

}  // namespace

TEST_CASE("OTLP/JSON spans: envelope, encodings, the tree in the caller's trace") {
  std::ostringstream out;
  Runner<OtlpJsonSpanSink<>> runner(OtlpJsonSpanSink<>(out, {.service_name = "chat-api"}));
  ContextSnapshot snapshot;
  snapshot.run = RunIdentity::generate();
  const auto before = std::chrono::system_clock::now();
  const auto result = runner.run(FanOut{}, snapshot, RunOptions{.traceparent = caller});
  const auto after_run = std::chrono::system_clock::now();
  REQUIRE(result.status == RunStatus::completed);

  const auto requests = lines_of(out.str());
  REQUIRE(requests.size() == 4);  // three stages, then the run
  std::vector<json> spans;
  for (const auto& request : requests) spans.push_back(span_of(request, "chat-api"));
  for (const auto& span : spans) check_encoding(span);

  const json& run_span = spans.back();
  CHECK(run_span.at("name") == "stageflow.run");
  CHECK(run_span.at("kind") == 1);
  CHECK(run_span.at("parentSpanId") == "00f067aa0ba902b7");  // the caller's span
  CHECK(run_span.at("status").at("code") == 1);
  CHECK_FALSE(run_span.at("status").contains("message"));
  const auto run_attributes = attributes(run_span);
  CHECK(run_attributes.at("stageflow.pipeline_run_id") == boost::uuids::to_string(snapshot.run.pipeline_run_id));
  CHECK(run_attributes.at("stageflow.status") == "completed");
  CHECK(run_attributes.count("stageflow.stage") == 0);

  // The run's span covers the time between the calls around run().
  const auto ns = [](std::chrono::system_clock::time_point t) {
    return static_cast<unsigned long long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  };
  CHECK(std::stoull(run_span.at("startTimeUnixNano").get<std::string>()) >= ns(before));
  CHECK(std::stoull(run_span.at("endTimeUnixNano").get<std::string>()) <= ns(after_run));

  std::set<std::string> names, span_ids;
  span_ids.insert(run_span.at("spanId").get<std::string>());
  for (std::size_t i = 0; i + 1 < spans.size(); ++i) {
    const json& span = spans[i];
    INFO(span.dump());
    CHECK(span.at("traceId") == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(span.at("parentSpanId") == run_span.at("spanId"));
    CHECK(span.at("kind") == 1);
    CHECK(span.at("status").at("code") == 1);
    const auto a = attributes(span);
    CHECK(a.at("stageflow.stage") == span.at("name"));
    CHECK(a.at("stageflow.status") == "completed");
    CHECK(a.at("stageflow.pipeline_run_id") == run_attributes.at("stageflow.pipeline_run_id"));
    names.insert(span.at("name").get<std::string>());
    span_ids.insert(span.at("spanId").get<std::string>());
    // A stage's span lies inside the run's.
    CHECK(std::stoull(span.at("startTimeUnixNano").get<std::string>()) >=
          std::stoull(run_span.at("startTimeUnixNano").get<std::string>()));
  }
  CHECK(names == std::set<std::string>{"load", "check", "enrich"});
  CHECK(span_ids.size() == 4);  // every span its own id
  CHECK(run_span.at("traceId") == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("OTLP/JSON spans: failures are ERROR with the reason, skips OK, valid UTF-8 JSON") {
  std::ostringstream out;
  Runner<OtlpJsonSpanSink<>> runner(OtlpJsonSpanSink<>(out, {.run_span_kind = SpanKind::server}));
  ContextSnapshot snapshot;
  snapshot.input_text = "fail: bad \xff input \"quoted\"";
  (void)runner.run(FanOut{}, snapshot);
  const auto requests = lines_of(out.str());
  std::map<std::string, json> by_name;
  for (const auto& request : requests) {
    const json span = span_of(request, "unknown_service");
    check_encoding(span);
    by_name[span.at("name").get<std::string>()] = span;
  }
  REQUIRE(by_name.count("check") == 1);
  REQUIRE(by_name.count("stageflow.run") == 1);
  const json& check = by_name["check"];
  CHECK(check.at("status").at("code") == 2);
  const std::string message = check.at("status").at("message").get<std::string>();
  CHECK(message == "fail: bad \xEF\xBF\xBD input \"quoted\"");  // the stray byte became U+FFFD
  CHECK(attributes(check).at("stageflow.status") == "failed");
  CHECK(attributes(check).at("stageflow.reason") == message);
  const json& run = by_name["stageflow.run"];
  CHECK(run.at("kind") == 2);  // SERVER, as configured
  CHECK(run.at("status").at("code") == 2);
  CHECK_FALSE(run.contains("parentSpanId"));  // a new trace: the run is its root
  CHECK(check.at("traceId") == run.at("traceId"));
  CHECK(check.at("parentSpanId") == run.at("spanId"));

  std::ostringstream skipped_out;
  Runner<OtlpJsonSpanSink<>> skipping{OtlpJsonSpanSink<>(skipped_out)};
  snapshot.input_text = "skip";
  (void)skipping.run(FanOut{}, snapshot);
  bool saw_skip = false;
  for (const auto& request : lines_of(skipped_out.str())) {
    const json span = span_of(request, "unknown_service");
    if (span.at("name") != "check") continue;
    saw_skip = true;
    CHECK(span.at("status").at("code") == 1);
    CHECK(attributes(span).at("stageflow.status") == "skipped");
    CHECK(attributes(span).at("stageflow.reason") == "nothing to check");
  }
  CHECK(saw_skip);
}

TEST_CASE("OTLP/JSON spans: lines never interleave under ParallelExecutor", "[threads]") {
  std::ostringstream out;
  Runner<use_executor<ParallelExecutor>, OtlpJsonSpanSink<>> runner(ParallelExecutor(2), OtlpJsonSpanSink<>(out));
  for (int i = 0; i < 20; ++i) {
    ContextSnapshot snapshot;
    (void)runner.run(FanOut{}, snapshot, RunOptions{.traceparent = caller});
  }
  const auto requests = lines_of(out.str());
  CHECK(requests.size() == 20 * 4);
  std::map<std::string, std::string> run_span_of;  // run id -> run span id
  for (const auto& request : requests) {
    const json span = span_of(request, "unknown_service");
    if (span.at("name") == "stageflow.run") run_span_of[attributes(span).at("stageflow.pipeline_run_id")] = span.at("spanId");
  }
  CHECK(run_span_of.size() == 20);
  for (const auto& request : requests) {
    const json span = span_of(request, "unknown_service");
    if (span.at("name") == "stageflow.run") continue;
    CHECK(span.at("parentSpanId") == run_span_of.at(attributes(span).at("stageflow.pipeline_run_id")));
  }
}

namespace {
/// A policy whose hooks take 2 ms at the levels asked for: hooks fall outside the stages' spans but
/// inside the run's, so spans built from times taken at the wrong moment stick out of their parent
/// (once, a 2 ms on_run_end hook made every stage span start 2 ms before its run's).
template <bool RunStart, bool Stage, bool RunEnd>
struct SlowHooks {
  static void pause(bool slow) {
    if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  void on_run_start(auto&) const { pause(RunStart); }
  void before_stage(auto&, auto&) const { pause(Stage); }
  void after_stage(auto&, auto&) const { pause(Stage); }
  void on_run_end(auto&) const { pause(RunEnd); }
};

/// Every stage span lies within the run span; `lead`: how long the first stage's span starts after
/// the run's at least (the slow hooks that come before it).
void check_children_within_parent(const std::string& text, std::uint64_t lead) {
  const auto requests = lines_of(text);
  REQUIRE(requests.size() == 4);
  std::vector<json> spans;
  for (const auto& request : requests) spans.push_back(span_of(request, "unknown_service"));
  const json& run_span = spans.back();
  REQUIRE(run_span.at("name") == "stageflow.run");
  const auto start_of = [](const json& s) { return std::stoull(s.at("startTimeUnixNano").get<std::string>()); };
  const auto end_of = [](const json& s) { return std::stoull(s.at("endTimeUnixNano").get<std::string>()); };
  std::uint64_t first_stage_start = ~0ull;
  for (std::size_t i = 0; i + 1 < spans.size(); ++i) {
    INFO(spans[i].dump() << "\nrun: " << run_span.dump());
    CHECK(start_of(spans[i]) >= start_of(run_span));
    CHECK(end_of(spans[i]) <= end_of(run_span));
    first_stage_start = std::min<std::uint64_t>(first_stage_start, start_of(spans[i]));
  }
  CHECK(first_stage_start - start_of(run_span) >= lead);
}

template <bool RunStart, bool Stage, bool RunEnd>
void check_spans_with_slow_hooks() {
  using Slow = SlowHooks<RunStart, Stage, RunEnd>;
  const std::uint64_t lead = (RunStart ? 2'000'000u : 0u) + (Stage ? 2'000'000u : 0u);
  {
    std::ostringstream out;
    Runner<OtlpJsonSpanSink<>, Slow> runner{OtlpJsonSpanSink<>(out)};
    for (int i = 0; i < 3; ++i) {
      out.str({});
      REQUIRE(runner.run(FanOut{}, ContextSnapshot{}).ok());
      check_children_within_parent(out.str(), lead);
    }
  }
  {
    std::ostringstream out;
    Runner<use_executor<ParallelExecutor>, OtlpJsonSpanSink<>, Slow> runner(ParallelExecutor(2),
                                                                            OtlpJsonSpanSink<>(out));
    for (int i = 0; i < 3; ++i) {
      out.str({});
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      REQUIRE(runner.run(FanOut{}, ContextSnapshot{}, RunOptions{.deadline = deadline}).ok());
      check_children_within_parent(out.str(), lead);
    }
  }
}
}  // namespace

TEST_CASE("OTLP/JSON spans: a child span lies within its parent, however long the hooks take (issue 21)",
          "[threads]") {
  SECTION("slow hooks on every level") { check_spans_with_slow_hooks<true, true, true>(); }
  SECTION("a slow run-end hook") { check_spans_with_slow_hooks<false, false, true>(); }
  SECTION("slow stage hooks") { check_spans_with_slow_hooks<false, true, false>(); }
  SECTION("a slow run-start hook") { check_spans_with_slow_hooks<true, false, false>(); }
}
