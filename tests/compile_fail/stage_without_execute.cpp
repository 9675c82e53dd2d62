// expect-error: a stage needs `execute(const auto& ctx) const` or `execute() const`
#include <stageflow/runner/runner.hpp>

struct Idle {
  static constexpr std::string_view name = "idle";
  int run() const { return 1; }  // not execute
};

struct Snapshot {};

int main() {
  stageflow::Runner<> runner;
  runner.run(stageflow::Pipeline<Idle>{}, Snapshot{});
}
