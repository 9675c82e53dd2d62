// SPDX-License-Identifier: BSL-1.0
// NullMutex: the mutex policy of a sink used by one thread at a time (spdlog's `_st` sinks).
//
// Every sink takes its mutex type as a template parameter; the plain names (JsonLinesSink<>,
// CollectingSink, CallbackSink<>) lock with std::mutex and are safe under concurrent stages and
// runs, the `_st` aliases lock with NullMutex and cost nothing when only one thread emits.
#pragma once

namespace stageflow {

/// A mutex that does nothing, for sinks used by one thread only.
struct NullMutex {
  constexpr void lock() noexcept {}
  constexpr void unlock() noexcept {}
  constexpr bool try_lock() noexcept { return true; }
};

}  // namespace stageflow
