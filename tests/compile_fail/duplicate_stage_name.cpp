// SPDX-License-Identifier: BSL-1.0
// expect-error: two stages of this Pipeline have the same name
// expect-max-errors: 4
#include <stageflow/core/pipeline.hpp>

struct Parse {
  static constexpr std::string_view name = "parse";
  int execute() const { return 1; }
};
struct ParseAgain {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  static constexpr std::string_view name = "parse_again";
  int execute() const { return 2; }
#else
  static constexpr std::string_view name = "parse";
  int execute() const { return 2; }
#endif
};

stageflow::Pipeline<Parse, ParseAgain> pipeline;
