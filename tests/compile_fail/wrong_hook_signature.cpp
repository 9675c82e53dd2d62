// SPDX-License-Identifier: BSL-1.0
// expect-error: this policy declares a hook the runner cannot call
// expect-max-errors: 4
#include <stageflow/runner/runner.hpp>

struct Stage {
  static constexpr std::string_view name = "stage";
  int execute() const { return 1; }
};

struct Audit {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  void before_stage(auto&, auto&) const {}
#else
  void before_stage(std::string_view stage_name) const { (void)stage_name; }  // hooks take (run, stage)
#endif
};

struct Snapshot {};

int main() {
  stageflow::Runner<Audit> runner;
  runner.run(stageflow::Pipeline<Stage>{}, Snapshot{});
}
