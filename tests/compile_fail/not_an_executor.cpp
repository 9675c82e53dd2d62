// SPDX-License-Identifier: BSL-1.0
// expect-error: use_executor<E>: E is not an executor
// expect-max-errors: 4
#include <stageflow/runner/runner.hpp>

struct MyPool {
  static constexpr bool concurrent = false;
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  template <class Pipeline, class Steps, class Done>
  void execute(Steps& steps, Done&& done, stageflow::ExecuteHints = {}) const {
    stageflow::SequentialExecutor{}.execute<Pipeline>(steps, done);
  }
#else
  void run_everything() const {}  // no execute<Pipeline>(steps, done, hints): not an executor
#endif
};

stageflow::Runner<stageflow::use_executor<MyPool>> runner;
