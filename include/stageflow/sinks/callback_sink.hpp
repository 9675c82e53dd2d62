// CallbackSink: hands each event to a function, e.g. to forward it to your logger or metrics.
//
//   stageflow::CallbackSink<> sink([](const stageflow::Event& e) { log(e.type, e.stage); });
//
// The Event is a view valid only during the call. The callback may be called from several threads
// at once when runs are concurrent. A callback that throws loses that event; the run goes on.
#pragma once

#include <stageflow/core/events.hpp>

#include <functional>
#include <utility>

namespace stageflow {

template <class Callback = std::function<void(const Event&)>>
class CallbackSink {
 public:
  explicit CallbackSink(Callback callback) : callback_(std::move(callback)) {}
  void emit(const Event& event) const { callback_(event); }

 private:
  Callback callback_;
};

}  // namespace stageflow
