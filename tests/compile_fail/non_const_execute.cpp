// expect-error: a stage's execute must be const
#include <stageflow/runner/runner.hpp>

struct Counter {
  static constexpr std::string_view name = "counter";
  int calls = 0;
  int execute() { return ++calls; }  // mutates the shared stage
};

struct Snapshot {};

int main() {
  stageflow::Runner<> runner;
  runner.run(stageflow::Pipeline<Counter>{}, Snapshot{});
}
