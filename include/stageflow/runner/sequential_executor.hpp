// SPDX-License-Identifier: BSL-1.0
// SequentialExecutor: runs the stages one after another on the calling thread, in the pipeline's
// topological order (Pipeline::order). The default executor, and free: the chain of continuations
// below is known at compile time and inlines into the runner, so Runner<> pays nothing for the
// protocol of <stageflow/runner/executor.hpp>.
#pragma once

#include <stageflow/runner/executor.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace stageflow {

struct SequentialExecutor {
  static constexpr bool concurrent = false;

  template <class Pipeline, class Steps, class Done>
  void execute(Steps& steps, Done&& done, ExecuteHints = {}) const {
    step_from<Pipeline, 0>(steps, done);
  }

 private:
  // Each stage's continuation starts the next one; a stage that ends the run ends the chain.
  template <class Pipeline, std::size_t K, class Steps, class Done>
  static void step_from(Steps& steps, Done& done) {
    if constexpr (K == Pipeline::size) {
      done();
    } else {
      steps.template start<Pipeline::order[K]>([&](bool proceed) {
        if (proceed)
          step_from<Pipeline, K + 1>(steps, done);
        else
          done();
      });
    }
  }
};

}  // namespace stageflow
