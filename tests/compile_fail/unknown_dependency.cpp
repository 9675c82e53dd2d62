// SPDX-License-Identifier: BSL-1.0
// expect-error: depends on a stage that is not in this Pipeline
// expect-max-errors: 4
#include <stageflow/core/pipeline.hpp>

struct Fetch {
  static constexpr std::string_view name = "fetch";
  int execute() const { return 1; }
};
struct Parse {
  static constexpr std::string_view name = "parse";
  using depends_on = stageflow::after<Fetch>;
  int execute() const { return 2; }
};

#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
stageflow::Pipeline<Fetch, Parse> pipeline;
#else
stageflow::Pipeline<Parse> pipeline;  // Fetch is missing
#endif
