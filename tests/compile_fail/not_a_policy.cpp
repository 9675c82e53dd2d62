// expect-error: a Runner argument is not a policy
#include <stageflow/runner/runner.hpp>

struct Settings {
  int verbosity = 2;  // no hook, no emit: not a policy
};

stageflow::Runner<Settings> runner;
