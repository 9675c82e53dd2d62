// SPDX-License-Identifier: BSL-1.0
// Observability demo: a chat pipeline served with Prometheus metrics and OTLP/JSON spans.
//
// The runner has PrometheusMetrics (runs and stages by outcome, durations), the hardening event
// counter, UUID telemetry and an OTLP span sink; prometheus-cpp's Exposer serves the metrics while
// the requests run. Some requests arrive with a W3C traceparent (their runs join the caller's
// trace), one client retries with the same ids (UUID collisions), some requests fail or skip.
//
//   build/release/examples/observability [--runs N] [--listen 127.0.0.1:9464] [--spans spans.jsonl]
//                                        [--hold SECONDS]
//
// --listen: where GET /metrics is served (default 127.0.0.1:0, a free port, printed at start);
// --spans: the OTLP/JSON file (one ExportTraceServiceRequest per line, the OpenTelemetry
// Collector's otlpjsonfile receiver format; default: kept in memory, one line printed);
// --hold: keep serving that long after the last run, to scrape it yourself with curl.
// It ends with the metrics as a scrape shows them, and checks that they add up.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/observability/prometheus_metrics.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/otlp_json_span_sink.hpp>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace chat {

using stageflow::after;
using stageflow::StageOutput;

struct Parse {
  static constexpr std::string_view name = "parse";
  StageOutput<std::string> execute(const auto& ctx) const {
    const std::string& text = ctx.snapshot().input_text;
    if (text.empty()) return stageflow::skip("empty message");
    return text;
  }
};
struct Lookup {
  static constexpr std::string_view name = "lookup";
  using depends_on = after<Parse>;
  std::string execute(const auto& ctx) const {
    if (ctx.snapshot().input_text == "crash the profile service") throw std::runtime_error("profile service down");
    return "gold";
  }
};
struct Classify {
  static constexpr std::string_view name = "classify";
  using depends_on = after<Parse>;
  std::string execute(const auto& ctx) const {
    const std::string* text = stageflow::input<Parse>(ctx);
    return text != nullptr && text->find('?') != std::string::npos ? "question" : "statement";
  }
};
struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = after<Lookup, Classify>;
  std::string execute(const auto& ctx) const {
    const std::string* intent = stageflow::input<Classify>(ctx);
    return intent != nullptr && *intent == "question" ? "let me check" : "noted";
  }
};
using Pipeline = stageflow::Pipeline<Parse, Lookup, Classify, Reply>;

}  // namespace chat

int main(int argc, char** argv) {
  long runs = 2'000;
  std::string listen = "127.0.0.1:0", spans_path;
  double hold_seconds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--runs") runs = std::max(10L, std::atol(argv[i + 1]));
    else if (flag == "--listen") listen = argv[i + 1];
    else if (flag == "--spans") spans_path = argv[i + 1];
    else if (flag == "--hold") hold_seconds = std::atof(argv[i + 1]);
  }

  // Metrics: the user's registry, served by prometheus-cpp's Exposer while the runs go on.
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::Exposer exposer(listen);
  exposer.RegisterCollectable(registry);
  std::printf("metrics: http://127.0.0.1:%d/metrics, served only while this program runs (%s)\n",
              exposer.GetListeningPorts().at(0),
              hold_seconds > 0 ? "and the --hold time after it" : "a second or two: add --hold 30 to scrape it yourself");

  // Spans: OTLP/JSON lines, to a file or kept in memory.
  std::ofstream spans_file;
  std::ostringstream spans_memory;
  if (!spans_path.empty()) spans_file.open(spans_path);
  std::ostream& spans = spans_path.empty() ? static_cast<std::ostream&>(spans_memory) : spans_file;

  stageflow::PrometheusMetrics metrics(registry, {.pipeline = "chat"});
  stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::PrometheusMetrics,
                    stageflow::PrometheusEventCounter, stageflow::OtlpJsonSpanSink<>,
                    stageflow::pipeline::UuidTelemetry<>>
      runner(stageflow::ParallelExecutor(2), metrics, metrics.event_counter(),
             stageflow::OtlpJsonSpanSink<>(spans, {.service_name = "chat-api"}));

  const char* messages[] = {"hello there", "what is my balance?", "", "crash the profile service", "thanks"};
  const auto retried = stageflow::RunIdentity::generate();  // a client that retries with the same ids
  const std::string caller_trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  long failed = 0;
  for (long i = 0; i < runs; ++i) {
    stageflow::ContextSnapshot snapshot;
    snapshot.run = i % 500 == 499 ? retried : stageflow::RunIdentity::generate();
    snapshot.input_text = messages[i % 5];
    // Every tenth request comes from a traced caller.
    const auto options = stageflow::RunOptions{.traceparent = i % 10 == 0 ? std::string_view(caller_trace) : ""};
    if (runner.run(chat::Pipeline{}, snapshot, options).status == stageflow::RunStatus::failed) ++failed;
  }
  if (hold_seconds > 0) {
    std::printf("holding the metrics endpoint for %.0f s\n", hold_seconds);
    std::this_thread::sleep_for(std::chrono::duration<double>(hold_seconds));
  }

  // What a scrape of /metrics returns now (histogram buckets and zero series left out for brevity).
  const std::string scrape = prometheus::TextSerializer().Serialize(registry->Collect());
  std::printf("\n%ld runs; the scrape, without histogram buckets and zero series:\n", runs);
  std::istringstream lines(scrape);
  double counted_runs = 0, counted_failures = 0, collisions = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#' || line.find("_bucket{") != std::string::npos) continue;
    const double value = std::atof(line.c_str() + line.rfind(' ') + 1);
    if (value != 0) std::printf("  %s\n", line.c_str());
    if (line.rfind("stageflow_runs_total{", 0) == 0) counted_runs += value;
    if (line.rfind("stageflow_runs_total{", 0) == 0 && line.find("status=\"failed\"") != std::string::npos)
      counted_failures += value;
    if (line.find("event=\"uuid.collision\"") != std::string::npos) collisions += value;
  }

  const std::string all_spans = spans_path.empty() ? spans_memory.str() : std::string();
  if (spans_path.empty()) {
    std::printf("\nOTLP/JSON spans: %zu lines (pass --spans FILE to keep them); the first:\n  %s\n",
                static_cast<std::size_t>(std::count(all_spans.begin(), all_spans.end(), '\n')),
                all_spans.substr(0, all_spans.find('\n')).c_str());
  } else {
    std::printf("\nOTLP/JSON spans written to %s\n", spans_path.c_str());
  }

  // The figures must add up: every run counted once, the failures the runner reported, and the
  // retried ids seen as collisions (three ids per retry: run, request, interaction).
  const long retries = runs / 500 - (runs >= 500 ? 1 : 0);
  const bool ok = counted_runs == static_cast<double>(runs) && counted_failures == static_cast<double>(failed) &&
                  collisions == static_cast<double>(3 * std::max(0L, retries));
  std::printf("\ncheck: runs %s, failures %s, collisions %s\n", counted_runs == runs ? "add up" : "DO NOT add up",
              counted_failures == failed ? "add up" : "DO NOT add up",
              collisions == 3 * std::max(0L, retries) ? "add up" : "DO NOT add up");
  return ok ? 0 : 1;
}
