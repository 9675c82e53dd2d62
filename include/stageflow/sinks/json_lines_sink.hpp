// JsonLinesSink: one JSON object per event, one per line, on any std::ostream.
//
//   {"type":"stage.completed","timestamp":"2026-11-29T21:51:51.123456Z","pipeline_run_id":"0193...",
//    "stage":"enrich","status":"completed","duration_ns":12034,"fields":{}}
//
// The schema (docs/events.md): fixed envelope keys, the event's own fields nested under
// "fields", durations in integer nanoseconds, always valid UTF-8 (invalid bytes become U+FFFD).
// Each line is written with one write and flushed, so a line is visible as soon as it is emitted.
// Lines from concurrent runs never interleave: writes take a lock shared by copies of the sink.
// Pick the mutex type as in spdlog: JsonLinesSink<> (std::mutex) or json_lines_sink_st (NullMutex:
// one thread at a time, no locking). The formatting itself is outside the lock.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/events.hpp>
#include <stageflow/sinks/detail/json_line.hpp>
#include <stageflow/sinks/detail/shared_mutex.hpp>
#include <stageflow/sinks/null_mutex.hpp>

#include <mutex>
#include <ostream>
#include <span>
#include <string>

namespace stageflow {

template <class Mutex = std::mutex>
class JsonLinesSink {
 public:
  /// The stream must outlive the sink and every runner holding a copy of it.
  explicit JsonLinesSink(std::ostream& out) : out_(&out) {}

  void emit(const Event& event) const {
    thread_local std::string line;  // one buffer per thread: no allocation per event once warm
    line.clear();
    detail::append_json_line(line, event);
    std::lock_guard lock(mutex_.get());
    out_->write(line.data(), static_cast<std::streamsize>(line.size()));
    out_->flush();
  }
  void flush() const {
    std::lock_guard lock(mutex_.get());
    out_->flush();
  }

 private:
  std::ostream* out_;
  STAGEFLOW_NO_UNIQUE_ADDRESS detail::SharedMutex<Mutex> mutex_;
};

using json_lines_sink_mt = JsonLinesSink<std::mutex>;
using json_lines_sink_st = JsonLinesSink<NullMutex>;

}  // namespace stageflow
