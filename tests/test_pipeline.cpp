// SPDX-License-Identifier: BSL-1.0
// Pipeline<Stages...>: compile-time DAG plan (the error cases are compile-fail tests).
#include <stageflow/core/pipeline.hpp>

#include "catch2_shim.hpp"

namespace {

struct Source {
  static constexpr std::string_view name = "source";
  int execute() const { return 1; }
};
struct Left {
  static constexpr std::string_view name = "left";
  using depends_on = stageflow::after<Source>;
  int execute() const { return 2; }
};
struct Right {
  static constexpr std::string_view name = "right";
  using depends_on = stageflow::after<Source>;
  int execute() const { return 3; }
};
struct Sink {
  static constexpr std::string_view name = "sink";
  using depends_on = stageflow::after<Left, Right>;
  int execute() const { return 4; }
};
struct Configured {
  static constexpr std::string_view name = "configured";
  int factor = 1;
  int execute() const { return factor; }
};

struct S0 {
  static constexpr std::string_view name = "s0";
  void execute() const {}
};
struct S1 {
  static constexpr std::string_view name = "s1";
  using depends_on = stageflow::after<S0>;
  void execute() const {}
};
struct S2 {
  static constexpr std::string_view name = "s2";
  using depends_on = stageflow::after<S1>;
  void execute() const {}
};
struct S3 {
  static constexpr std::string_view name = "s3";
  using depends_on = stageflow::after<S2, S0>;
  void execute() const {}
};

using Diamond = stageflow::Pipeline<Source, Left, Right, Sink>;
using Reversed = stageflow::Pipeline<Sink, Right, Left, Source>;

}  // namespace

TEST_CASE("a pipeline listed in a valid order runs in that order", "[pipeline]") {
  STATIC_REQUIRE(Diamond::order == std::array<std::size_t, 4>{0, 1, 2, 3});
}

TEST_CASE("a pipeline listed backwards is ordered dependencies first, stably", "[pipeline]") {
  // Source (3), then the ready stages in listing order: Right (1) before Left (2), then Sink (0).
  STATIC_REQUIRE(Reversed::order == std::array<std::size_t, 4>{3, 1, 2, 0});
}

TEST_CASE("runs_after is the transitive dependency relation", "[pipeline]") {
  STATIC_REQUIRE(Diamond::runs_after<Sink, Source>());
  STATIC_REQUIRE(Diamond::runs_after<Sink, Left>());
  STATIC_REQUIRE(Diamond::runs_after<Left, Source>());
  STATIC_REQUIRE_FALSE(Diamond::runs_after<Left, Right>());
  STATIC_REQUIRE_FALSE(Diamond::runs_after<Source, Sink>());
  STATIC_REQUIRE_FALSE(Diamond::runs_after<Source, Source>());
}

TEST_CASE("names, indices and membership", "[pipeline]") {
  STATIC_REQUIRE(Diamond::size == 4);
  STATIC_REQUIRE(Diamond::names[3] == "sink");
  STATIC_REQUIRE(Diamond::index_of<Right>() == 2);
  STATIC_REQUIRE(Diamond::contains<Left>);
  STATIC_REQUIRE_FALSE(Diamond::contains<Configured>);
}

TEST_CASE("a pipeline holds configured stage instances", "[pipeline]") {
  stageflow::Pipeline<Configured> pipeline(Configured{.factor = 7});
  CHECK(pipeline.stage<Configured>().factor == 7);
  CHECK(pipeline.stage_at<0>().execute() == 7);
}

TEST_CASE("an empty pipeline and a single stage are valid", "[pipeline]") {
  STATIC_REQUIRE(stageflow::Pipeline<>::size == 0);
  STATIC_REQUIRE(stageflow::Pipeline<Source>::order == std::array<std::size_t, 1>{0});
}

TEST_CASE("a long chain is ordered at compile time", "[pipeline]") {
  using Chain = stageflow::Pipeline<S3, S2, S1, S0>;
  STATIC_REQUIRE(Chain::order == std::array<std::size_t, 4>{3, 2, 1, 0});
  STATIC_REQUIRE(Chain::runs_after<S3, S0>());
}
