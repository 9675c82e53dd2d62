// expect-error: `depends_on` must be stageflow::after<...>
#include <stageflow/core/pipeline.hpp>

struct Fetch {
  static constexpr std::string_view name = "fetch";
  int execute() const { return 1; }
};
struct Parse {
  static constexpr std::string_view name = "parse";
  using depends_on = Fetch;  // should be stageflow::after<Fetch>
  int execute() const { return 2; }
};

stageflow::Pipeline<Fetch, Parse> pipeline;
