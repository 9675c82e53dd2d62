// JsonLinesSink: one JSON object per event, one per line, on any std::ostream.
//
//   {"type":"stage.completed","timestamp":"2026-11-29T21:51:51.123456Z",
//    "pipeline_run_id":"0193...","stage":"enrich","duration_ms":0.012,"error":"..."}
//
// Lines from concurrent runs never interleave: writes take a lock, shared by copies of the sink.
// Pick the mutex type as in spdlog: JsonLinesSink<> (std::mutex) or json_lines_sink_st
// (single-threaded, no locking).
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/json/detail/escape.hpp>
#include <stageflow/sinks/detail/utc_timestamp.hpp>
#include <stageflow/uuid/text.hpp>

#include <charconv>
#include <memory>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <variant>

namespace stageflow {

/// A mutex that does nothing, for sinks used by one thread only.
struct NullMutex {
  void lock() noexcept {}
  void unlock() noexcept {}
};

template <class Mutex = std::mutex>
class JsonLinesSink {
 public:
  /// The stream must outlive the sink and every runner holding a copy of it.
  explicit JsonLinesSink(std::ostream& out) : out_(&out), mutex_(std::make_shared<Mutex>()) {}

  void emit(const Event& event) const {
    std::string line;
    line.reserve(192);
    line += "{\"type\":";
    detail::append_json_string(line, event.type);
    line += ",\"timestamp\":\"";
    detail::append_utc_timestamp(line, event.timestamp);
    line += "\",\"pipeline_run_id\":\"";
    detail::append_uuid(line, event.pipeline_run_id);
    line.push_back('"');
    if (!event.stage.empty()) {
      line += ",\"stage\":";
      detail::append_json_string(line, event.stage);
    }
    if (event.has_duration()) {
      line += ",\"duration_ms\":";
      append_number(line, static_cast<double>(event.duration.count()) / 1e6);
    }
    for (const auto& field : event.fields) {
      line.push_back(',');
      detail::append_json_string(line, field.key);
      line.push_back(':');
      std::visit([&](const auto& value) { append_value(line, value); }, field.value);
    }
    line += "}\n";
    std::lock_guard lock(*mutex_);
    out_->write(line.data(), static_cast<std::streamsize>(line.size()));
    out_->flush();
  }

 private:
  static void append_value(std::string& line, std::int64_t value) { append_number(line, value); }
  static void append_value(std::string& line, double value) { append_number(line, value); }
  static void append_value(std::string& line, bool value) { line += value ? "true" : "false"; }
  static void append_value(std::string& line, std::string_view value) { detail::append_json_string(line, value); }
  static void append_value(std::string& line, std::span<const std::string_view> texts) {
    line.push_back('[');
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (i != 0) line.push_back(',');
      detail::append_json_string(line, texts[i]);
    }
    line.push_back(']');
  }

  template <class Number>
  static void append_number(std::string& line, Number value) {
    if constexpr (std::is_floating_point_v<Number>) {
      if (!(value == value) || value - value != 0) {  // NaN or infinity: JSON has no such number
        line += "null";
        return;
      }
    }
    char buffer[32];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    line.append(buffer, end);
  }

  std::ostream* out_;
  std::shared_ptr<Mutex> mutex_;
};

using json_lines_sink_mt = JsonLinesSink<std::mutex>;
using json_lines_sink_st = JsonLinesSink<NullMutex>;

}  // namespace stageflow
