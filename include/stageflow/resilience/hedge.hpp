// SPDX-License-Identifier: BSL-1.0
// Hedged stages: a stage that declares
//
//   static constexpr stageflow::Hedge hedge{.after = std::chrono::milliseconds(5), .max_extra = 1};
//
// is started again when an attempt has not finished `after` it began (up to `max_extra` more,
// each `after` later than the last). The first to finish is the stage's outcome; the others get a
// stop request (their ctx.stop_token() fires) and their outputs are discarded. The stage ends
// when every copy has returned, so a copy must honour its stop token (cancel_on_stop).
//
// A hedged stage runs its work more than once at the same time: it must be idempotent (a read,
// or a write with an idempotency key such as ctx.pipeline_run_id()). Hedging cuts the tail that
// slow replicas cause; it does not help a stage that is slow everywhere, and it adds load (at most
// `max_extra` more calls for each slow one). Event `stage.hedged` at each extra start.
// Where: an awaitable stage under async_run (its copies share the stage's strand); a synchronous
// stage under ParallelExecutor or async_run (its copies run on other threads of the executor; an
// Asio timer, not a thread, waits for `after`). Where no second copy can run beside the first
// (SequentialExecutor, a strand, an io_context with one thread), a synchronous stage runs once.
#pragma once

#include <chrono>

namespace stageflow {

struct Hedge {
  /// How long an attempt runs before another starts beside it.
  std::chrono::nanoseconds after = std::chrono::milliseconds(5);
  /// How many more copies may start (1: at most two at once).
  unsigned max_extra = 1;
};

}  // namespace stageflow
