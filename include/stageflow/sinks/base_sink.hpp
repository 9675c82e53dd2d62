// SPDX-License-Identifier: BSL-1.0
// BaseSink<Mutex, State>: what every locking sink is built on, as spdlog's sinks are on base_sink.
// It owns the state the copies of a sink share (a runner holds a copy of each sink it is given) and
// the one lock that guards it; the sink formats outside the lock and holds it only to write:
//
//   template <class Mutex = std::mutex>
//   class BasicLineCountSink : public BaseSink<Mutex, std::size_t> {
//    public:
//     BasicLineCountSink() : BaseSink<Mutex, std::size_t>(std::in_place, 0) {}
//     void emit(const Event&) const { this->locked([](std::size_t& lines) { ++lines; }); }
//   };
//
// Naming, one rule for every sink with a lock: the class template is Basic<Name>Sink<..., Mutex>
// (the mutex its last parameter), <name>_sink_mt locks with std::mutex and <name>_sink_st with
// NullMutex (one thread at a time, no locking). The names sinks had before (JsonLinesSink<>,
// CollectingSink, CallbackSink<>, OtlpJsonSpanSink<>) stay as aliases. Sinks without a lock of their
// own (NullSink, AsyncSink, TeeSink) have no mutex parameter.
//
// With NullMutex and no shared state the base is empty and allocates nothing: such a sink is no
// bigger than its own members (json_lines_sink_st is one pointer).
#pragma once

#include <stageflow/sinks/null_mutex.hpp>

#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace stageflow {

/// The State of a sink that shares nothing but its lock.
struct NoSharedState {};

template <class Mutex, class State = NoSharedState>
class BaseSink {
 public:
  using mutex_type = Mutex;
  using shared_state_type = State;

 protected:
  BaseSink() : BaseSink(std::in_place) {}
  template <class... Args>
  explicit BaseSink(std::in_place_t, Args&&... args)
      : shared_(std::make_shared<Shared>(std::forward<Args>(args)...)) {}

  /// Calls f(state) under the lock shared by every copy of the sink, and returns what f returns.
  template <class F>
  decltype(auto) locked(F&& f) const {
    std::lock_guard lock(shared_->mutex);
    return std::forward<F>(f)(shared_->state);
  }
  /// The shared state without the lock: only for what never changes after construction.
  const State& unlocked() const noexcept { return shared_->state; }

 private:
  struct Shared {
    template <class... Args>
    explicit Shared(Args&&... args) : state(std::forward<Args>(args)...) {}
    Mutex mutex;
    State state;
  };
  std::shared_ptr<Shared> shared_;
};

/// Nothing to share and nothing to lock: no member, no allocation.
template <>
class BaseSink<NullMutex, NoSharedState> {
 public:
  using mutex_type = NullMutex;
  using shared_state_type = NoSharedState;

 protected:
  BaseSink() = default;
  explicit BaseSink(std::in_place_t) noexcept {}

  template <class F>
  decltype(auto) locked(F&& f) const {
    NoSharedState none;
    return std::forward<F>(f)(none);
  }
  const NoSharedState& unlocked() const noexcept {
    static constexpr NoSharedState none{};
    return none;
  }
};

}  // namespace stageflow
