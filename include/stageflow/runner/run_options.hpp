// SPDX-License-Identifier: BSL-1.0
// RunOptions: how one run may be stopped, and by when it must answer.
//
//   auto result = runner.run(pipeline, snapshot, stageflow::RunOptions{
//       .stop = request.stop_token(),                                        // the caller gives up
//       .deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50)});
//   if (result.status == stageflow::RunStatus::timed_out) reply_with_fallback();
//
// Whatever ends a run early (a stage failing or cancelling, a policy ending it, `stop`, the
// deadline) starts no further stage and asks the running ones to stop: `ctx.stop_requested()`
// becomes true. Stages are never interrupted; they check the token and return.
//
// At the deadline, DeadlineMode::wait (the default) lets `run()` return once every running stage
// has returned; a stage its executor has not started by then never starts (even on an executor that
// holds its task without running it, such as a stopped io_context), so a deadline ends every run.
// Without a deadline a run waits for its executor as long as that takes. DeadlineMode::abandon returns by the deadline even if a stage ignores the request:
// the late stage keeps running on its executor thread, its output is discarded, and nothing it does
// reaches the RunResult. That is only safe when the run owns everything the stage can still touch,
// so abandon needs the snapshot as std::shared_ptr<const Snapshot> and a concurrent executor
// (ParallelExecutor); the runner copies the pipeline and the policies into the run. Passing abandon
// with a snapshot by reference fails the run at once, saying why.
//
// `traceparent` makes the run a span of the caller's trace (W3C Trace Context, see
// <stageflow/core/trace_context.hpp>): its events carry that trace id, the run's span has the
// caller's span as parent, and each stage is a child span of the run. Without it the snapshot's
// traceparent is used (a `traceparent()` member, or ContextSnapshot's metadata["traceparent"]);
// without either, or when the text is malformed, the run starts a new trace.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string_view>

namespace stageflow {

enum class DeadlineMode : unsigned char {
  wait,     ///< return when the running stages have returned (they were asked to stop)
  abandon,  ///< return by the deadline; late stages finish on their own, their outputs discarded
};

struct RunOptions {
  /// The caller's stop request: stops the run as a cancellation ("stop requested").
  std::stop_token stop = {};
  /// When the run must end: no stage starts after it, running stages are asked to stop, and the
  /// run ends timed_out (unless every stage had already finished).
  std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt;
  DeadlineMode on_deadline = DeadlineMode::wait;
  /// The caller's W3C `traceparent` header value; read when the run starts (it need not outlive
  /// run()). Empty: the snapshot's, else a new trace. Malformed: a new trace.
  std::string_view traceparent = {};
};

}  // namespace stageflow
