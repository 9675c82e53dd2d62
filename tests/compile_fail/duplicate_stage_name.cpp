// expect-error: two stages of this Pipeline have the same name
#include <stageflow/core/pipeline.hpp>

struct Parse {
  static constexpr std::string_view name = "parse";
  int execute() const { return 1; }
};
struct ParseAgain {
  static constexpr std::string_view name = "parse";
  int execute() const { return 2; }
};

stageflow::Pipeline<Parse, ParseAgain> pipeline;
