// SPDX-License-Identifier: BSL-1.0
// expect-error: a Runner argument is not a policy
// expect-max-errors: 4
#include <stageflow/runner/runner.hpp>

struct Settings {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  int verbosity = 2;
  void on_run_start(auto&) const {}
#else
  int verbosity = 2;  // no hook, no emit: not a policy
#endif
};

stageflow::Runner<Settings> runner;
