// SPDX-License-Identifier: BSL-1.0
// OptionalPolicy<P>: a policy switched on or off at run time.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/optional_policy.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include "catch2_shim.hpp"

using namespace stageflow;

namespace {

struct Only {
  static constexpr std::string_view name = "only";
  int execute() const { return 1; }
};

struct Tally {
  struct run_state {
    int hooks = 0;
  };
  void on_run_start(run_state& s, auto&) const { ++s.hooks; }
  void before_stage(run_state& s, auto&, auto&) const { ++s.hooks; }
  void after_stage(run_state& s, auto&, auto&) const { ++s.hooks; }
  void on_run_end(run_state& s, auto& run) const { run.record_metric("", "hooks", ++s.hooks); }
};

struct Veto {
  void before_stage(auto&, auto& stage) const { stage.fail("vetoed"); }
};

}  // namespace

TEST_CASE("an enabled OptionalPolicy behaves as the policy, with its run state", "[optional_policy]") {
  Runner<OptionalPolicy<Tally>, OptionalPolicy<Veto>> runner(OptionalPolicy<Tally>(Tally{}), OptionalPolicy<Veto>(Veto{}));
  const auto r = runner.run(Pipeline<Only>{}, ContextSnapshot{});
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error == "vetoed");
  CHECK(r.metric("", "hooks") == 4.0);
  CHECK(runner.policy<OptionalPolicy<Tally>>().enabled());
}

TEST_CASE("a disabled OptionalPolicy does nothing", "[optional_policy]") {
  Runner<OptionalPolicy<Tally>, OptionalPolicy<Veto>> runner;
  const auto r = runner.run(Pipeline<Only>{}, ContextSnapshot{});
  CHECK(r.ok());
  CHECK(r.metrics.empty());
  CHECK_FALSE(runner.policy<OptionalPolicy<Veto>>().enabled());
}

TEST_CASE("an optional sink is a sink only when enabled", "[optional_policy]") {
  CollectingSink sink;
  Runner<OptionalPolicy<CollectingSink>> on{OptionalPolicy<CollectingSink>(sink)};
  Runner<OptionalPolicy<CollectingSink>> off;
  STATIC_REQUIRE(decltype(on)::has_event_sink);
  on.run(Pipeline<Only>{}, ContextSnapshot{});
  off.run(Pipeline<Only>{}, ContextSnapshot{});
  CHECK(sink.size() == 4);
}
