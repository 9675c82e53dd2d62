// expect-error: a stage may read only the outputs of stages it runs after
#include <stageflow/runner/runner.hpp>

struct Left {
  static constexpr std::string_view name = "left";
  int execute() const { return 1; }
};
struct Right {
  static constexpr std::string_view name = "right";
  // Left is not a dependency: in a concurrent run its output may not exist yet.
  int execute(const auto& ctx) const { return *stageflow::input<Left>(ctx) + 1; }
};

struct Snapshot {};

int main() {
  stageflow::Runner<> runner;
  runner.run(stageflow::Pipeline<Left, Right>{}, Snapshot{});
}
