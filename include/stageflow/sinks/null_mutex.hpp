// SPDX-License-Identifier: BSL-1.0
// NullMutex: the mutex policy of a sink used by one thread at a time (spdlog's `_st` sinks).
//
// Every sink with a lock takes its mutex type as its last template parameter (see base_sink.hpp for
// the naming rule): the `_mt` names (and the plain JsonLinesSink<>, CollectingSink, CallbackSink<>)
// lock with std::mutex and are safe under concurrent stages and runs, the `_st` names lock with
// NullMutex and cost nothing when only one thread emits.
#pragma once

namespace stageflow {

/// A mutex that does nothing, for sinks used by one thread only.
struct NullMutex {
  constexpr void lock() noexcept {}
  constexpr void unlock() noexcept {}
  constexpr bool try_lock() noexcept { return true; }
};

}  // namespace stageflow
