// SPDX-License-Identifier: BSL-1.0
// What an event costs the thread that emits it (the request path): AsyncSink<json_lines_sink_st>
// against the synchronous JsonLinesSink writing the same file, and against spdlog's asynchronous
// logger writing the same line to a file (the peer).
//
// Each iteration emits a burst of events (fewer than either queue holds, so nothing is dropped or
// blocked), times only the burst (manual time), then lets the background thread drain untimed.
// Every emit reads the wall clock, as RunContext::emit does, and as spdlog's logger does.
#include <stageflow/core/events.hpp>
#include <stageflow/sinks/async_sink.hpp>
#include <stageflow/sinks/json_lines_sink.hpp>
#include <stageflow/uuid/text.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "ratio_main.hpp"

namespace {

constexpr int burst = 512;

std::filesystem::path scratch_file(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() / ("stageflow-bench-sinks-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

/// A context.growth_warning-sized event: envelope, a duration and three fields.
struct SampleEvent {
  boost::uuids::uuid run_id = stageflow::helpers::generate_uuid7();
  stageflow::EventField fields[3] = {{"growth_bytes", 4096}, {"size_bytes", 1'048'576}, {"label", "enrich:end"}};
  stageflow::Event event() const {
    stageflow::Event e;
    e.type = "bench.sample";
    e.pipeline_run_id = run_id;
    e.stage = "enrich";
    e.status = "completed";
    e.duration = std::chrono::nanoseconds(48'211);
    e.fields = fields;
    return e;
  }
};

template <class Sink, class Drain>
void emit_bursts(benchmark::State& state, const Sink& sink, Drain drain) {
  const SampleEvent sample;
  stageflow::Event event = sample.event();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < burst; ++i) {
      event.timestamp = std::chrono::system_clock::now();
      sink.emit(event);
    }
    const auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    drain();
  }
  state.SetItemsProcessed(state.iterations() * burst);
}

void BM_async_sink(benchmark::State& state) {
  std::ofstream file(scratch_file("async.jsonl"));
  const stageflow::AsyncSink<stageflow::json_lines_sink_st> sink{stageflow::json_lines_sink_st(file)};
  emit_bursts(state, sink, [&] { sink.flush(); });
  state.counters["dropped"] = static_cast<double>(sink.dropped());
}
BENCHMARK(BM_async_sink)->UseManualTime();

void BM_json_lines_sync(benchmark::State& state) {
  std::ofstream file(scratch_file("sync.jsonl"));
  const stageflow::json_lines_sink_st sink(file);
  emit_bursts(state, sink, [] {});
}
BENCHMARK(BM_json_lines_sync)->UseManualTime();

/// spdlog's asynchronous logger, logging the same JSON line: the message is formatted with fmt on
/// the caller's thread (spdlog's design), the time stamp is spdlog's own, taken on the caller's
/// thread and formatted by the worker. The run id's text is made once, in spdlog's favour.
struct SpdlogSink {
  std::shared_ptr<spdlog::logger> logger;
  std::string run_id;
  void emit(const stageflow::Event& e) const {
    logger->info(R"("type":"{}","pipeline_run_id":"{}","stage":"{}","status":"{}","duration_ns":{},)"
                 R"("fields":{{"growth_bytes":{},"size_bytes":{},"label":"{}"}}}})",
                 e.type, run_id, e.stage, e.status, e.duration.count(), std::get<std::int64_t>(e.fields[0].value),
                 std::get<std::int64_t>(e.fields[1].value), std::get<std::string_view>(e.fields[2].value));
  }
};

void BM_spdlog_async(benchmark::State& state) {
  spdlog::init_thread_pool(8192, 1);  // spdlog's default queue; 1 worker, as AsyncSink
  auto logger = spdlog::basic_logger_mt<spdlog::async_factory>("events", scratch_file("spdlog.jsonl").string(), true);
  logger->set_pattern(R"({"timestamp":"%Y-%m-%dT%H:%M:%S.%fZ",%v)", spdlog::pattern_time_type::utc);
  SpdlogSink sink{logger, {}};
  stageflow::detail::append_uuid(sink.run_id, SampleEvent{}.run_id);
  auto pool = spdlog::thread_pool();
  emit_bursts(state, sink, [&] {
    while (pool->queue_size() != 0) std::this_thread::yield();
  });
  state.counters["overruns"] = static_cast<double>(pool->overrun_counter());
  spdlog::drop("events");
}
BENCHMARK(BM_spdlog_async)->UseManualTime();

STAGEFLOW_BENCHMARK_RATIO("AsyncSink emit vs spdlog async logger", "BM_async_sink/manual_time",
                          "BM_spdlog_async/manual_time", 1.0);
STAGEFLOW_BENCHMARK_RATIO("AsyncSink emit vs synchronous JsonLinesSink", "BM_async_sink/manual_time",
                          "BM_json_lines_sync/manual_time", 0);

}  // namespace

int main(int argc, char** argv) {
  const int status = stageflow::bench::run_benchmarks(argc, argv);
  std::error_code ignored;
  std::filesystem::remove_all(scratch_file("x").parent_path(), ignored);
  return status;
}
