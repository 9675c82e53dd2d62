// SPDX-License-Identifier: BSL-1.0
// CircuitBreakers: each transition on an injected clock (no sleeping), what a rejected stage looks
// like (never executed, reason "circuit open", the run fails), the ratio rule, sharing between
// copies and runners, and the policy under ParallelExecutor (with every shipped policy, from four
// threads: TSan runs this program whole) and async_run.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/hardening/context_size_interceptor.hpp>
#include <stageflow/hardening/immutability_interceptor.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/resilience/circuit_breakers.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/retry_clock.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"
#include "manual_clock.hpp"

using namespace std::chrono_literals;
using stageflow::CircuitState;
using stageflow::ContextSnapshot;
using stageflow::RunStatus;
using stageflow::StageStatus;
using Clock = stageflow::testing::ManualSteadyClock;
using Breakers = stageflow::BasicCircuitBreakers<Clock>;
namespace pl = stageflow::pipeline;
namespace asio = boost::asio;

namespace {

/// The input says what the service does: "fail" (fail()), "throw", "skip", "cancel", else ok.
/// Counts its executions, so a test can see that a rejected stage never ran.
struct Service {
  static constexpr std::string_view name = "service";
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  stageflow::StageOutput<std::string> execute(const auto& ctx) const {
    calls->fetch_add(1);
    const std::string& input = ctx.snapshot().input_text;
    if (input == "fail") return stageflow::fail("the service said 503");
    if (input == "throw") throw std::runtime_error("connection refused");
    if (input == "skip") return stageflow::skip("nothing to ask");
    if (input == "cancel") return stageflow::cancel("the caller went away");
    return "answer to " + input;
  }
};
struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = stageflow::after<Service>;
  std::string execute(const auto& ctx) const {
    const std::string* answer = stageflow::input<Service>(ctx);
    return answer ? *answer : "no answer";
  }
};
using Chat = stageflow::Pipeline<Service, Reply>;

ContextSnapshot says(std::string input) { return ContextSnapshot{.input_text = std::move(input)}; }

struct Fixture {
  Clock clock;
  stageflow::CollectingSink sink;
  Chat chat;
  int calls() const { return chat.stage_at<0>().calls->load(); }
};

}  // namespace

TEST_CASE("consecutive failures open the breaker; an open breaker fails the stage without running it") {
  Fixture f;
  const Breakers breakers({.failure_threshold = 3, .open_for = 5s, .half_open_probes = 1}, f.clock);
  const stageflow::Runner<stageflow::CollectingSink, Breakers> runner(f.sink, breakers);

  runner.run(f.chat, says("fail"));
  runner.run(f.chat, says("throw"));  // a thrown exception is a failure too
  runner.run(f.chat, says("ok"));     // a success resets the count
  runner.run(f.chat, says("fail"));
  runner.run(f.chat, says("fail"));
  CHECK(breakers.state("service") == CircuitState::closed);
  CHECK(f.sink.count("circuit.opened") == 0);
  const auto third = runner.run(f.chat, says("fail"));
  CHECK(third.report<Service>().reason == "the service said 503");  // the failure that opened it keeps its reason
  CHECK(breakers.state("service") == CircuitState::open);
  CHECK(breakers.state("reply") == CircuitState::closed);
  CHECK(breakers.state("never heard of") == CircuitState::closed);

  const auto opened = f.sink.events();
  const auto event = std::find_if(opened.begin(), opened.end(), [](const auto& e) { return e.type == "circuit.opened"; });
  REQUIRE(event != opened.end());
  CHECK(event->stage == "service");
  CHECK(event->text("from") == "closed");
  CHECK(event->number("failures") == 3.0);
  CHECK(event->number("open_for_ns") == 5e9);

  const int before = f.calls();
  const auto rejected = runner.run(f.chat, says("ok"));  // the service would answer: it is not asked
  CHECK(f.calls() == before);
  CHECK(rejected.status == RunStatus::failed);
  CHECK(rejected.report<Service>().status == StageStatus::fail);
  CHECK(rejected.report<Service>().reason == stageflow::circuit_open_reason);
  CHECK(rejected.report<Service>().reason == "circuit open");
  CHECK(rejected.error_stage == "service");
  CHECK(rejected.error == "circuit open");
  CHECK(rejected.report<Reply>().status == StageStatus::not_run);
  CHECK(rejected.output<Service>() == nullptr);

  f.clock.advance(5s - 1ns);  // not yet
  CHECK_FALSE(runner.run(f.chat, says("ok")).ok());
  CHECK(f.calls() == before);
  CHECK(breakers.state("service") == CircuitState::open);
  CHECK(f.sink.count("circuit.opened") == 1);  // rejections open nothing again
}

TEST_CASE("after open_for probes try the stage: all succeed and it closes, one fails and it opens again") {
  Fixture f;
  const Breakers breakers({.failure_threshold = 1, .open_for = 2s, .half_open_probes = 2}, f.clock);
  const stageflow::Runner<stageflow::CollectingSink, Breakers> runner(f.sink, breakers);

  runner.run(f.chat, says("fail"));
  REQUIRE(breakers.state("service") == CircuitState::open);
  f.clock.advance(2s);
  CHECK(breakers.state("service") == CircuitState::open);  // half open only when a run asks

  SECTION("two successful probes close it") {
    CHECK(runner.run(f.chat, says("ok")).ok());
    CHECK(breakers.state("service") == CircuitState::half_open);
    CHECK(f.sink.count("circuit.half_opened") == 1);
    CHECK(runner.run(f.chat, says("ok")).ok());
    CHECK(breakers.state("service") == CircuitState::closed);
    CHECK(f.sink.count("circuit.closed") == 1);
    for (const auto& e : f.sink.events()) {
      if (e.type == "circuit.half_opened") {
        CHECK(e.text("from") == "open");
        CHECK(e.number("probes") == 2.0);
      }
      if (e.type == "circuit.closed") {
        CHECK(e.text("from") == "half_open");
        CHECK(e.number("probes") == 2.0);
      }
    }
    // Closed again, with a fresh count: one failure (threshold 1) opens it.
    runner.run(f.chat, says("fail"));
    CHECK(breakers.state("service") == CircuitState::open);
  }
  SECTION("a failed probe opens it for another open_for") {
    CHECK(runner.run(f.chat, says("ok")).ok());
    const auto probe = runner.run(f.chat, says("fail"));
    CHECK(probe.report<Service>().reason == "the service said 503");
    CHECK(breakers.state("service") == CircuitState::open);
    CHECK(f.sink.count("circuit.opened") == 2);
    CHECK(f.sink.events().back().type != "circuit.closed");
    f.clock.advance(1s);
    CHECK(runner.run(f.chat, says("ok")).error == "circuit open");
    f.clock.advance(1s);
    CHECK(runner.run(f.chat, says("ok")).ok());
    CHECK(breakers.state("service") == CircuitState::half_open);
  }
  SECTION("a skipped or cancelled probe decides nothing and gives its place back") {
    runner.run(f.chat, says("skip"));
    runner.run(f.chat, says("cancel"));
    CHECK(breakers.state("service") == CircuitState::half_open);
    CHECK(runner.run(f.chat, says("ok")).ok());
    CHECK(runner.run(f.chat, says("ok")).ok());
    CHECK(breakers.state("service") == CircuitState::closed);
  }
}

TEST_CASE("half open admits only half_open_probes at a time") {
  Clock clock;
  const Breakers breakers({.failure_threshold = 1, .open_for = 1s, .half_open_probes = 2}, clock);
  auto& table = *breakers.shared();
  auto& b = *table.breakers_of<Chat>()[0];
  stageflow::detail::CircuitTransition t;
  bool probe = false;
  std::uint64_t generation = 0;
  REQUIRE(table.admit(b, probe, generation, t));
  CHECK_FALSE(probe);  // closed: not a probe
  table.record(b, StageStatus::fail, probe, generation, t);
  CHECK(t.event == "circuit.opened");
  clock.advance(1s);
  std::uint64_t first = 0, second = 0, third = 0;
  bool p1 = false, p2 = false, p3 = false;
  CHECK(table.admit(b, p1, first, t));
  CHECK(table.admit(b, p2, second, t));
  CHECK_FALSE(table.admit(b, p3, third, t));  // both probes are out
  CHECK((p1 && p2));
  table.record(b, StageStatus::fail, true, first, t);  // the first fails: open again
  CHECK(b.state.load() == CircuitState::open);
  t = {};
  table.record(b, StageStatus::ok, true, second, t);  // a probe of the earlier half-open period: ignored
  CHECK(t.event.empty());
  CHECK(b.state.load() == CircuitState::open);
}

TEST_CASE("probes that never report (a stage left running at an abandoned deadline) are given up after open_for") {
  Clock clock;
  const Breakers breakers({.failure_threshold = 1, .open_for = 1s, .half_open_probes = 1}, clock);
  auto& table = *breakers.shared();
  auto& b = *table.breakers_of<Chat>()[0];
  stageflow::detail::CircuitTransition t;
  bool probe = false;
  std::uint64_t generation = 0, lost = 0, fresh = 0;
  table.admit(b, probe, generation, t);
  table.record(b, StageStatus::fail, probe, generation, t);
  clock.advance(1s);
  REQUIRE(table.admit(b, probe, lost, t));  // this probe never reports
  CHECK(probe);
  clock.advance(1s - 1ns);
  CHECK_FALSE(table.admit(b, probe, fresh, t));  // still out
  clock.advance(1ns);
  REQUIRE(table.admit(b, probe, fresh, t));  // given up: a new probe
  CHECK(probe);
  t = {};
  table.record(b, StageStatus::ok, true, lost, t);  // the lost one, late: ignored
  CHECK(t.event.empty());
  CHECK(b.state.load() == CircuitState::half_open);
  table.record(b, StageStatus::ok, true, fresh, t);
  CHECK(t.event == "circuit.closed");
  CHECK(b.state.load() == CircuitState::closed);
}

TEST_CASE("failure_ratio over a window opens the breaker once the window is full") {
  Fixture f;
  const Breakers breakers({.failure_threshold = 0, .open_for = 1s, .failure_ratio = 0.5, .window = 4}, f.clock);
  const stageflow::Runner<stageflow::CollectingSink, Breakers> runner(f.sink, breakers);
  for (const char* input : {"fail", "fail", "ok", "ok", "skip"}) runner.run(f.chat, says(input));
  CHECK(breakers.state("service") == CircuitState::closed);  // 2 of 2, then 2 of 4 ending in a success
  runner.run(f.chat, says("fail"));                          // the window: fail ok ok fail
  CHECK(breakers.state("service") == CircuitState::open);
  const auto events = f.sink.events();
  const auto opened = std::find_if(events.begin(), events.end(), [](const auto& e) { return e.type == "circuit.opened"; });
  REQUIRE(opened != events.end());
  CHECK(opened->number("failures") == 2.0);
}

TEST_CASE("skip and cancel neither fail nor succeed; other stages keep their own breakers") {
  Fixture f;
  const Breakers breakers({.failure_threshold = 2, .open_for = 1s}, f.clock);
  const stageflow::Runner<Breakers> runner(breakers);
  for (const char* input : {"fail", "skip", "cancel"}) runner.run(f.chat, says(input));
  CHECK(breakers.state("service") == CircuitState::closed);
  runner.run(f.chat, says("fail"));
  CHECK(breakers.state("service") == CircuitState::open);
  CHECK(breakers.state("reply") == CircuitState::closed);
}

TEST_CASE("copies share their breakers; shared() shares them with another runner") {
  Fixture f;
  const Breakers breakers({.failure_threshold = 2, .open_for = 1s}, f.clock);
  const stageflow::Runner<Breakers> first(breakers);
  const stageflow::Runner<Breakers> second(Breakers(breakers.shared()));
  const stageflow::Runner<Breakers> apart(Breakers({.failure_threshold = 2, .open_for = 1s}, f.clock));
  first.run(f.chat, says("fail"));
  second.run(f.chat, says("fail"));
  CHECK(breakers.state("service") == CircuitState::open);
  CHECK(second.run(f.chat, says("ok")).error == "circuit open");
  CHECK(apart.run(f.chat, says("ok")).ok());  // its own breakers
  // A pipeline of another type with a stage of the same name: the same breaker (one per stage name).
  CHECK(first.run(stageflow::Pipeline<Service>{}, says("ok")).error == "circuit open");
}

TEST_CASE("options that could never open a breaker are rejected") {
  CHECK_THROWS_AS(stageflow::CircuitBreakers({.failure_threshold = 0}), std::invalid_argument);
  CHECK_THROWS_AS(stageflow::CircuitBreakers({.half_open_probes = 0}), std::invalid_argument);
  CHECK_THROWS_AS(stageflow::CircuitBreakers({.failure_ratio = 1.5}), std::invalid_argument);
  CHECK_THROWS_AS(stageflow::CircuitBreakers({.failure_ratio = 0.5, .window = 0}), std::invalid_argument);
  CHECK_THROWS_AS(stageflow::CircuitBreakers(std::shared_ptr<stageflow::CircuitBreakers::table_type>()),
                  std::invalid_argument);
  const stageflow::CircuitBreakers defaults;
  CHECK(defaults.options().failure_threshold == 5);
  CHECK(defaults.options().open_for == 5s);
  CHECK(defaults.options().half_open_probes == 1);
}

TEST_CASE("ParallelExecutor, every shipped policy, four threads: every run either ran the stage or was rejected") {
  Fixture f;
  const Breakers breakers({.failure_threshold = 3, .open_for = 1ms, .half_open_probes = 1}, f.clock);
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{});
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::CollectingSink, Breakers,
                          pl::UuidTelemetry<>, pl::ImmutabilityInterceptor, pl::ContextSizeInterceptor,
                          pl::MemoryTracking>
      runner{stageflow::ParallelExecutor(2), f.sink, breakers, pl::MemoryTracking(tracker)};
  constexpr int per_thread = 150;
  std::atomic<int> rejected{0}, answered{0}, failed{0}, odd{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          // Thread 0 fails in bursts; the clock moves, so the breaker opens, half-opens and closes.
          const bool fails = t == 0 && (i / 10) % 2 == 0;
          const auto result = runner.run(f.chat, says(fails ? "fail" : "ok"));
          if (t == 1 && i % 5 == 0) f.clock.advance(1ms);
          const auto& service = result.report<Service>();
          if (result.ok() && *result.output<Reply>() == "answer to ok")
            ++answered;
          else if (service.reason == "circuit open" && result.error == "circuit open")
            ++rejected;
          else if (fails && service.reason == "the service said 503")
            ++failed;
          else
            ++odd;
        }
      });
  }
  CHECK(odd.load() == 0);
  CHECK(answered + rejected + failed == 4 * per_thread);
  CHECK(f.calls() == answered + failed);  // a rejected run never called the service
  CHECK(f.sink.count("circuit.opened") >= 1);
  CHECK(rejected.load() >= 1);
  // Every opening after the first follows a half-open period (closed ones pass through half_open too).
  CHECK(f.sink.count("circuit.half_opened") >= f.sink.count("circuit.closed"));
  CHECK(f.sink.count("circuit.opened") <= f.sink.count("circuit.half_opened") + f.sink.count("circuit.closed") + 1);
}

namespace {
struct AsyncService {
  static constexpr std::string_view name = "service";
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  asio::awaitable<stageflow::StageOutput<int>> execute(const auto& ctx) const {
    calls->fetch_add(1);
    if (ctx.snapshot().input_text == "fail") co_return stageflow::fail("the service said 503");
    co_return 42;
  }
};
}  // namespace

TEST_CASE("async_run: an open breaker rejects an awaitable stage before its coroutine starts") {
  Clock clock;
  const Breakers breakers({.failure_threshold = 2, .open_for = 1s}, clock);
  const stageflow::Runner<Breakers> runner(breakers);
  const stageflow::Pipeline<AsyncService> pipeline;
  asio::io_context io;
  std::vector<std::string> errors;
  auto run = [&](std::string input) -> asio::awaitable<void> {
    const auto result = co_await runner.async_run(pipeline, says(std::move(input)), {});
    errors.push_back(result.ok() ? "ok" : result.error);
  };
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await run("fail");
    co_await run("fail");
    co_await run("ok");
    clock.advance(1s);
    co_await run("ok");  // the probe: closes it
    co_await run("ok");
  }, asio::detached);
  io.run();
  CHECK(errors == std::vector<std::string>{"the service said 503", "the service said 503", "circuit open", "ok", "ok"});
  CHECK(pipeline.stage_at<0>().calls->load() == 4);
  CHECK(breakers.state("service") == CircuitState::closed);
}

namespace {
/// Backoffs that end at once (nothing here is about their length).
struct NoWait : stageflow::RetryClock {
  clock::time_point now() override { return clock::now(); }
  double uniform() override { return 0.5; }
  bool wait(std::chrono::nanoseconds, const std::stop_token& stop) override { return !stop.stop_requested(); }
};
struct RetriedService {
  static constexpr std::string_view name = "service";
  static constexpr stageflow::Retry retry{.max_attempts = 5, .initial_backoff = 1ms, .max_backoff = 1ms};
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  stageflow::StageOutput<int> execute(const auto&) const {
    calls->fetch_add(1);
    return stageflow::fail("the service said 503");
  }
};
}  // namespace

TEST_CASE("a retry does not retry an open circuit: the attempt the breaker rejects is the last") {
  NoWait no_wait;
  stageflow::ScopedRetryClock use(no_wait);
  Clock clock;
  stageflow::CollectingSink sink;
  const Breakers breakers({.failure_threshold = 2, .open_for = 1s}, clock);
  const stageflow::Runner<stageflow::CollectingSink, Breakers> runner(sink, breakers);
  const stageflow::Pipeline<RetriedService> pipeline;
  const auto first = runner.run(pipeline, says("ok"));
  // Attempts 1 and 2 failed and opened the breaker; attempt 3 was rejected before it started.
  CHECK(pipeline.stage_at<0>().calls->load() == 2);
  CHECK(first.report<RetriedService>().status == StageStatus::fail);
  CHECK(first.report<RetriedService>().reason == stageflow::circuit_open_reason);
  CHECK(first.report<RetriedService>().attempts == 2);
  CHECK(sink.count("stage.retrying") == 2);  // before attempts 2 and 3
  CHECK(sink.count("circuit.opened") == 1);
  // The next run is rejected at its first attempt, and not retried either.
  const auto second = runner.run(pipeline, says("ok"));
  CHECK(pipeline.stage_at<0>().calls->load() == 2);
  CHECK(second.error == "circuit open");
  CHECK(sink.count("stage.retrying") == 2);
}

TEST_CASE("CircuitBreakers is a policy, and enable_if<false, ...> removes it") {
  STATIC_REQUIRE(stageflow::Policy<stageflow::CircuitBreakers>);
  STATIC_REQUIRE(std::is_same_v<stageflow::Runner<stageflow::enable_if<false, stageflow::CircuitBreakers>>,
                                stageflow::Runner<>>);
}

TEST_CASE("CircuitBreakers is light: stages keep sharing clock readings, as under Runner<>") {
  STATIC_REQUIRE(stageflow::light_hooks_v<stageflow::CircuitBreakers>);
  STATIC_REQUIRE(stageflow::Runner<stageflow::CircuitBreakers>::chains_clock_readings);
  // The immutability check hashes the snapshot around each stage: not light, so not chained.
  STATIC_REQUIRE_FALSE(stageflow::light_hooks_v<stageflow::pipeline::ImmutabilityInterceptor>);
  STATIC_REQUIRE_FALSE(
      stageflow::Runner<stageflow::CircuitBreakers, stageflow::pipeline::ImmutabilityInterceptor>::chains_clock_readings);
}
