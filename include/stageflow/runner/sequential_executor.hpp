// SequentialExecutor: runs the stages one after another in the pipeline's topological order.
//
// This is the scheduling seam of the runner: an executor is the only place that decides when and
// where each stage runs. It receives the pipeline type (its compile-time plan: `order`,
// `plan.depends`) and a step, and calls `step(std::integral_constant<std::size_t, I>{})` for
// stage index I. A step returns false when the run must stop (a stage failed or cancelled, a
// policy ended the run, the stop token fired); the executor then starts no further stage.
// An executor must call the step of a stage only after the steps of all its dependencies returned.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace stageflow {

struct SequentialExecutor {
  template <class Pipeline, class Step>
  void execute(Step&& step) const {
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      // && short-circuits: the first step that returns false ends the run.
      (void)(step(std::integral_constant<std::size_t, Pipeline::order[K]>{}) && ...);
    }(std::make_index_sequence<Pipeline::size>{});
  }
};

}  // namespace stageflow
