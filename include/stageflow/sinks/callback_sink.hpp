// SPDX-License-Identifier: BSL-1.0
// BasicCallbackSink: hands each event to a function, e.g. to forward it to your logger or metrics.
//
//   stageflow::callback_sink_mt sink([](const stageflow::Event& e) { log(e.type, e.stage); });
//
// The Event is a view valid only during the call. Calls are serialized by the lock of the sink's
// BaseSink, shared by copies of the sink (the runner holds a copy), so a callback that is not
// thread-safe is safe under concurrent stages and runs. A callback that is thread-safe itself can
// skip the lock: BasicCallbackSink<F, NullMutex>, or callback_sink_st for std::function. A callback
// that throws loses that event; the run goes on. CallbackSink<F, Mutex> is the older name.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/sinks/base_sink.hpp>
#include <stageflow/sinks/null_mutex.hpp>

#include <functional>
#include <mutex>
#include <utility>

namespace stageflow {

template <class Callback = std::function<void(const Event&)>, class Mutex = std::mutex>
class BasicCallbackSink : public BaseSink<Mutex> {
 public:
  explicit BasicCallbackSink(Callback callback) : callback_(std::move(callback)) {}
  void emit(const Event& event) const {
    this->locked([&](auto&) { callback_(event); });
  }

 private:
  Callback callback_;
};

template <class Callback = std::function<void(const Event&)>, class Mutex = std::mutex>
using CallbackSink = BasicCallbackSink<Callback, Mutex>;
using callback_sink_mt = BasicCallbackSink<>;
using callback_sink_st = BasicCallbackSink<std::function<void(const Event&)>, NullMutex>;

}  // namespace stageflow
