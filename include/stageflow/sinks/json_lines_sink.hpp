// SPDX-License-Identifier: BSL-1.0
// BasicJsonLinesSink: one JSON object per event, one per line, on any std::ostream.
//
//   {"type":"stage.completed","timestamp":"2026-11-29T21:51:51.123456Z","pipeline_run_id":"0193...",
//    "stage":"enrich","status":"completed","duration_ns":12034,"fields":{}}
//
// The schema (docs/events.md): fixed envelope keys, the event's own fields nested under
// "fields", durations in integer nanoseconds, always valid UTF-8 (invalid bytes become U+FFFD).
// Each line is written with one write and flushed, so a line is visible as soon as it is emitted.
// Lines from concurrent runs never interleave: writes take the lock of the sink's BaseSink, shared
// by its copies. json_lines_sink_mt (= JsonLinesSink<>) locks with std::mutex; json_lines_sink_st
// (NullMutex) is for one thread at a time. The formatting itself is outside the lock.
//
// A line is formatted into a buffer of the emitting thread, reused from event to event, so a warm
// sink allocates nothing per event. A line longer than `kept_line_bytes` (64 KiB) gives its buffer
// back once written: one huge event (a 32 MiB exception message, say) is not kept for the life of
// the thread.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/sinks/base_sink.hpp>
#include <stageflow/sinks/detail/json_line.hpp>
#include <stageflow/sinks/null_mutex.hpp>

#include <cstddef>
#include <mutex>
#include <ostream>
#include <span>
#include <string>

namespace stageflow {

namespace detail {
/// The calling thread's line buffer, shared by every JSON Lines sink it emits to.
inline std::string& thread_line_buffer() noexcept {
  thread_local std::string line;
  return line;
}
/// Empties the buffer, and gives its memory back when it grew past `keep` bytes.
inline void release_line_buffer(std::string& line, std::size_t keep) noexcept {
  if (line.capacity() > keep) {
    std::string().swap(line);
  } else {
    line.clear();
  }
}
}  // namespace detail

template <class Mutex = std::mutex>
class BasicJsonLinesSink : public BaseSink<Mutex> {
 public:
  /// A thread's line buffer bigger than this after a line is freed rather than kept.
  static constexpr std::size_t kept_line_bytes = 64 * 1024;

  /// The stream must outlive the sink and every runner holding a copy of it.
  explicit BasicJsonLinesSink(std::ostream& out) : out_(&out) {}

  void emit(const Event& event) const {
    std::string& line = detail::thread_line_buffer();
    line.clear();
    try {
      detail::append_json_line(line, event);
      this->locked([&](auto&) {
        out_->write(line.data(), static_cast<std::streamsize>(line.size()));
        out_->flush();
      });
    } catch (...) {
      detail::release_line_buffer(line, kept_line_bytes);
      throw;
    }
    detail::release_line_buffer(line, kept_line_bytes);
  }
  void flush() const {
    this->locked([&](auto&) { out_->flush(); });
  }

 private:
  std::ostream* out_;
};

template <class Mutex = std::mutex>
using JsonLinesSink = BasicJsonLinesSink<Mutex>;
using json_lines_sink_mt = BasicJsonLinesSink<std::mutex>;
using json_lines_sink_st = BasicJsonLinesSink<NullMutex>;

}  // namespace stageflow
