// SPDX-License-Identifier: BSL-1.0
// The policy protocol: hook order, per-run state, failing stages and runs from hooks, throwing
// hooks, concurrent runs of one runner, constructor and accessors.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/runner.hpp>

#include <barrier>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"

using namespace stageflow;

namespace {

/// A log shared by the copies of a recording policy.
struct Log {
  std::mutex mutex;
  std::vector<std::string> lines;
  void add(std::string line) {
    std::lock_guard lock(mutex);
    lines.push_back(std::move(line));
  }
};

/// Records every hook as "<tag>:<hook>[:<stage>]". Tag is a template parameter so two of them
/// can sit in one runner.
template <char Tag>
struct Recorder {
  std::shared_ptr<Log> log = std::make_shared<Log>();
  std::string tag() const { return std::string(1, Tag); }
  void on_run_start(auto&) const { log->add(tag() + ":run_start"); }
  void before_stage(auto&, auto& stage) const { log->add(tag() + ":before:" + std::string(stage.name)); }
  void after_stage(auto&, auto& stage) const {
    log->add(tag() + ":after:" + std::string(stage.name) + ":" + std::string(to_string(stage.status())));
  }
  void on_stage_error(auto&, auto& stage) const { log->add(tag() + ":error:" + std::string(stage.name)); }
  void on_run_end(auto& run) const { log->add(tag() + ":run_end:" + std::string(to_string(run.status()))); }
};

struct First {
  static constexpr std::string_view name = "first";
  int execute() const { return 1; }
};
struct Second {
  static constexpr std::string_view name = "second";
  using depends_on = after<First>;
  int execute(const auto& ctx) const {
    if (ctx.snapshot().input_text == "fail second") throw std::runtime_error("second broke");
    return *input<First>(ctx) + 1;
  }
};
using Two = Pipeline<First, Second>;

}  // namespace

TEST_CASE("before-hooks run in declaration order, after-hooks in reverse", "[policy]") {
  auto log = std::make_shared<Log>();
  Runner<Recorder<'a'>, Recorder<'b'>> runner(Recorder<'a'>{log}, Recorder<'b'>{log});
  const auto r = runner.run(Two{}, ContextSnapshot{});
  CHECK(r.ok());
  CHECK(log->lines == std::vector<std::string>{
                          "a:run_start", "b:run_start",
                          "a:before:first", "b:before:first", "b:after:first:completed", "a:after:first:completed",
                          "a:before:second", "b:before:second", "b:after:second:completed", "a:after:second:completed",
                          "b:run_end:completed", "a:run_end:completed"});
}

TEST_CASE("a failing stage calls the error hooks in reverse, then the after-hooks", "[policy]") {
  auto log = std::make_shared<Log>();
  Runner<Recorder<'a'>, Recorder<'b'>> runner(Recorder<'a'>{log}, Recorder<'b'>{log});
  const auto r = runner.run(Two{}, ContextSnapshot{.input_text = "fail second"});
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error == "second broke");
  CHECK(log->lines == std::vector<std::string>{
                          "a:run_start", "b:run_start",
                          "a:before:first", "b:before:first", "b:after:first:completed", "a:after:first:completed",
                          "a:before:second", "b:before:second", "b:error:second", "a:error:second",
                          "b:after:second:failed", "a:after:second:failed",
                          "b:run_end:failed", "a:run_end:failed"});
}

namespace {

/// Fails the stage named `target` in its before-hook (or after-hook).
struct Gate {
  std::string target;
  bool in_after = false;
  void before_stage(auto&, auto& stage) const {
    if (!in_after && stage.name == target) stage.fail("gate closed for " + target);
  }
  void after_stage(auto&, auto& stage) const {
    if (in_after && stage.name == target) stage.fail("gate rejected " + target);
  }
};

struct CountsRuns {
  std::shared_ptr<std::atomic<int>> executions = std::make_shared<std::atomic<int>>(0);
};

struct Counted {
  static constexpr std::string_view name = "counted";
  int execute(const auto& ctx) const {
    ++*ctx.snapshot().executions;
    return 7;
  }
};

}  // namespace

TEST_CASE("a before-hook that fails a stage: it never runs, later policies are not reached", "[policy]") {
  auto log = std::make_shared<Log>();
  Runner<Recorder<'a'>, Gate, Recorder<'b'>> runner(Recorder<'a'>{log}, Gate{.target = "counted"},
                                                     Recorder<'b'>{log});
  CountsRuns snapshot;
  const auto r = runner.run(Pipeline<Counted>{}, snapshot);
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error == "gate closed for counted");
  CHECK(r.error_stage == "counted");
  CHECK(*snapshot.executions == 0);
  CHECK(r.output<Counted>() == nullptr);
  // b's before-hook was not reached, so b gets no after-hook; a does.
  CHECK(log->lines == std::vector<std::string>{"a:run_start", "b:run_start", "a:before:counted",
                                               "a:after:counted:failed", "b:run_end:failed", "a:run_end:failed"});
}

TEST_CASE("an after-hook that fails a stage drops its output and fails the run", "[policy]") {
  Runner<Gate> runner(Gate{.target = "counted", .in_after = true});
  CountsRuns snapshot;
  const auto r = runner.run(Pipeline<Counted>{}, snapshot);
  CHECK(*snapshot.executions == 1);
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error == "gate rejected counted");
  CHECK(r.stages[0].status == StageStatus::fail);
  CHECK(r.output<Counted>() == nullptr);
}

namespace {

struct EndsRun {
  std::string when;  // "start", "before", "after"
  bool cancel = false;
  void end(auto& run, std::string why) const {
    if (cancel)
      run.cancel(std::move(why));
    else
      run.fail(std::move(why));
  }
  void on_run_start(auto& run) const {
    if (when == "start") end(run, "ended at start");
  }
  void before_stage(auto& run, auto& stage) const {
    if (when == "before" && stage.name == "second") end(run, "ended before second");
  }
  void after_stage(auto& run, auto& stage) const {
    if (when == "after" && stage.name == "first") end(run, "ended after first");
  }
};

}  // namespace

TEST_CASE("policies can fail or cancel the run at each point", "[policy]") {
  SECTION("fail at run start: no stage runs") {
    const auto r = Runner<EndsRun>(EndsRun{.when = "start"}).run(Two{}, ContextSnapshot{});
    CHECK(r.status == RunStatus::failed);
    CHECK(r.error == "ended at start");
    CHECK(r.stages[0].status == StageStatus::not_run);
  }
  SECTION("cancel after the first stage: partial results") {
    const auto r = Runner<EndsRun>(EndsRun{.when = "after", .cancel = true}).run(Two{}, ContextSnapshot{});
    CHECK(r.status == RunStatus::cancelled);
    CHECK(r.error == "ended after first");
    CHECK(*r.output<First>() == 1);
    CHECK(r.stages[1].status == StageStatus::not_run);
  }
  SECTION("fail in a before-hook: that stage does not start") {
    const auto r = Runner<EndsRun>(EndsRun{.when = "before"}).run(Two{}, ContextSnapshot{});
    CHECK(r.status == RunStatus::failed);
    CHECK(r.error == "ended before second");
    CHECK(r.error_stage.empty());
    CHECK(r.stages[0].status == StageStatus::ok);
    CHECK(r.stages[1].status == StageStatus::not_run);
  }
}

namespace {

struct ThrowsIn {
  std::string hook;
  void on_run_start(auto&) const {
    if (hook == "start") throw std::runtime_error("policy broke at start");
  }
  void before_stage(auto&, auto&) const {
    if (hook == "before") throw std::runtime_error("policy broke before");
  }
  void after_stage(auto&, auto&) const {
    if (hook == "after") throw std::runtime_error("policy broke after");
  }
  void on_run_end(auto&) const {
    if (hook == "end") throw std::logic_error("policy broke at end");
  }
};

}  // namespace

TEST_CASE("a hook that throws fails its stage or the run; nothing escapes run()", "[policy]") {
  for (const std::string hook : {"start", "before", "after", "end"}) {
    CAPTURE(hook);
    Runner<ThrowsIn> runner(ThrowsIn{hook});
    ContextSnapshot snapshot;
    decltype(runner.run(Two{}, snapshot)) r;
    REQUIRE_NOTHROW(r = runner.run(Two{}, snapshot));
    CHECK(r.status == RunStatus::failed);
    CHECK(r.error == "policy broke " + (hook == "start" || hook == "end" ? "at " + hook : hook));
  }
}

namespace {

/// Counts the stages of one run in its run_state and reports the count as a metric.
struct StageCounter {
  struct run_state {
    int stages = 0;
    std::vector<std::string> seen;
  };
  void before_stage(run_state& state, auto&, auto& stage) const {
    ++state.stages;
    state.seen.emplace_back(stage.name);
  }
  void on_run_end(run_state& state, auto& run) const {
    run.record_metric("", "stages_seen", state.stages);
  }
};

/// Both runs wait for each other inside this stage, so they are certainly concurrent.
struct Rendezvous {
  static constexpr std::string_view name = "rendezvous";
  using depends_on = after<First>;
  std::barrier<>* meeting;
  std::string execute(const auto& ctx) const {
    meeting->arrive_and_wait();
    return ctx.snapshot().input_text;
  }
};

}  // namespace

TEST_CASE("one runner serves concurrent runs: each has its own state, outputs and id", "[policy][concurrency][threads]") {
  std::barrier<> meeting(2);
  const Pipeline<First, Rendezvous> pipeline(First{}, Rendezvous{.meeting = &meeting});
  const Runner<StageCounter> runner;
  using Result = decltype(runner.run(pipeline, ContextSnapshot{}));
  Result a, b;
  std::thread ta([&] { a = runner.run(pipeline, ContextSnapshot{.input_text = "run a"}); });
  std::thread tb([&] { b = runner.run(pipeline, ContextSnapshot{.input_text = "run b"}); });
  ta.join();
  tb.join();
  CHECK(a.ok());
  CHECK(b.ok());
  CHECK(*a.output<Rendezvous>() == "run a");
  CHECK(*b.output<Rendezvous>() == "run b");
  CHECK(a.pipeline_run_id != b.pipeline_run_id);
  CHECK(a.metric("", "stages_seen") == 2.0);
  CHECK(b.metric("", "stages_seen") == 2.0);
}

namespace {

struct Seeded {
  int initial = 0;
  struct run_state {
    int value;
  };
  run_state make_run_state() const { return {initial}; }
  void on_run_end(run_state& state, auto& run) const { run.record_metric("", "initial", state.value); }
};

struct ReadsInputs {
  void after_stage(auto& run, auto& stage) const {
    int count = 0;
    stage.for_each_input([&](std::string_view, const auto&) { ++count; });
    run.record_metric(stage.name, "inputs", count);
    int outputs = 0;
    run.for_each_output([&](std::string_view, const auto&) { ++outputs; });
    run.record_metric(stage.name, "outputs", outputs);
  }
};

}  // namespace

TEST_CASE("make_run_state seeds a policy's per-run state", "[policy]") {
  const auto r = Runner<Seeded>(Seeded{.initial = 41}).run(Two{}, ContextSnapshot{});
  CHECK(r.metric("", "initial") == 41.0);
}

TEST_CASE("hooks see the stage's inputs and the run's outputs so far", "[policy]") {
  const auto r = Runner<ReadsInputs>{}.run(Two{}, ContextSnapshot{});
  CHECK(r.metric("first", "inputs") == 0.0);
  CHECK(r.metric("first", "outputs") == 1.0);
  CHECK(r.metric("second", "inputs") == 1.0);
  CHECK(r.metric("second", "outputs") == 2.0);
  CHECK_FALSE(r.metric("second", "nothing").has_value());
}

TEST_CASE("runner construction picks policies by type, copies lvalues, defaults the rest", "[policy]") {
  auto log = std::make_shared<Log>();
  Recorder<'a'> recorder{log};
  Runner<Gate, Recorder<'a'>, Seeded> runner(recorder, Seeded{.initial = 3});
  CHECK(recorder.log == log);  // copied, not moved from
  CHECK(runner.policy<Recorder<'a'>>().log == log);
  CHECK(runner.policy<Seeded>().initial == 3);
  CHECK(runner.policy<Gate>().target.empty());
}

TEST_CASE("a disabled policy's constructor argument is accepted and dropped", "[policy]") {
  Runner<enable_if<false, Seeded>> runner(Seeded{.initial = 3});
  STATIC_REQUIRE(std::is_same_v<decltype(runner), Runner<>>);
  CHECK(runner.run(Two{}, ContextSnapshot{}).metrics.empty());
}

TEST_CASE("the Policy concept", "[policy]") {
  STATIC_REQUIRE(Policy<Recorder<'a'>>);
  STATIC_REQUIRE(Policy<Gate>);
  STATIC_REQUIRE(Policy<StageCounter>);
  STATIC_REQUIRE_FALSE(Policy<int>);
  STATIC_REQUIRE_FALSE(Policy<First>);  // a stage is not a policy
  struct NoHooks {};
  STATIC_REQUIRE_FALSE(Policy<NoHooks>);
  STATIC_REQUIRE(has_run_state_v<StageCounter>);
  STATIC_REQUIRE_FALSE(has_run_state_v<Gate>);
}
