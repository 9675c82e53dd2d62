// SPDX-License-Identifier: BSL-1.0
// BasicChromeTraceSink: a timeline of runs and stages in the Trace Event Format (the JSON that
// Perfetto, https://ui.perfetto.dev, and chrome://tracing open).
//
//   std::ofstream file("stageflow-trace.json");
//   stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::chrome_trace_sink_mt>
//       runner(stageflow::ParallelExecutor(2), stageflow::chrome_trace_sink_mt(file));
//   ... runs ...   // the file is complete once the last copy of the sink is gone (or after close())
//
// The file is the format's JSON Array Format: `[` then one event per line. Each stage that ran and
// each run is a complete event ("ph":"X"), written when its outcome event arrives: `name` the stage's
// name (the run's: options.run_name), `cat` "stage" or "run", `ts` its start and `dur` its duration
// in microseconds (the outcome event's timestamp minus its duration, as the OTLP span sink does),
// `pid` the process, `tid` the thread that emitted it (one track per thread, each named by a
// "thread_name" metadata event the first time it appears), and `args` the run id (pipeline_run_id),
// the status word and the reason when there is one. Other events are left out. close(), or the
// destruction of the last copy, writes the closing `]` (the format allows a file without it, so a
// program that dies mid-run still leaves a readable trace).
//
// Lines are formatted outside the lock and written under it (BaseSink); chrome_trace_sink_st is
// for one thread at a time.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/sinks/base_sink.hpp>
#include <stageflow/sinks/detail/json_line.hpp>
#include <stageflow/sinks/null_mutex.hpp>
#include <stageflow/uuid/text.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace stageflow {

struct ChromeTraceSinkOptions {
  /// The name of a run's slice (a stage's slice is named after the stage).
  std::string run_name = "pipeline run";
  /// The prefix of each thread's track name: "<prefix> <tid>".
  std::string thread_name = "stageflow thread";
};

namespace detail {

/// A small number per thread, the same for every trace sink: the track a thread's slices go on.
inline std::uint32_t trace_thread_id() noexcept {
  static std::atomic<std::uint32_t> next{1};
  thread_local const std::uint32_t id = next.fetch_add(1, std::memory_order_relaxed);
  return id;
}

/// Appends microseconds from nanoseconds, with the nanoseconds as three decimals.
inline void append_micros(std::string& out, std::int64_t nanos) {
  if (nanos < 0) {
    out.push_back('-');
    nanos = -nanos;
  }
  append_json_number(out, nanos / 1000);
  const auto fraction = static_cast<int>(nanos % 1000);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + fraction / 100));
  out.push_back(static_cast<char>('0' + fraction / 10 % 10));
  out.push_back(static_cast<char>('0' + fraction % 10));
}

/// The outcome word of a stage's or a run's last event, or empty for any other event.
inline std::string_view trace_outcome(std::string_view type, bool& run) noexcept {
  constexpr std::string_view stage_prefix = "stage.", run_prefix = "pipeline.";
  run = type.starts_with(run_prefix);
  if (!run && !type.starts_with(stage_prefix)) return {};
  const std::string_view word = type.substr(run ? run_prefix.size() : stage_prefix.size());
  if (word == "completed" || word == "failed" || word == "cancelled" || word == "timed_out") return word;
  if (!run && word == "skipped") return word;
  return {};
}

/// What the copies of a trace sink share: the stream, where the array stands, the tracks named.
struct ChromeTraceShared {
  ChromeTraceShared(std::ostream& stream, ChromeTraceSinkOptions opts) : out(&stream), options(std::move(opts)) {}
  ChromeTraceShared(const ChromeTraceShared&) = delete;
  ChromeTraceShared& operator=(const ChromeTraceShared&) = delete;
  ~ChromeTraceShared() {
    try {
      close();
    } catch (...) {
      // A stream that throws at the end loses the closing bracket, which the format does not need.
    }
  }
  void write(std::string_view text) {
    if (closed) return;
    *out << (started ? ",\n" : "[\n") << text;
    started = true;
    out->flush();
  }
  void close() {
    if (closed) return;
    *out << (started ? "\n]\n" : "[]\n");
    out->flush();
    closed = true;
  }
  std::ostream* out;
  const ChromeTraceSinkOptions options;
  bool started = false;
  bool closed = false;
  std::vector<std::uint32_t> named_threads;  // tracks that have their thread_name event
};

}  // namespace detail

template <class Mutex = std::mutex>
class BasicChromeTraceSink : public BaseSink<Mutex, detail::ChromeTraceShared> {
 public:
  /// The stream must outlive the sink and every runner holding a copy of it.
  explicit BasicChromeTraceSink(std::ostream& out, ChromeTraceSinkOptions options = {})
      : BaseSink<Mutex, detail::ChromeTraceShared>(std::in_place, out, std::move(options)) {}

  void emit(const Event& event) const {
    bool run = false;
    const std::string_view status = detail::trace_outcome(event.type, run);
    if (status.empty()) return;
    const std::uint32_t tid = detail::trace_thread_id();
    const auto& options = this->unlocked().options;  // never changes after construction
    std::string slice;
    slice.reserve(256);
    detail::JsonObjectWriter line(slice);
    line.text("name", run ? std::string_view(options.run_name) : event.stage);
    line.text("cat", run ? "run" : "stage");
    line.text("ph", "X");
    const std::int64_t end =
        std::chrono::duration_cast<std::chrono::nanoseconds>(event.timestamp.time_since_epoch()).count();
    const std::int64_t duration = event.has_duration() ? event.duration.count() : 0;
    slice += ",\"ts\":";
    detail::append_micros(slice, end - duration);
    slice += ",\"dur\":";
    detail::append_micros(slice, duration);
    line.integer("pid", static_cast<std::int64_t>(::getpid()));
    line.integer("tid", tid);
    detail::JsonObjectWriter args = line.object("args");
    args.uuid("pipeline_run_id", event.pipeline_run_id);
    args.text("status", status);
    if (!event.reason.empty()) args.text("reason", event.reason);
    args.close();
    line.close();
    this->locked([&](detail::ChromeTraceShared& shared) {
      if (std::find(shared.named_threads.begin(), shared.named_threads.end(), tid) == shared.named_threads.end()) {
        shared.named_threads.push_back(tid);
        shared.write(thread_name_event(options, tid));
      }
      shared.write(slice);
    });
  }
  void flush() const {
    this->locked([](detail::ChromeTraceShared& shared) { shared.out->flush(); });
  }
  /// Writes the closing `]`; events after it are left out.
  void close() const {
    this->locked([](detail::ChromeTraceShared& shared) { shared.close(); });
  }

 private:
  static std::string thread_name_event(const ChromeTraceSinkOptions& options, std::uint32_t tid) {
    std::string text;
    detail::JsonObjectWriter line(text);
    line.text("name", "thread_name");
    line.text("ph", "M");
    line.integer("pid", static_cast<std::int64_t>(::getpid()));
    line.integer("tid", tid);
    detail::JsonObjectWriter args = line.object("args");
    args.text("name", options.thread_name + " " + std::to_string(tid));
    args.close();
    line.close();
    return text;
  }
};

using chrome_trace_sink_mt = BasicChromeTraceSink<std::mutex>;
using chrome_trace_sink_st = BasicChromeTraceSink<NullMutex>;

}  // namespace stageflow
