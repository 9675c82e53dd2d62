// SPDX-License-Identifier: BSL-1.0
// expect-error: a stage may read only the outputs of stages it runs after
// expect-max-errors: 4
#include <stageflow/runner/runner.hpp>

struct Left {
  static constexpr std::string_view name = "left";
  int execute() const { return 1; }
};
struct Right {
  static constexpr std::string_view name = "right";
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  using depends_on = stageflow::after<Left>;
#else
  // Left is not a dependency: in a concurrent run its output may not exist yet.
#endif
  int execute(const auto& ctx) const { return *stageflow::input<Left>(ctx) + 1; }
};

struct Snapshot {};

int main() {
  stageflow::Runner<> runner;
  runner.run(stageflow::Pipeline<Left, Right>{}, Snapshot{});
}
