// SPDX-License-Identifier: BSL-1.0
// expect-error: a stage needs `execute(const auto& ctx) const` or `execute() const`
// expect-max-errors: 4
#include <stageflow/runner/runner.hpp>

struct Idle {
  static constexpr std::string_view name = "idle";
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  int execute() const { return 1; }
#else
  int run() const { return 1; }  // not execute
#endif
};

struct Snapshot {};

int main() {
  stageflow::Runner<> runner;
  runner.run(stageflow::Pipeline<Idle>{}, Snapshot{});
}
