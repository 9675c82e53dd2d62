// SPDX-License-Identifier: BSL-1.0
// The smallest useful stageflow program: two stages, one dependency, one run.
#include <stageflow/stageflow.hpp>

#include <cctype>
#include <iostream>
#include <string>

struct Normalize {
  static constexpr std::string_view name = "normalize";
  std::string execute(const auto& ctx) const {
    std::string text = ctx.snapshot().input_text;
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
};

struct Greet {
  static constexpr std::string_view name = "greet";
  using depends_on = stageflow::after<Normalize>;
  stageflow::StageOutput<std::string> execute(const auto& ctx) const {
    const std::string* text = stageflow::input<Normalize>(ctx);
    if (text->empty()) return stageflow::skip("nothing to greet");
    return "hello, " + *text + "!";
  }
};

int main() {
  stageflow::Pipeline<Normalize, Greet> pipeline;
  stageflow::Runner<> runner;

  const auto result = runner.run(pipeline, stageflow::ContextSnapshot{.input_text = "WORLD"});
  if (!result.ok()) {
    std::cerr << "failed in " << result.error_stage << ": " << result.error << '\n';
    return 1;
  }
  std::cout << *result.output<Greet>() << '\n';
  for (const auto& stage : result.stages)
    std::cout << "  " << stage.name << ": " << stageflow::to_string(stage.status) << '\n';
  return *result.output<Greet>() == "hello, world!" ? 0 : 1;
}
