// SPDX-License-Identifier: BSL-1.0
// CallbackSink: hands each event to a function, e.g. to forward it to your logger or metrics.
//
//   stageflow::CallbackSink<> sink([](const stageflow::Event& e) { log(e.type, e.stage); });
//
// The Event is a view valid only during the call. Calls are serialized by the sink's mutex,
// shared by copies of the sink (the runner holds a copy), so a callback that is not thread-safe
// is safe under concurrent stages and runs. A callback that is thread-safe itself can skip the lock:
// CallbackSink<F, NullMutex>, or callback_sink_st for std::function. A callback that throws loses
// that event; the run goes on.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/events.hpp>
#include <stageflow/sinks/detail/shared_mutex.hpp>
#include <stageflow/sinks/null_mutex.hpp>

#include <functional>
#include <mutex>
#include <utility>

namespace stageflow {

template <class Callback = std::function<void(const Event&)>, class Mutex = std::mutex>
class CallbackSink {
 public:
  explicit CallbackSink(Callback callback) : callback_(std::move(callback)) {}
  void emit(const Event& event) const {
    std::lock_guard lock(mutex_.get());
    callback_(event);
  }

 private:
  Callback callback_;
  STAGEFLOW_NO_UNIQUE_ADDRESS detail::SharedMutex<Mutex> mutex_;
};

using callback_sink_mt = CallbackSink<>;
using callback_sink_st = CallbackSink<std::function<void(const Event&)>, NullMutex>;

}  // namespace stageflow
