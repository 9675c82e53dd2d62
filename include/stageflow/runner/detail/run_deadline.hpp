// SPDX-License-Identifier: BSL-1.0
// What happens at a concurrent run's deadline when its stages have not all finished: under
// DeadlineMode::wait the caller waits for the running stages only; under DeadlineMode::abandon it
// leaves them behind. Both need the frame on the heap (run_engine.hpp's run_concurrent).
#pragma once

#include <stageflow/core/run_result.hpp>
#include <stageflow/runner/detail/run_frame.hpp>
#include <stageflow/runner/hooks.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <type_traits>
#include <utility>

namespace stageflow::detail {

/// DeadlineMode::wait, past the deadline: waits for the stages that are running (they were asked
/// to stop), not for ones that have not started: once none runs, the run is sealed (no stage
/// starts any more, even if its executor runs the task later) and the caller goes on.
template <class F>
void wait_past_deadline(F& frame) {
  frame.stops.fire_deadline();  // the watchdog may not have yet
  if (!frame.deadline_passed()) {  // every stage finished first: done() is on its way
    std::unique_lock lock(frame.completion.mutex);
    frame.completion.cv.wait(lock, [&] { return frame.completion.done; });
    return;
  }
  for (;;) {
    {
      std::unique_lock lock(frame.completion.mutex);
      if (frame.completion.cv.wait_for(lock, std::chrono::milliseconds(1), [&] { return frame.completion.done; }))
        return;
    }
    std::lock_guard lock(frame.core.mutex);
    bool running = false;
    for (const bool r : frame.abandonment.running) running = running || r;
    if (!running) {
      frame.abandonment.abandoned = true;
      return;
    }
  }
}

/// The deadline passed with stages still running: return what finished, leave the rest behind.
/// Outputs a running stage may still read are copied (or left out when they cannot be copied);
/// the others are moved.
template <class Hooks, class F>
RunResult<typename F::pipeline_type, typename F::snapshot_type> abandon_run(F& frame) {
  using Pipeline = typename F::pipeline_type;
  auto& core = frame.core;
  std::array<bool, Pipeline::size> running{};
  {
    std::lock_guard lock(core.mutex);
    frame.abandonment.abandoned = true;
    running = frame.abandonment.running;
  }
  frame.stops.fire_deadline();
  core.end(RunStatus::timed_out, "the run's deadline passed; stages still running were abandoned");
  const auto end = F::clock::now();
  core.run_ended_at(end);

  // The run-end hooks see the frame as the caller leaves it (outputs still in place); their
  // metrics and a failure they report reach the result.
  typename Hooks::no_stage_states none;
  Hooks::template call<hooks::on_run_end>(frame, none, 0);

  RunResult<Pipeline, typename F::snapshot_type> out;
  {
    std::lock_guard lock(core.mutex);
    out.status = frame.result.status;
    out.error = frame.result.error;
    out.error_stage = frame.result.error_stage;
    out.metrics = frame.result.metrics;
  }
  out.pipeline_run_id = frame.result.pipeline_run_id;
  out.duration = frame.result.duration;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if (running[I]) {
            out.stages[I] = {.name = Pipeline::names[I], .status = StageStatus::timed_out, .reason = "abandoned at the run's deadline"};
            return;
          }
          out.stages[I] = frame.result.stages[I];
          auto& slot = std::get<I>(frame.result.outputs);
          if (!slot) return;
          bool still_read = false;
          for (std::size_t j = 0; j < Pipeline::size; ++j)
            if (running[j] && Pipeline::plan.ancestor[j][I]) still_read = true;
          using Output = typename std::remove_cvref_t<decltype(slot)>::value_type;
          if (!still_read)
            std::get<I>(out.outputs).emplace(std::move(*slot));
          else if constexpr (std::is_copy_constructible_v<Output>)
            std::get<I>(out.outputs).emplace(*slot);
        }(),
        ...);
  }(std::make_index_sequence<Pipeline::size>{});

  if constexpr (F::core_type::has_event_sink)
    core.send_outcome(outcome_event(out.status), core.no_stage, to_string(out.status), out.error, core.started,
                      end, {{"error_stage", out.error_stage}, {"abandoned", true}});
  return out;
}

}  // namespace stageflow::detail
