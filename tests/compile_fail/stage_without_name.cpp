// expect-error: a stage needs `static constexpr std::string_view name
#include <stageflow/core/pipeline.hpp>

struct Anonymous {
  int execute() const { return 1; }
};

stageflow::Pipeline<Anonymous> pipeline;
