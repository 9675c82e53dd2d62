// SPDX-License-Identifier: BSL-1.0
// to_dot: a pipeline type's DAG, and one run on it, in Graphviz DOT. Rendering the text with
// Graphviz itself is tests/visual/render_dot.py's part (it runs tests/visual/dot_sample.cpp).
#include <stageflow/stageflow.hpp>
#include <stageflow/visual/dot.hpp>

#include <sstream>
#include <string>

#include "catch2_shim.hpp"

namespace {

struct Fetch {
  static constexpr std::string_view name = "fetch";
  int execute() const { return 1; }
};
struct Profile {
  static constexpr std::string_view name = "profile";
  using depends_on = stageflow::after<Fetch>;
  stageflow::StageOutput<int> execute(const auto& ctx) const {
    if (ctx.snapshot().input_text == "fail") return stageflow::fail("profile service down");
    return 2;
  }
};
struct History {
  static constexpr std::string_view name = "say \"history\"\\log";   // a name DOT must escape
  using depends_on = stageflow::after<Fetch>;
  stageflow::StageOutput<int> execute() const { return stageflow::skip("no history"); }
};
struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = stageflow::after<Profile, History>;
  int execute() const { return 4; }
};
using Chat = stageflow::Pipeline<Fetch, Profile, History, Reply>;

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("to_dot draws every stage once and every dependency as one edge", "[dot]") {
  const std::string dot = stageflow::to_dot<Chat>();
  CHECK(dot.starts_with("digraph \"pipeline\" {\n"));
  CHECK(dot.ends_with("}\n"));
  CHECK(count(dot, "rankdir=LR;") == 1);
  CHECK(count(dot, "  s0 [label=\"fetch\"];\n") == 1);
  CHECK(count(dot, "  s1 [label=\"profile\"];\n") == 1);
  CHECK(count(dot, "  s2 [label=\"say \\\"history\\\"\\\\log\"];\n") == 1);   // quotes and backslash escaped
  CHECK(count(dot, "  s3 [label=\"reply\"];\n") == 1);
  // Edges go from a stage to its dependents: exactly the four of the diamond.
  CHECK(count(dot, " -> ") == 4);
  for (const char* edge : {"  s0 -> s1;\n", "  s0 -> s2;\n", "  s1 -> s3;\n", "  s2 -> s3;\n"}) {
    INFO(edge);
    CHECK(count(dot, edge) == 1);
  }
  CHECK(count(dot, "s3 -> ") == 0);   // the sink depends on others, nothing on it
}

TEST_CASE("to_dot writes to a stream what it returns as a string; options change the layout", "[dot]") {
  std::ostringstream out;
  stageflow::to_dot<Chat>(out);
  CHECK(out.str() == stageflow::to_dot<Chat>());
  const std::string top_down = stageflow::to_dot<Chat>({.graph_name = "chat \"v2\"", .left_to_right = false});
  CHECK(top_down.starts_with("digraph \"chat \\\"v2\\\"\" {\n"));
  CHECK(count(top_down, "rankdir") == 0);
}

TEST_CASE("to_dot of a run colours each stage by its status and labels it with its duration", "[dot]") {
  const stageflow::Runner<> runner;
  SECTION("a completed run") {
    const auto result = runner.run(Chat{}, stageflow::ContextSnapshot{.input_text = "hello"});
    REQUIRE(result.ok());
    const std::string dot = stageflow::to_dot(result);
    CHECK(count(dot, "label=\"run completed in ") == 1);
    CHECK(count(dot, "s0 [label=\"fetch\\ncompleted, ") == 1);
    CHECK(count(dot, "fillcolor=\"#b7e4c7\"") == 3);                  // fetch, profile, reply
    CHECK(count(dot, "\\nskipped, ") == 1);
    CHECK(count(dot, "fillcolor=\"#e9ecef\", tooltip=\"no history\"") == 1);
    CHECK(count(dot, " -> ") == 4);
    std::ostringstream out;
    stageflow::to_dot(result, out);
    CHECK(out.str() == dot);
  }
  SECTION("a failed run: the failing stage red with its reason, the stage after it not run") {
    const auto result = runner.run(Chat{}, stageflow::ContextSnapshot{.input_text = "fail"});
    REQUIRE(result.status == stageflow::RunStatus::failed);
    const std::string dot = stageflow::to_dot(result);
    CHECK(count(dot, "label=\"run failed in ") == 1);
    CHECK(count(dot, "(at profile)\";") == 1);
    CHECK(count(dot, "s1 [label=\"profile\\nfailed, ") == 1);
    CHECK(count(dot, "fillcolor=\"#f4a6a6\", tooltip=\"profile service down\"") == 1);
    CHECK(count(dot, "s3 [label=\"reply\\nnot_run\", fillcolor=\"#ffffff\", style=\"rounded,dashed\"];") == 1);
  }
}

TEST_CASE("durations read as a person would write them", "[dot]") {
  using namespace std::chrono_literals;
  CHECK(stageflow::detail::dot_duration(0ns) == "0 ns");
  CHECK(stageflow::detail::dot_duration(950ns) == "950 ns");
  CHECK(stageflow::detail::dot_duration(48'211ns) == "48.2 us");
  CHECK(stageflow::detail::dot_duration(1'250'000ns) == "1.25 ms");
  CHECK(stageflow::detail::dot_duration(2s) == "2 s");
}
