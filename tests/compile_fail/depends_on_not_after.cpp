// SPDX-License-Identifier: BSL-1.0
// expect-error: `depends_on` must be stageflow::after<...>
// expect-max-errors: 4
#include <stageflow/core/pipeline.hpp>

struct Fetch {
  static constexpr std::string_view name = "fetch";
  int execute() const { return 1; }
};
struct Parse {
  static constexpr std::string_view name = "parse";
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  using depends_on = stageflow::after<Fetch>;
#else
  using depends_on = Fetch;  // should be stageflow::after<Fetch>
#endif
  int execute() const { return 2; }
};

stageflow::Pipeline<Fetch, Parse> pipeline;
