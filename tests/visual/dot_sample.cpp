// SPDX-License-Identifier: BSL-1.0
// Writes the DOT of a pipeline and of a failed run on it, for tests/visual/render_dot.py to render
// with Graphviz:  dot_sample PIPELINE.dot RUN.dot
#include <stageflow/stageflow.hpp>
#include <stageflow/visual/dot.hpp>

#include <fstream>
#include <iostream>

namespace {

struct Normalize {
  static constexpr std::string_view name = "normalize";
  std::string execute(const auto& ctx) const { return ctx.snapshot().input_text; }
};
struct Enrich {
  static constexpr std::string_view name = "enrich";
  using depends_on = stageflow::after<Normalize>;
  int execute() const { return 1; }
};
struct Route {
  static constexpr std::string_view name = "route \"intent\"";
  using depends_on = stageflow::after<Normalize>;
  stageflow::StageOutput<int> execute() const { return stageflow::fail("router offline"); }
};
struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = stageflow::after<Enrich, Route>;
  int execute() const { return 3; }
};
using Chat = stageflow::Pipeline<Normalize, Enrich, Route, Reply>;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: dot_sample PIPELINE.dot RUN.dot\n";
    return 2;
  }
  std::ofstream pipeline(argv[1]);
  stageflow::to_dot<Chat>(pipeline);
  std::ofstream run(argv[2]);
  stageflow::to_dot(stageflow::Runner<>{}.run(Chat{}, stageflow::ContextSnapshot{.input_text = "hi"}), run);
  return pipeline && run ? 0 : 1;
}
