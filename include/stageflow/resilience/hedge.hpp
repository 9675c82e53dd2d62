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

#include <stageflow/runner/detail/latency_histogram.hpp>

#include <chrono>

namespace stageflow {

/// How long an attempt runs before another copy starts: a fixed duration (any std::chrono
/// duration converts), or hedge_at_percentile(p).
struct HedgeDelay {
  constexpr HedgeDelay() noexcept = default;
  template <class Rep, class Period>
  constexpr HedgeDelay(std::chrono::duration<Rep, Period> delay) noexcept  // NOLINT: implicit on purpose
      : fixed(std::chrono::duration_cast<std::chrono::nanoseconds>(delay)) {}
  /// The delay; with a percentile, the delay until `min_samples` latencies are known.
  std::chrono::nanoseconds fixed = std::chrono::milliseconds(5);
  /// 0: fixed; else the percentile of the stage's recent latencies (see hedge_at_percentile).
  double percentile = 0;
  unsigned min_samples = 0;
};

/// The hedge delay from the stage's own latencies: a copy starts when the attempt has run longer
/// than `p` percent of the stage's recent answers (each attempt's first copy to finish without
/// throwing, kept in a fixed-size, lock-free histogram per stage type, process-wide, in which old
/// samples fade: every 4,096 samples each count halves). Until it holds `min_samples` samples,
/// the delay is `fallback`. The percentile is the upper edge of a bucket: at most 25% above the
/// true one.
constexpr HedgeDelay hedge_at_percentile(double p, std::chrono::nanoseconds fallback = std::chrono::milliseconds(5),
                                         unsigned min_samples = 100) noexcept {
  HedgeDelay delay;
  delay.fixed = fallback;
  delay.percentile = p;
  delay.min_samples = min_samples;
  return delay;
}

struct Hedge {
  /// How long an attempt runs before another starts beside it.
  HedgeDelay after = std::chrono::milliseconds(5);
  /// How many more copies may start (1: at most two at once).
  unsigned max_extra = 1;
};

/// The latencies that hedge_at_percentile reads for stage S (to inspect, or to seed in a test).
template <class S>
detail::LatencyHistogram& hedge_latencies() noexcept {
  return detail::stage_latencies<S>;
}

}  // namespace stageflow
