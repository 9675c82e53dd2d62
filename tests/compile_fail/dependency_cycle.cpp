// SPDX-License-Identifier: BSL-1.0
// expect-error: depend on each other in a cycle
// expect-max-errors: 4
#include <stageflow/core/pipeline.hpp>

struct Ping;
struct Pong {
  static constexpr std::string_view name = "pong";
  using depends_on = stageflow::after<Ping>;
  int execute() const { return 1; }
};
struct Ping {
  static constexpr std::string_view name = "ping";
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  // no dependency: no cycle
#else
  using depends_on = stageflow::after<Pong>;
#endif
  int execute() const { return 2; }
};

stageflow::Pipeline<Ping, Pong> pipeline;
