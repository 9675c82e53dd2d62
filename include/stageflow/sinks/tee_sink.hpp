// SPDX-License-Identifier: BSL-1.0
// TeeSink<Sinks...>: hands each event to several sinks, in order (spdlog's dist_sink). It has no lock
// of its own: each sink keeps its own (or none, when one thread calls the tee, as AsyncSink's writer
// does). Typical use: AsyncSink's writer feeds a file and a metrics counter, so that the writer's
// `sink.events_dropped` reports reach PrometheusEventCounter:
//
//   using Events = stageflow::TeeSink<stageflow::json_lines_sink_st, stageflow::PrometheusEventCounter>;
//   stageflow::AsyncSink<Events> sink(Events(stageflow::json_lines_sink_st(file), metrics.event_counter()));
//
// A sink that throws does not keep the event from the others; the first exception is rethrown once
// every sink had the event. flush() flushes each sink that has a flush().
#pragma once

#include <stageflow/core/events.hpp>

#include <cstddef>
#include <exception>
#include <tuple>
#include <utility>

namespace stageflow {

template <EventSink... Sinks>
class TeeSink {
 public:
  explicit TeeSink(Sinks... sinks) : sinks_(std::move(sinks)...) {}

  void emit(const Event& event) const {
    std::exception_ptr first;
    std::apply([&](const auto&... sink) { (emit_one(sink, event, first), ...); }, sinks_);
    if (first) std::rethrow_exception(first);
  }
  void flush() const {
    std::apply([](const auto&... sink) { (flush_one(sink), ...); }, sinks_);
  }
  /// The I-th sink.
  template <std::size_t I>
  const auto& get() const noexcept {
    return std::get<I>(sinks_);
  }

 private:
  template <class Sink>
  static void emit_one(const Sink& sink, const Event& event, std::exception_ptr& first) noexcept {
    try {
      sink.emit(event);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  template <class Sink>
  static void flush_one(const Sink& sink) {
    if constexpr (requires { sink.flush(); }) sink.flush();
  }

  std::tuple<Sinks...> sinks_;
};

}  // namespace stageflow
