// SPDX-License-Identifier: BSL-1.0
// expect-error: a stage needs `static constexpr std::string_view name
// expect-max-errors: 4
#include <stageflow/core/pipeline.hpp>

#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
struct Anonymous {
  static constexpr std::string_view name = "anonymous";
#else
struct Anonymous {
#endif
  int execute() const { return 1; }
};

stageflow::Pipeline<Anonymous> pipeline;
