// SPDX-License-Identifier: BSL-1.0
// Runner<>: run semantics on a diamond DAG (every status at every position), outputs, run ids,
// durations, stop tokens.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/optional_policy.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "catch2_shim.hpp"
#include "manual_clock.hpp"

using namespace stageflow;

namespace {

enum class Act { ok, skip, cancel, fail, throw_exception, throw_non_exception };

/// The test's snapshot: what each stage of the diamond does.
struct Script {
  std::array<Act, 4> acts{};
  std::stop_source* stop_from_stage = nullptr;  // a stage that requests stop when set
  std::size_t stopping_stage = 99;
};

template <std::size_t I>
StageOutput<int> act(const Script& script, int value) {
  if (I == script.stopping_stage && script.stop_from_stage) script.stop_from_stage->request_stop();
  switch (script.acts[I]) {
    case Act::ok: return value;
    case Act::skip: return skip("skip " + std::to_string(I));
    case Act::cancel: return cancel("cancel " + std::to_string(I));
    case Act::fail: return fail("fail " + std::to_string(I));
    case Act::throw_exception: throw std::runtime_error("boom " + std::to_string(I));
    case Act::throw_non_exception: throw 42;
  }
  return value;
}

// Values: source 1; left = source + 10; right = source + 100; sink = left + right + 1000,
// each input counted as 0 when absent. So outputs show exactly which inputs a stage saw.
struct Source {
  static constexpr std::string_view name = "source";
  StageOutput<int> execute(const auto& ctx) const { return act<0>(ctx.snapshot(), 1); }
};
struct Left {
  static constexpr std::string_view name = "left";
  using depends_on = after<Source>;
  StageOutput<int> execute(const auto& ctx) const {
    const int* source = input<Source>(ctx);
    return act<1>(ctx.snapshot(), (source ? *source : 0) + 10);
  }
};
struct Right {
  static constexpr std::string_view name = "right";
  using depends_on = after<Source>;
  StageOutput<int> execute(const auto& ctx) const {
    const int* source = input<Source>(ctx);
    return act<2>(ctx.snapshot(), (source ? *source : 0) + 100);
  }
};
struct Sink {
  static constexpr std::string_view name = "sink";
  using depends_on = after<Left, Right>;
  StageOutput<int> execute(const auto& ctx) const {
    const int* left = input<Left>(ctx);
    const int* right = input<Right>(ctx);
    // Sink may also read Source: it runs after it through Left and Right.
    const int* source = input<Source>(ctx);
    (void)source;
    return act<3>(ctx.snapshot(), (left ? *left : 0) + (right ? *right : 0) + 1000);
  }
};

using Diamond = Pipeline<Source, Left, Right, Sink>;

template <class Result>
std::array<StageStatus, 4> statuses(const Result& result) {
  return {result.stages[0].status, result.stages[1].status, result.stages[2].status, result.stages[3].status};
}

constexpr auto ok = StageStatus::ok;
constexpr auto not_run = StageStatus::not_run;

}  // namespace

TEST_CASE("all stages ok: the run completes with every output", "[runner]") {
  Runner<> runner;
  const auto result = runner.run(Diamond{}, Script{});
  CHECK(result.ok());
  CHECK(result.status == RunStatus::completed);
  CHECK(result.error.empty());
  CHECK(result.error_stage.empty());
  CHECK(statuses(result) == std::array{ok, ok, ok, ok});
  CHECK(*result.output<Source>() == 1);
  CHECK(*result.output<Left>() == 11);
  CHECK(*result.output<Right>() == 101);
  CHECK(*result.output<Sink>() == 1112);
  CHECK(result.stages[2].name == "right");
  CHECK(result.report<Sink>().status == ok);
  REQUIRE(result.report("left") != nullptr);
  CHECK(result.report("nope") == nullptr);
}

TEST_CASE("skip at any position: dependents run and see the input as absent", "[runner]") {
  Runner<> runner;
  SECTION("source") {
    const auto r = runner.run(Diamond{}, Script{.acts = {Act::skip, Act::ok, Act::ok, Act::ok}});
    CHECK(r.ok());
    CHECK(statuses(r) == std::array{StageStatus::skip, ok, ok, ok});
    CHECK(r.output<Source>() == nullptr);
    CHECK(r.stages[0].reason == "skip 0");
    CHECK(*r.output<Left>() == 10);
    CHECK(*r.output<Right>() == 100);
    CHECK(*r.output<Sink>() == 1110);
  }
  SECTION("left") {
    const auto r = runner.run(Diamond{}, Script{.acts = {Act::ok, Act::skip, Act::ok, Act::ok}});
    CHECK(r.ok());
    CHECK(statuses(r) == std::array{ok, StageStatus::skip, ok, ok});
    CHECK(*r.output<Sink>() == 1101);
  }
  SECTION("right") {
    const auto r = runner.run(Diamond{}, Script{.acts = {Act::ok, Act::ok, Act::skip, Act::ok}});
    CHECK(r.ok());
    CHECK(*r.output<Sink>() == 1011);
  }
  SECTION("sink") {
    const auto r = runner.run(Diamond{}, Script{.acts = {Act::ok, Act::ok, Act::ok, Act::skip}});
    CHECK(r.ok());
    CHECK(statuses(r) == std::array{ok, ok, ok, StageStatus::skip});
    CHECK(r.output<Sink>() == nullptr);
  }
}

TEST_CASE("cancel at any position: the run stops with the results so far", "[runner]") {
  Runner<> runner;
  const auto c = StageStatus::cancel;
  struct Case {
    std::size_t at;
    std::array<StageStatus, 4> expected;
  };
  const Case cases[] = {{0, {c, not_run, not_run, not_run}},
                        {1, {ok, c, not_run, not_run}},
                        {2, {ok, ok, c, not_run}},
                        {3, {ok, ok, ok, c}}};
  for (const auto& each : cases) {
    CAPTURE(each.at);
    Script script;
    script.acts[each.at] = Act::cancel;
    const auto r = runner.run(Diamond{}, script);
    CHECK(r.status == RunStatus::cancelled);
    CHECK_FALSE(r.ok());
    CHECK(statuses(r) == each.expected);
    CHECK(r.error == "cancel " + std::to_string(each.at));
    CHECK(r.error_stage == Diamond::names[each.at]);
    // Partial results are kept: every stage before the cancelling one has its output.
    CHECK((r.output<Source>() != nullptr) == (each.at > 0));
    CHECK((r.output<Left>() != nullptr) == (each.at > 1));
    CHECK((r.output<Right>() != nullptr) == (each.at > 2));
    CHECK(r.output<Sink>() == nullptr);
  }
}

TEST_CASE("fail, throw or throw a non-exception at any position fails the run naming the stage", "[runner]") {
  Runner<> runner;
  const auto f = StageStatus::fail;
  for (const Act how : {Act::fail, Act::throw_exception, Act::throw_non_exception}) {
    for (std::size_t at = 0; at < 4; ++at) {
      CAPTURE(static_cast<int>(how), at);
      Script script;
      script.acts[at] = how;
      const auto r = runner.run(Diamond{}, script);
      CHECK(r.status == RunStatus::failed);
      CHECK(r.error_stage == Diamond::names[at]);
      const std::string expected = how == Act::fail               ? "fail " + std::to_string(at)
                                   : how == Act::throw_exception ? "boom " + std::to_string(at)
                                                                 : "unknown exception";
      CHECK(r.error == expected);
      CHECK(r.stages[at].status == f);
      CHECK(r.stages[at].reason == expected);
      for (std::size_t later = at + 1; later < 4; ++later) CHECK(r.stages[later].status == not_run);
      for (std::size_t earlier = 0; earlier < at; ++earlier) CHECK(r.stages[earlier].status == ok);
    }
  }
}

TEST_CASE("a skipped stage followed by a failing one: the failure is the run's story", "[runner]") {
  Runner<> runner;
  const auto r = runner.run(Diamond{}, Script{.acts = {Act::ok, Act::skip, Act::fail, Act::ok}});
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error_stage == "right");
  CHECK(statuses(r) == std::array{ok, StageStatus::skip, StageStatus::fail, not_run});
}

TEST_CASE("a stop token that already fired cancels the run before any stage", "[runner][stop]") {
  Runner<> runner;
  std::stop_source source;
  source.request_stop();
  const auto r = runner.run(Diamond{}, Script{}, source.get_token());
  CHECK(r.status == RunStatus::cancelled);
  CHECK(r.error == "stop requested");
  CHECK(r.error_stage.empty());
  CHECK(statuses(r) == std::array{not_run, not_run, not_run, not_run});
}

TEST_CASE("a stop requested during a stage is honoured before the next stage", "[runner][stop]") {
  Runner<> runner;
  std::stop_source source;
  Script script{.stop_from_stage = &source, .stopping_stage = 1};
  const auto r = runner.run(Diamond{}, script, source.get_token());
  CHECK(r.status == RunStatus::cancelled);
  CHECK(r.error == "stop requested");
  CHECK(statuses(r) == std::array{ok, ok, not_run, not_run});
  CHECK(*r.output<Left>() == 11);  // the stage that was running finished normally
}

namespace {

struct SeesStop {
  static constexpr std::string_view name = "sees_stop";
  bool execute(const auto& ctx) const { return ctx.stop_requested(); }
};

}  // namespace

TEST_CASE("a stage sees the run's stop token", "[runner][stop]") {
  std::stop_source source;
  const auto r = Runner<>{}.run(Pipeline<SeesStop>{}, Script{}, source.get_token());
  CHECK(*r.output<SeesStop>() == false);
}

namespace {

struct ReadsRunId {
  static constexpr std::string_view name = "reads_run_id";
  boost::uuids::uuid execute(const auto& ctx) const { return ctx.pipeline_run_id(); }
};

}  // namespace

TEST_CASE("the run id comes from the snapshot, or a fresh UUIDv7", "[runner]") {
  Runner<> runner;
  SECTION("snapshot with an id") {
    ContextSnapshot snapshot{.run = RunIdentity::generate()};
    const auto r = runner.run(Pipeline<ReadsRunId>{}, snapshot);
    CHECK(r.pipeline_run_id == snapshot.run.pipeline_run_id);
    CHECK(*r.output<ReadsRunId>() == snapshot.run.pipeline_run_id);
  }
  SECTION("snapshot without one (nil), and a type that has none") {
    const auto a = runner.run(Pipeline<ReadsRunId>{}, ContextSnapshot{});
    const auto b = runner.run(Pipeline<ReadsRunId>{}, Script{});
    CHECK(helpers::is_uuid7(a.pipeline_run_id));
    CHECK(helpers::is_uuid7(b.pipeline_run_id));
    CHECK(a.pipeline_run_id != b.pipeline_run_id);
    CHECK(*a.output<ReadsRunId>() == a.pipeline_run_id);
  }
}

namespace {

using stageflow::testing::SteppingClock;

struct Nothing {
  static constexpr std::string_view name = "nothing";
  void execute() const {}
};
struct AlsoNothing {
  static constexpr std::string_view name = "also_nothing";
  using depends_on = after<Nothing>;
  StageOutput<void> execute() const { return StageOutput<void>::ok(); }
};

}  // namespace

struct Watcher {
  void after_stage(auto&, auto&) const {}
};
/// Hooks that take time: each reads the runner's clock, which moves it on by a tick.
struct SlowHooks {
  void before_stage(auto&, auto&) const { (void)SteppingClock::now(); }
  void after_stage(auto&, auto&) const { (void)SteppingClock::now(); }
};
/// The same hooks, declared light: stages may share readings, hook time counts in the next stage.
struct LightHooks : SlowHooks {
  static constexpr bool light_hooks = true;
};
struct Counter {
  static constexpr bool light_hooks = true;
  void after_stage(auto&, auto&) const {}
};
struct NotLight {
  static constexpr bool light_hooks = false;
  void after_stage(auto&, auto&) const {}
};
/// The runner's clock readings in one run of two stages.
template <class R>
std::int64_t readings(const R& runner) {
  const auto before = SteppingClock::ticks.load();
  const auto r = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{});
  CHECK(r.ok());
  return SteppingClock::ticks.load() - before;
}

TEST_CASE("durations come from the runner's clock and cover execute", "[runner][clock]") {
  SECTION("without policies one reading ends a stage and starts the next: N+1 readings") {
    Runner<use_clock<SteppingClock>> runner;
    STATIC_REQUIRE(decltype(runner)::chains_clock_readings);
    const auto r = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{});
    CHECK(r.stages[0].duration == std::chrono::milliseconds(1));
    CHECK(r.stages[1].duration == std::chrono::milliseconds(1));
    CHECK(r.duration == std::chrono::milliseconds(2));
  }
  SECTION("with policies each stage is timed on its own, hooks excluded") {
    Runner<use_clock<SteppingClock>, Watcher> runner;
    STATIC_REQUIRE_FALSE(decltype(runner)::chains_clock_readings);
    const auto r = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{});
    CHECK(r.stages[0].duration == std::chrono::milliseconds(1));
    CHECK(r.stages[1].duration == std::chrono::milliseconds(1));
    // run start, two per stage, run end: five ticks after the first reading.
    CHECK(r.duration == std::chrono::milliseconds(5));
  }
  SECTION("hooks that take time count in no stage's duration") {
    Runner<use_clock<SteppingClock>, SlowHooks> runner;
    STATIC_REQUIRE_FALSE(decltype(runner)::chains_clock_readings);
    const auto r = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{});
    CHECK(r.stages[0].duration == std::chrono::milliseconds(1));
    CHECK(r.stages[1].duration == std::chrono::milliseconds(1));
    CHECK(readings(runner) == 6 + 4);  // 2N+2, and the hooks' four
  }
  SECTION("with light policies only, readings are chained as without policies") {
    STATIC_REQUIRE(light_hooks_v<Counter>);
    STATIC_REQUIRE_FALSE(light_hooks_v<NotLight>);
    STATIC_REQUIRE_FALSE(light_hooks_v<Watcher>);
    CHECK(readings(Runner<use_clock<SteppingClock>>{}) == 3);  // N+1
    CHECK(readings(Runner<use_clock<SteppingClock>, Counter>{}) == 3);
    CHECK(readings(Runner<use_clock<SteppingClock>, Counter, OptionalPolicy<Counter>>{}) == 3);
    CHECK(readings(Runner<use_clock<SteppingClock>, Counter, NotLight>{}) == 6);  // one heavy policy: 2N+2
    CHECK(readings(Runner<use_clock<SteppingClock>, Watcher>{}) == 6);
    CHECK(readings(Runner<use_clock<SteppingClock>, OptionalPolicy<Watcher>>{}) == 6);
    // Concurrent stages never share a reading, light or not.
    STATIC_REQUIRE_FALSE(Runner<use_clock<SteppingClock>, use_executor<ParallelExecutor>, Counter>::chains_clock_readings);
  }
  SECTION("light hooks' time counts in the next stage's duration, execute's in its own") {
    Runner<use_clock<SteppingClock>, LightHooks> runner;
    STATIC_REQUIRE(decltype(runner)::chains_clock_readings);
    const auto r = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{});
    // run start, before(0) tick, stage 0 ends (2 ms); after(0), before(1) ticks, stage 1 ends (3 ms).
    CHECK(r.stages[0].duration == std::chrono::milliseconds(2));
    CHECK(r.stages[1].duration == std::chrono::milliseconds(3));
    CHECK(r.duration == std::chrono::milliseconds(5));  // to the last stage's end: after(1) not in it
  }
}

TEST_CASE("no_clock: no timing at all", "[runner][clock]") {
  Runner<use_clock<no_clock>> runner;
  const auto r = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{});
  CHECK(r.ok());
  CHECK(r.stages[0].duration.count() == 0);
  CHECK(r.duration.count() == 0);
}

TEST_CASE("void stages have a std::monostate output when they ran", "[runner]") {
  const auto r = Runner<>{}.run(Pipeline<Nothing, AlsoNothing>{}, Script{});
  STATIC_REQUIRE(std::is_same_v<std::remove_cvref_t<decltype(*r.output<Nothing>())>, std::monostate>);
  CHECK(r.output<Nothing>() != nullptr);
  CHECK(r.output<AlsoNothing>() != nullptr);
}

namespace {

struct Multiply {
  static constexpr std::string_view name = "multiply";
  int factor = 2;
  int execute(const auto& ctx) const { return factor * static_cast<int>(ctx.snapshot().input_text.size()); }
};

struct MoveOnlyOutput {
  static constexpr std::string_view name = "move_only";
  std::unique_ptr<int> execute() const { return std::make_unique<int>(5); }
};

}  // namespace

TEST_CASE("stages with configuration and move-only outputs", "[runner]") {
  const Pipeline<Multiply, MoveOnlyOutput> pipeline(Multiply{.factor = 3}, MoveOnlyOutput{});
  const auto r = Runner<>{}.run(pipeline, ContextSnapshot{.input_text = "four"});
  CHECK(*r.output<Multiply>() == 12);
  CHECK(**r.output<MoveOnlyOutput>() == 5);
}

TEST_CASE("an empty pipeline completes", "[runner]") {
  const auto r = Runner<>{}.run(Pipeline<>{}, Script{});
  CHECK(r.ok());
}

namespace {
template <class R, class P, class S>
concept takes_braces_as_options = requires(const R& runner, const P& pipeline, const S& snapshot) {
  runner.run(pipeline, snapshot, {});
};
}  // namespace

TEST_CASE("run(pipeline, snapshot, {}) means RunOptions: the overload set is unambiguous (issue 21)") {
  using P = Pipeline<Nothing, AlsoNothing>;
  STATIC_REQUIRE(takes_braces_as_options<Runner<>, P, Script>);
  STATIC_REQUIRE(takes_braces_as_options<Runner<use_executor<ParallelExecutor>>, P, Script>);
  const Runner<> runner;
  CHECK(runner.run(P{}, Script{}, {}).ok());
  std::stop_source stop;
  stop.request_stop();
  // A stop token and RunOptions{.stop} still mean the same.
  CHECK(runner.run(P{}, Script{}, stop.get_token()).status == RunStatus::cancelled);
  CHECK(runner.run(P{}, Script{}, RunOptions{.stop = stop.get_token()}).status == RunStatus::cancelled);
  CHECK(runner.run(P{}, std::make_shared<const Script>(), {}).ok());
}

namespace {
/// An executor that runs the stages as SequentialExecutor does, then takes 600 ms before done():
/// the time between a run's last stage and its end, stretched. (The margins are wide because the
/// two trivial stages must finish inside the deadline even under ThreadSanitizer on a loaded CI.)
struct SlowToFinish {
  static constexpr bool concurrent = false;
  template <class Pipeline, class Steps, class Done>
  void execute(Steps& steps, Done&& done, ExecuteHints = {}) const {
    SequentialExecutor{}.execute<Pipeline>(steps, [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      done();
    });
  }
};
}  // namespace

TEST_CASE("a deadline that passes after the last stage finished does not time the run out (issue 25, item 16)") {
  const Runner<use_executor<SlowToFinish>> runner;
  const auto result = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{},
                                 RunOptions{.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300)});
  CHECK(result.status == RunStatus::completed);
  CHECK(result.error.empty());
  CHECK(result.report<AlsoNothing>().status == StageStatus::ok);

  // A deadline that passes before the last stage, with the run still going, times it out.
  const auto late = runner.run(Pipeline<Nothing, AlsoNothing>{}, Script{},
                               RunOptions{.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1)});
  CHECK(late.status == RunStatus::timed_out);
  CHECK(late.report<Nothing>().status == StageStatus::not_run);
}
