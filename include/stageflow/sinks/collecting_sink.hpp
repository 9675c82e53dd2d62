// SPDX-License-Identifier: BSL-1.0
// CollectingSink: keeps a copy of every event, for tests and diagnostics.
//
//   stageflow::CollectingSink sink;
//   stageflow::Runner<stageflow::CollectingSink> runner(sink);   // the runner holds a copy...
//   runner.run(pipeline, snapshot);
//   sink.types();   // ...that shares the events: {"pipeline.started", "stage.started", ...}
//
// The events live in the state of the sink's BaseSink, shared by its copies. CollectingSink
// (= collecting_sink_mt, BasicCollectingSink<std::mutex>) locks, so concurrent stages and runs may
// emit; collecting_sink_st (BasicCollectingSink<NullMutex>) does not, for one thread at a time.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/sinks/base_sink.hpp>
#include <stageflow/sinks/null_mutex.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace stageflow {

/// An Event that owns its text.
struct RecordedEvent {
  using Value = std::variant<std::int64_t, double, bool, std::string, std::vector<std::string>>;

  std::string type;
  boost::uuids::uuid pipeline_run_id{};
  std::string stage;
  std::chrono::nanoseconds duration{-1};
  std::chrono::system_clock::time_point timestamp{};
  std::vector<std::pair<std::string, Value>> fields;
  std::string status;  // outcome events: to_string(StageStatus or RunStatus)
  std::string reason;  // outcome events: why
  TraceIds trace{};    // the event's trace and span (all zero without a trace)

  /// A copy of the event's text and fields.
  static RecordedEvent copy_of(const Event& event) {
    RecordedEvent copy{std::string(event.type), event.pipeline_run_id, std::string(event.stage), event.duration,
                       event.timestamp, {}, std::string(event.status), std::string(event.reason), event.trace};
    copy.fields.reserve(event.fields.size());
    for (const auto& field : event.fields)
      copy.fields.emplace_back(std::string(field.key),
                               std::visit(detail::overloaded{
                                              [](std::int64_t v) -> Value { return v; },
                                              [](double v) -> Value { return v; },
                                              [](bool v) -> Value { return v; },
                                              [](std::string_view v) -> Value { return std::string(v); },
                                              [](std::span<const std::string_view> v) -> Value {
                                                return std::vector<std::string>(v.begin(), v.end());
                                              },
                                          },
                                          field.value));
    return copy;
  }

  bool has_duration() const noexcept { return duration.count() >= 0; }
  const Value* field(std::string_view key) const noexcept {
    for (const auto& [k, v] : fields)
      if (k == key) return &v;
    return nullptr;
  }
  /// The text of a string field, or nullopt.
  std::optional<std::string> text(std::string_view key) const {
    const auto* value = field(key);
    if (value == nullptr || !std::holds_alternative<std::string>(*value)) return std::nullopt;
    return std::get<std::string>(*value);
  }
  /// The items of a text-list field, or nullopt.
  std::optional<std::vector<std::string>> texts(std::string_view key) const {
    const auto* value = field(key);
    if (value == nullptr || !std::holds_alternative<std::vector<std::string>>(*value)) return std::nullopt;
    return std::get<std::vector<std::string>>(*value);
  }
  /// A number field's value (integer or floating point), or nullopt.
  std::optional<double> number(std::string_view key) const noexcept { return detail::field_number(field(key)); }
  /// A boolean field's value, or nullopt.
  std::optional<bool> flag(std::string_view key) const noexcept { return detail::field_flag(field(key)); }
};

template <class Mutex = std::mutex>
class BasicCollectingSink : public BaseSink<Mutex, std::vector<RecordedEvent>> {
  using Events = std::vector<RecordedEvent>;

 public:
  BasicCollectingSink() = default;

  void emit(const Event& event) const {
    RecordedEvent copy = RecordedEvent::copy_of(event);  // outside the lock
    this->locked([&](Events& events) { events.push_back(std::move(copy)); });
  }

  /// A copy of the events so far, in emission order.
  std::vector<RecordedEvent> events() const {
    return this->locked([](const Events& events) { return events; });
  }
  /// The event types so far, in emission order.
  std::vector<std::string> types() const {
    return this->locked([](const Events& events) {
      std::vector<std::string> out;
      out.reserve(events.size());
      for (const auto& e : events) out.push_back(e.type);
      return out;
    });
  }
  std::size_t count(std::string_view type) const {
    return this->locked([&](const Events& events) {
      return static_cast<std::size_t>(
          std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.type == type; }));
    });
  }
  std::size_t size() const {
    return this->locked([](const Events& events) { return events.size(); });
  }
  void clear() const {
    this->locked([](Events& events) { events.clear(); });
  }
};

using CollectingSink = BasicCollectingSink<std::mutex>;
using collecting_sink_mt = CollectingSink;
using collecting_sink_st = BasicCollectingSink<NullMutex>;

}  // namespace stageflow
