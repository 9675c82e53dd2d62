// expect-error: depend on each other in a cycle
#include <stageflow/core/pipeline.hpp>

struct Ping;
struct Pong {
  static constexpr std::string_view name = "pong";
  using depends_on = stageflow::after<Ping>;
  int execute() const { return 1; }
};
struct Ping {
  static constexpr std::string_view name = "ping";
  using depends_on = stageflow::after<Pong>;
  int execute() const { return 2; }
};

stageflow::Pipeline<Ping, Pong> pipeline;
