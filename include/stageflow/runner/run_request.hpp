// SPDX-License-Identifier: BSL-1.0
// RunRequest: one run as the engine receives it, built by Runner's run()/async_run() overloads from
// their arguments; and validate(), the only place the rules about what a run may ask for live.
//
// RunOptions is what a caller writes; a RunRequest is that plus how the snapshot was passed (by
// reference, or owned by the run through a std::shared_ptr) and which entry point asked.
#pragma once

#include <stageflow/runner/deadline.hpp>
#include <stageflow/runner/run_options.hpp>

#include <memory>
#include <stop_token>
#include <string_view>
#include <utility>

namespace stageflow {

enum class RunEntry : unsigned char {
  run,        ///< Runner::run: the caller's thread waits for the result
  async_run,  ///< Runner::async_run: an Asio asynchronous operation
};

template <class Snapshot>
struct RunRequest {
  const Snapshot* snapshot = nullptr;
  /// Set when the run owns the snapshot (the shared_ptr overloads): the only kind that may abandon.
  std::shared_ptr<const Snapshot> owner = {};
  std::stop_token stop = {};
  Deadline deadline = {};
  DeadlineMode on_deadline = DeadlineMode::wait;
  std::string_view traceparent = {};
  RunEntry entry = RunEntry::run;

  /// True when the caller may get its result back while stages still run.
  bool abandons() const noexcept { return deadline && on_deadline == DeadlineMode::abandon; }
};

template <class Snapshot>
RunRequest<Snapshot> make_run_request(const Snapshot& snapshot, std::shared_ptr<const Snapshot> owner,
                                      RunOptions options, RunEntry entry = RunEntry::run) {
  return {&snapshot, std::move(owner), std::move(options.stop), Deadline(options.deadline),
          options.on_deadline, options.traceparent, entry};
}

/// Why this request cannot run (the run then fails at once with this text and nothing runs), or
/// empty when it can. `concurrent`: the runner's executor runs stages at the same time;
/// `pipeline_copyable`: the pipeline can be copied into a run that outlives its caller.
template <class Snapshot>
constexpr std::string_view validate(const RunRequest<Snapshot>& request, bool concurrent, bool pipeline_copyable) {
  if (!request.abandons()) return {};
  if (request.entry == RunEntry::async_run)
    return "async_run does not abandon stages: use DeadlineMode::wait (an async stage that honours its stop token "
           "ends the run by its deadline)";
  if (!request.owner)
    return "DeadlineMode::abandon needs the snapshot as std::shared_ptr<const Snapshot>: a run that returns while a "
           "stage still runs must own what that stage reads";
  if (!concurrent)
    return "DeadlineMode::abandon needs a concurrent executor (ParallelExecutor): with SequentialExecutor the stages "
           "run on the calling thread, which cannot return early";
  if (!pipeline_copyable)
    return "DeadlineMode::abandon copies the pipeline into the run, and this pipeline's stages cannot be copied";
  return {};
}

}  // namespace stageflow
