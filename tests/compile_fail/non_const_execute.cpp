// SPDX-License-Identifier: BSL-1.0
// expect-error: a stage's execute must be const
// expect-max-errors: 4
#include <stageflow/runner/runner.hpp>

struct Counter {
  static constexpr std::string_view name = "counter";
  int calls = 0;
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  int execute() const { return calls + 1; }
#else
  int execute() { return ++calls; }  // mutates the shared stage
#endif
};

struct Snapshot {};

int main() {
  stageflow::Runner<> runner;
  runner.run(stageflow::Pipeline<Counter>{}, Snapshot{});
}
