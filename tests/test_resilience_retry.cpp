// SPDX-License-Identifier: BSL-1.0
// Retries (issue 22): the backoff schedule as a pure function (each jitter's bounds, max_backoff,
// the multiplier, retry_after's floor), then the runner's retry rules on an injected RetryClock
// (no real sleeping: its wait() only advances its time), the deadline that stops a retry from
// starting, a stop that ends a real backoff at once, best-effort stages, and all of it under
// SequentialExecutor, ParallelExecutor and async_run, with every shipped policy.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/retry_clock.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include "async_test_runs.hpp"
#include "catch2_shim.hpp"
#include "manual_clock.hpp"

#include <boost/asio/io_context.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using stageflow::after;
using stageflow::Jitter;
using stageflow::Retry;
using stageflow::RunStatus;
using stageflow::StageStatus;
using ns = std::chrono::nanoseconds;
namespace pl = stageflow::pipeline;

namespace {

// ---- the schedule ----------------------------------------------------------------------------

constexpr Retry exponential{.max_attempts = 10, .initial_backoff = 1ms, .max_backoff = 100ms, .multiplier = 2.0,
                            .jitter = Jitter::none};
static_assert(exponential.delay(1, ns{0}, ns{0}, 0.5) == 1ms);
static_assert(exponential.delay(3, ns{0}, ns{0}, 0.5) == 4ms);

}  // namespace

TEST_CASE("Jitter::none: initial_backoff times multiplier per retry, capped at max_backoff") {
  CHECK(exponential.delay(1, ns{0}, ns{0}, 0.9) == 1ms);
  CHECK(exponential.delay(2, 1ms, ns{0}, 0.9) == 2ms);
  CHECK(exponential.delay(7, 32ms, ns{0}, 0.9) == 64ms);
  CHECK(exponential.delay(8, 64ms, ns{0}, 0.9) == 100ms);   // 128 ms, capped
  CHECK(exponential.delay(60, 100ms, ns{0}, 0.9) == 100ms);  // no overflow far out
  constexpr Retry linear_ish{.initial_backoff = 10ms, .max_backoff = 1s, .multiplier = 1.5, .jitter = Jitter::none};
  CHECK(linear_ish.delay(3, ns{0}, ns{0}, 0.0) == 22500us);
  constexpr Retry constant{.initial_backoff = 5ms, .max_backoff = 1s, .multiplier = 1.0, .jitter = Jitter::none};
  CHECK(constant.delay(9, ns{0}, ns{0}, 0.0) == 5ms);
}

TEST_CASE("each jitter stays within its bounds for every random draw") {
  std::mt19937_64 random(22);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (unsigned retry = 1; retry <= 12; ++retry) {
    Retry r = exponential;
    const ns b = std::min<ns>(ns(1ms) * (1LL << (retry - 1)), 100ms);
    for (int draw = 0; draw < 200; ++draw) {
      const double u = uniform(random);
      r.jitter = Jitter::full;
      const ns full = r.delay(retry, ns{0}, ns{0}, u);
      CHECK(full >= ns{0});
      CHECK(full <= b);
      r.jitter = Jitter::equal;
      const ns equal = r.delay(retry, ns{0}, ns{0}, u);
      CHECK(equal >= b / 2);
      CHECK(equal <= b);
      r.jitter = Jitter::decorrelated;
      const ns previous = std::min<ns>(ns(1ms) * (1LL << (retry - 1)), 100ms);
      const ns decorrelated = r.delay(retry, previous, ns{0}, u);
      CHECK(decorrelated >= 1ms);
      CHECK(decorrelated <= std::min<ns>(3 * previous, 100ms));
    }
  }
  // The ends of each range, exactly.
  Retry r = exponential;
  r.jitter = Jitter::full;
  CHECK(r.delay(3, ns{0}, ns{0}, 0.0) == ns{0});
  CHECK(r.delay(3, ns{0}, ns{0}, 0.5) == 2ms);
  r.jitter = Jitter::equal;
  CHECK(r.delay(3, ns{0}, ns{0}, 0.0) == 2ms);
  CHECK(r.delay(3, ns{0}, ns{0}, 0.5) == 3ms);
  r.jitter = Jitter::decorrelated;
  CHECK(r.delay(1, ns{0}, ns{0}, 0.0) == 1ms);       // from initial_backoff
  CHECK(r.delay(1, ns{0}, ns{0}, 0.5) == 2ms);       // 1 + 0.5 * (3 - 1)
  CHECK(r.delay(2, 10ms, ns{0}, 0.5) == 15500us);    // 1 + 0.5 * (30 - 1)
  CHECK(r.delay(5, 90ms, ns{0}, 0.99) == 100ms);     // capped
}

TEST_CASE("retry_after's floor wins over the schedule and over max_backoff") {
  CHECK(exponential.delay(1, ns{0}, 50ms, 0.0) == 50ms);
  CHECK(exponential.delay(9, ns{0}, 250ms, 0.0) == 250ms);  // above max_backoff: the service asked
  CHECK(exponential.delay(3, ns{0}, 1ms, 0.0) == 4ms);      // a smaller floor changes nothing
  const stageflow::StageOutput<int> answer = stageflow::retry_after("rate limited", 50ms);
  CHECK(answer.status() == StageStatus::fail);
  CHECK(answer.reason() == "rate limited");
  CHECK(answer.retry_after() == 50ms);
}

namespace {

// ---- an injected clock -----------------------------------------------------------------------

/// Time moves only when a backoff waits; every wait is recorded. Thread-safe (parallel runs).
struct ManualClock : stageflow::RetryClock {
  std::mutex mutex;
  clock::time_point time = clock::now();
  std::vector<ns> waits;
  double u = 0.5;
  std::stop_source* stop_during_wait = nullptr;  // a stop request arrives during the first wait

  clock::time_point now() override {
    std::lock_guard lock(mutex);
    return time;
  }
  double uniform() override { return u; }
  bool wait(ns delay, const std::stop_token& stop) override {
    std::lock_guard lock(mutex);
    if (stop_during_wait) std::exchange(stop_during_wait, nullptr)->request_stop();
    if (stop.stop_requested()) return false;
    waits.push_back(delay);
    time += delay;
    return true;
  }
  std::vector<ns> recorded() {
    std::lock_guard lock(mutex);
    return waits;
  }
};

// ---- stages ----------------------------------------------------------------------------------

enum class How { throws, fails, retry_after, skips, cancels };

/// Calls and the attempts each call saw, per stage id (reset by each test).
std::array<std::atomic<int>, 8> calls;
std::array<std::array<std::atomic<unsigned>, 16>, 8> seen_attempt;
void reset() {
  for (auto& c : calls) c = 0;
  for (auto& row : seen_attempt)
    for (auto& a : row) a = 0;
}

constexpr Retry three{.max_attempts = 3, .initial_backoff = 1ms, .max_backoff = 100ms, .multiplier = 2.0,
                      .jitter = Jitter::none};

/// A Retry as a type (a Retry holds durations, so it cannot be a template argument itself).
struct Three {
  static constexpr Retry value = three;
};

/// Fails its first `Failures` attempts the way `H` says, then returns its id.
template <int Id, int Failures, How H = How::fails, class R = Three, class Deps = after<>>
struct Flaky {
  static constexpr std::string_view name = std::array{"a", "b", "c", "d", "e", "f", "g", "h"}[Id];
  static constexpr Retry retry = R::value;
  using depends_on = Deps;
  stageflow::StageOutput<int> execute(const auto& ctx) const {
    const int call = ++calls[Id];
    seen_attempt[Id][std::min(call, 15)] = ctx.attempt();
    if (call <= Failures) {
      switch (H) {
        case How::throws: throw std::runtime_error("attempt " + std::to_string(call) + " threw");
        case How::fails: return stageflow::fail("attempt " + std::to_string(call) + " failed");
        case How::retry_after: return stageflow::retry_after("rate limited", 50ms);
        case How::skips: return stageflow::skip("nothing to do");
        case How::cancels: return stageflow::cancel("give up");
      }
    }
    return Id;
  }
};

/// Reads its input, which may be absent.
template <class Upstream>
struct Reader {
  static constexpr std::string_view name = "reader";
  using depends_on = after<Upstream>;
  int execute(const auto& ctx) const {
    const int* in = stageflow::input<Upstream>(ctx);
    return in ? *in : -1;
  }
};

stageflow::ContextSnapshot snapshot() { return {.input_text = "hello"}; }

using Sequential = stageflow::Runner<stageflow::CollectingSink>;

}  // namespace

TEST_CASE("a failing stage is attempted again after each backoff, until it succeeds") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  stageflow::CollectingSink sink;
  const Sequential runner{sink};
  const stageflow::Pipeline<Flaky<0, 2>, Reader<Flaky<0, 2>>> pipeline;
  const auto result = runner.run(pipeline, snapshot());
  REQUIRE(result.ok());
  CHECK(*result.output<Reader<Flaky<0, 2>>>() == 0);
  CHECK(result.report<Flaky<0, 2>>().attempts == 3);
  CHECK(result.report<Flaky<0, 2>>().reason.empty());
  CHECK(result.report<Reader<Flaky<0, 2>>>().attempts == 1);  // a stage without `retry`
  CHECK(calls[0] == 3);
  CHECK(seen_attempt[0][1] == 1);
  CHECK(seen_attempt[0][2] == 2);
  CHECK(seen_attempt[0][3] == 3);
  CHECK(clock.recorded() == std::vector<ns>{1ms, 2ms});
  CHECK(sink.count("stage.started") == 4);  // three attempts and the reader
  CHECK(sink.count("stage.retrying") == 2);
  CHECK(sink.count("stage.failed") == 0);
  CHECK(sink.count("stage.completed") == 2);
  std::vector<std::int64_t> attempts, delays;
  for (const auto& e : sink.events()) {
    if (e.type != "stage.retrying") continue;
    CHECK(e.stage == "a");
    for (const auto& [key, value] : e.fields) {
      if (key == "attempt") attempts.push_back(std::get<std::int64_t>(value));
      if (key == "delay_ns") delays.push_back(std::get<std::int64_t>(value));
      if (key == "reason") CHECK(std::get<std::string>(value).find("failed") != std::string::npos);
    }
  }
  CHECK(attempts == std::vector<std::int64_t>{2, 3});
  CHECK(delays == std::vector<std::int64_t>{ns(1ms).count(), ns(2ms).count()});
}

namespace {
/// A runner clock that moves a millisecond a reading.
using Ticks = stageflow::testing::SteppingClock;
/// A backoff that takes ten of the runner's milliseconds.
struct TickingClock : ManualClock {
  bool wait(ns delay, const std::stop_token& stop) override {
    Ticks::ticks += 10;
    return ManualClock::wait(delay, stop);
  }
};
struct LightPolicy {
  static constexpr bool light_hooks = true;
  void after_stage(auto&, auto&) const {}
};
}  // namespace

TEST_CASE("a retried stage's duration is its last attempt's, the backoff in none, readings chained or not") {
  reset();
  TickingClock clock;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Pipeline<Flaky<0, 1>> pipeline;
  const auto check = [&](const auto& runner) {
    reset();
    const auto result = runner.run(pipeline, snapshot());
    REQUIRE(result.ok());
    CHECK(result.stages[0].attempts == 2);
    CHECK(result.stages[0].duration == 1ms);
  };
  STATIC_REQUIRE(stageflow::Runner<stageflow::use_clock<Ticks>, LightPolicy>::chains_clock_readings);
  check(stageflow::Runner<stageflow::use_clock<Ticks>>{});
  check(stageflow::Runner<stageflow::use_clock<Ticks>, LightPolicy>{});
  check(stageflow::Runner<stageflow::use_clock<Ticks>, stageflow::CollectingSink>{});
}

TEST_CASE("a thrown exception is retried; when every attempt fails the last failure ends the run") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  stageflow::CollectingSink sink;
  const Sequential runner{sink};
  {
    const stageflow::Pipeline<Flaky<0, 1, How::throws>> pipeline;
    const auto result = runner.run(pipeline, snapshot());
    CHECK(result.ok());
    CHECK(result.stages[0].attempts == 2);
  }
  reset();
  const stageflow::Pipeline<Flaky<1, 99, How::throws>, Reader<Flaky<1, 99, How::throws>>> pipeline;
  const auto result = runner.run(pipeline, snapshot());
  CHECK(result.status == RunStatus::failed);
  CHECK(result.error_stage == "b");
  CHECK(result.error == "attempt 3 threw");
  CHECK(result.stages[0].status == StageStatus::fail);
  CHECK(result.stages[0].attempts == 3);
  CHECK(result.stages[1].status == StageStatus::not_run);
  CHECK(calls[1] == 3);
}

TEST_CASE("skip and cancel are final: not retried") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Runner<> runner;
  const auto skipped = runner.run(stageflow::Pipeline<Flaky<0, 1, How::skips>>{}, snapshot());
  CHECK(skipped.ok());
  CHECK(skipped.stages[0].status == StageStatus::skip);
  CHECK(skipped.stages[0].attempts == 1);
  const auto cancelled = runner.run(stageflow::Pipeline<Flaky<1, 1, How::cancels>>{}, snapshot());
  CHECK(cancelled.status == RunStatus::cancelled);
  CHECK(cancelled.stages[0].attempts == 1);
  CHECK(calls[0] == 1);
  CHECK(calls[1] == 1);
  CHECK(clock.recorded().empty());
}

TEST_CASE("retry_after: the next attempt waits at least what the stage asked") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Runner<> runner;
  const auto result = runner.run(stageflow::Pipeline<Flaky<0, 1, How::retry_after>>{}, snapshot());
  CHECK(result.ok());
  CHECK(result.stages[0].attempts == 2);
  CHECK(clock.recorded() == std::vector<ns>{50ms});
}

namespace {
/// Runs past its timeout on its first `Slow` attempts (it waits for its stop token, at most 5 s).
template <int Id, bool RetryTimeouts>
struct Slow {
  static constexpr std::string_view name = RetryTimeouts ? "slow_retried" : "slow";
  static constexpr auto timeout = 2ms;
  static constexpr Retry retry{.max_attempts = 3, .initial_backoff = 1ms, .jitter = Jitter::none,
                               .retry_timeouts = RetryTimeouts};
  int execute(const auto& ctx) const {
    if (++calls[Id] == 1) {
      const auto give_up = std::chrono::steady_clock::now() + 5s;
      while (!ctx.stop_requested() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    }
    return Id;
  }
};
}  // namespace

TEST_CASE("a timeout is retried only with .retry_timeouts, each attempt with its whole timeout") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Runner<> runner;
  const auto plain = runner.run(stageflow::Pipeline<Slow<0, false>>{}, snapshot());
  CHECK(plain.status == RunStatus::timed_out);
  CHECK(plain.stages[0].attempts == 1);
  CHECK(calls[0] == 1);
  const auto retried = runner.run(stageflow::Pipeline<Slow<1, true>>{}, snapshot());
  CHECK(retried.ok());
  CHECK(retried.stages[0].status == StageStatus::ok);
  CHECK(retried.stages[0].attempts == 2);
  CHECK(calls[1] == 2);
}

namespace {
struct Slowly {
  static constexpr Retry value{.max_attempts = 5, .initial_backoff = 400ms, .max_backoff = 10s, .jitter = Jitter::none};
};
}  // namespace

TEST_CASE("a retry whose backoff would end after the run's deadline does not start") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  using Late = Flaky<0, 99, How::fails, Slowly>;
  const stageflow::Runner<> runner;
  stageflow::RunOptions options;
  options.deadline = std::chrono::steady_clock::now() + 1s;  // the clock starts now: 400 + 800 ms > 1 s
  const auto result = runner.run(stageflow::Pipeline<Late>{}, snapshot(), options);
  CHECK(result.status == RunStatus::failed);
  CHECK(result.stages[0].attempts == 2);
  CHECK(calls[0] == 2);
  CHECK(clock.recorded() == std::vector<ns>{400ms});
  const auto& reason = result.stages[0].reason;
  CHECK(reason.find("attempt 2 failed") == 0);  // the last failure...
  CHECK(reason.find("not retried: the backoff of 800 ms before attempt 3 would end after the run's deadline") !=
        std::string::npos);  // ...and why it was the last
  CHECK(result.error == reason);
}

TEST_CASE("a stop request during a backoff ends the stage with its last failure") {
  reset();
  ManualClock clock;
  std::stop_source stop;
  clock.stop_during_wait = &stop;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Runner<> runner;
  const auto result = runner.run(stageflow::Pipeline<Flaky<0, 99>>{}, snapshot(), stop.get_token());
  CHECK(result.status == RunStatus::cancelled);
  CHECK(result.stages[0].status == StageStatus::cancel);
  CHECK(result.stages[0].attempts == 1);
  CHECK(result.stages[0].reason == "stop requested during the backoff before attempt 2 (last failure: attempt 1 failed)");
  CHECK(clock.recorded().empty());
}

namespace {
/// Fails at once with a 30 s backoff, and says so.
struct LongBackoff {
  static constexpr std::string_view name = "long_backoff";
  static constexpr Retry retry{.max_attempts = 2, .initial_backoff = 30s, .max_backoff = 30s, .jitter = Jitter::none};
  static inline std::atomic<bool> failed{false};
  stageflow::StageOutput<int> execute(const auto&) const {
    failed = true;
    failed.notify_all();
    return stageflow::fail("no");
  }
};
void stop_once_failed(std::stop_source stop) {
  LongBackoff::failed.wait(false);
  std::this_thread::sleep_for(5ms);  // most likely inside the wait by now; before it works as well
  stop.request_stop();
}
}  // namespace

TEST_CASE("a real backoff on the calling thread ends at once on a stop request") {
  LongBackoff::failed = false;
  std::stop_source stop;
  std::jthread stopper(stop_once_failed, stop);
  const auto started = std::chrono::steady_clock::now();
  const stageflow::Runner<> runner;
  const auto result = runner.run(stageflow::Pipeline<LongBackoff>{}, snapshot(), stop.get_token());
  CHECK(std::chrono::steady_clock::now() - started < 20s);  // not the 30 s backoff
  CHECK(result.status == RunStatus::cancelled);
  CHECK(result.stages[0].attempts == 1);
  CHECK(result.stages[0].reason.find("last failure: no") != std::string::npos);
}

TEST_CASE("the default wait: runs its time out, or returns false at once on a stop") {
  std::stop_source never;
  CHECK(stageflow::detail::default_retry_wait(1ms, never.get_token()));
  std::stop_source stop;
  stop.request_stop();
  CHECK_FALSE(stageflow::detail::default_retry_wait(30s, stop.get_token()));
  for (int i = 0; i < 1000; ++i) {
    const double u = stageflow::detail::default_retry_uniform();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
  }
}

// ---- best effort -------------------------------------------------------------------------------

namespace {
template <int Id>
struct Optional : Flaky<Id, 99, How::fails> {
  static constexpr std::string_view name = "optional";
  static constexpr bool best_effort = true;
};
struct PlainFail {
  static constexpr std::string_view name = "plain";
  static constexpr bool best_effort = false;
  stageflow::StageOutput<int> execute(const auto&) const { return stageflow::fail("no"); }
};
}  // namespace

TEST_CASE("a best-effort stage that fails after its retries does not end the run") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  stageflow::CollectingSink sink;
  const Sequential runner{sink};
  const stageflow::Pipeline<Optional<0>, Reader<Optional<0>>> pipeline;
  const auto result = runner.run(pipeline, snapshot());
  CHECK(result.ok());
  CHECK(result.degraded());
  CHECK(result.report<Optional<0>>().status == StageStatus::fail);
  CHECK(result.report<Optional<0>>().reason == "attempt 3 failed");
  CHECK(result.report<Optional<0>>().attempts == 3);
  CHECK(result.output<Optional<0>>() == nullptr);
  CHECK(*result.output<Reader<Optional<0>>>() == -1);  // its dependent ran and saw no input
  CHECK(sink.count("stage.failed") == 1);
  CHECK(sink.count("pipeline.completed") == 1);

  const auto plain = stageflow::Runner<>{}.run(stageflow::Pipeline<PlainFail>{}, snapshot());
  CHECK(plain.status == RunStatus::failed);
  CHECK_FALSE(plain.degraded());
  const auto fine = stageflow::Runner<>{}.run(stageflow::Pipeline<Flaky<1, 0>>{}, snapshot());
  CHECK_FALSE(fine.degraded());
}

// ---- policies see every attempt ----------------------------------------------------------------

namespace {
struct CountHooks {
  struct run_state {
    int before = 0, after = 0, errors = 0;
  };
  std::shared_ptr<std::atomic<int>> befores = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> afters = std::make_shared<std::atomic<int>>(0);
  void before_stage(run_state&, auto&, auto&) const { ++*befores; }
  void after_stage(run_state&, auto&, auto&) const { ++*afters; }
};

/// Writes into the snapshot on its second attempt only.
struct TamperOnRetry {
  static constexpr std::string_view name = "tamper";
  static constexpr Retry retry = three;
  stageflow::StageOutput<int> execute(const auto& ctx) const {
    if (ctx.attempt() == 1) return stageflow::fail("first");
    const_cast<stageflow::ContextSnapshot&>(ctx.snapshot()).input_text += "?";
    return 1;
  }
};
}  // namespace

TEST_CASE("policies' hooks run around every attempt") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Runner<CountHooks> runner;
  const auto result = runner.run(stageflow::Pipeline<Flaky<0, 2>>{}, snapshot());
  CHECK(result.ok());
  CHECK(*runner.policy<CountHooks>().befores == 3);
  CHECK(*runner.policy<CountHooks>().afters == 3);
}

TEST_CASE("the immutability check covers a retried attempt") {
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Runner<pl::ImmutabilityInterceptor> runner;
  const auto result = runner.run(stageflow::Pipeline<TamperOnRetry>{}, snapshot());
  CHECK(result.status == RunStatus::failed);
  CHECK(result.stages[0].attempts == 2);
  CHECK(result.error.find("input_text") != std::string::npos);
}

TEST_CASE("retries with every shipped policy, sequential and parallel") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  stageflow::CollectingSink sink;
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{});
  using A = Flaky<0, 2, How::throws>;
  using B = Flaky<1, 1, How::fails, Three, after<A>>;
  using C = Flaky<2, 2, How::retry_after, Three, after<A>>;
  using D = Reader<B>;
  const stageflow::Pipeline<A, B, C, D> pipeline;
  const stageflow::Runner<stageflow::CollectingSink, pl::UuidTelemetry<>, pl::ImmutabilityInterceptor,
                          pl::ContextSizeInterceptor, pl::MemoryTracking>
      sequential{sink, pl::MemoryTracking(tracker)};
  const auto one = sequential.run(pipeline, snapshot());
  REQUIRE(one.ok());
  CHECK(one.report<A>().attempts == 3);
  CHECK(one.report<B>().attempts == 2);
  CHECK(one.report<C>().attempts == 3);
  CHECK(sink.count("stage.retrying") == 5);
  CHECK(sink.count("immutability.violation") == 0);

  reset();
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::CollectingSink,
                          pl::UuidTelemetry<>, pl::ImmutabilityInterceptor, pl::ContextSizeInterceptor,
                          pl::MemoryTracking>
      parallel{stageflow::ParallelExecutor(4), sink, pl::MemoryTracking(tracker)};
  for (int run = 0; run < 20; ++run) {
    reset();
    const auto r = parallel.run(pipeline, snapshot());
    REQUIRE(r.ok());
    CHECK(r.report<A>().attempts == 3);
    CHECK(r.report<B>().attempts == 2);
    CHECK(r.report<C>().attempts == 3);
    CHECK(*r.output<D>() == 1);
  }
  CHECK(sink.count("stage.retrying") == 5 * 21);
}

namespace {
/// Stops the run once both backoffs have begun (or 5 s later, so a regression fails, not hangs).
struct StopTheRun {
  static constexpr std::string_view name = "stop_the_run";
  static inline std::stop_source* stop = nullptr;
  int execute(const auto&) const {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while ((calls[0] < 1 || calls[1] < 1) && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    std::this_thread::sleep_for(2ms);
    stop->request_stop();
    return 0;
  }
};
struct Backoff30s {
  static constexpr Retry value{.max_attempts = 2, .initial_backoff = 30s, .max_backoff = 30s, .jitter = Jitter::none};
};
}  // namespace

TEST_CASE("ParallelExecutor: a backoff is a timer, not a blocked worker") {
  reset();
  {  // real timers of 1 ms and 2 ms: the stage succeeds on its third attempt
    const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(2)};
    const auto result = runner.run(stageflow::Pipeline<Flaky<0, 2>, Reader<Flaky<0, 2>>>{}, snapshot());
    REQUIRE(result.ok());
    CHECK(result.stages[0].attempts == 3);
    CHECK(*result.output<Reader<Flaky<0, 2>>>() == 0);
  }
  // One pool thread and the caller: two stages in a 30 s backoff would hold both if a backoff
  // blocked its thread, and the third stage (which stops the run) could not start.
  reset();
  std::stop_source stop;
  StopTheRun::stop = &stop;
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(1)};
  const auto started = std::chrono::steady_clock::now();
  const auto result = runner.run(
      stageflow::Pipeline<Flaky<0, 99, How::fails, Backoff30s>, Flaky<1, 99, How::throws, Backoff30s>, StopTheRun>{},
      snapshot(), stop.get_token());
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  CHECK(result.status == RunStatus::cancelled);
  CHECK(result.stages[2].status == StageStatus::ok);
  CHECK(result.stages[0].status == StageStatus::cancel);
  CHECK(result.stages[0].reason == "stop requested during the backoff before attempt 2 (last failure: attempt 1 failed)");
  CHECK(result.stages[1].status == StageStatus::cancel);
  CHECK(calls[0] == 1);
  CHECK(calls[1] == 1);
}

// ---- async_run -------------------------------------------------------------------------------

namespace {
using stageflow::testing::awaited_run;
using stageflow::testing::run_on;

/// An awaitable stage that fails its first `Failures` attempts.
template <int Id, int Failures>
struct AsyncFlaky {
  static constexpr std::string_view name = std::array{"x0", "x1", "x2", "x3"}[Id];
  static constexpr Retry retry = three;
  asio::awaitable<stageflow::StageOutput<int>> execute(const auto& ctx) const {
    const int call = ++calls[Id];
    seen_attempt[Id][std::min(call, 15)] = ctx.attempt();
    if (call <= Failures) co_return stageflow::fail("async attempt " + std::to_string(call));
    co_return 10 + Id;
  }
};
}  // namespace

TEST_CASE("async_run retries awaitable and synchronous stages, with every shipped policy") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  stageflow::CollectingSink sink;
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{});
  const stageflow::Runner<stageflow::CollectingSink, pl::UuidTelemetry<>, pl::ImmutabilityInterceptor,
                          pl::ContextSizeInterceptor, pl::MemoryTracking>
      runner{sink, pl::MemoryTracking(tracker)};
  using X = AsyncFlaky<0, 2>;
  using S = Flaky<1, 1>;
  const stageflow::Pipeline<X, S, Reader<S>> pipeline;
  asio::io_context io;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, {}, snapshot()));
  REQUIRE(result.ok());
  CHECK(*result.output<X>() == 10);
  CHECK(result.report<X>().attempts == 3);
  CHECK(result.report<S>().attempts == 2);
  CHECK(seen_attempt[0][3] == 3);
  CHECK(sink.count("stage.retrying") == 3);
  CHECK(clock.recorded().size() == 3);
}

TEST_CASE("async_run: a real backoff is a timer, and a stop request ends it at once") {
  reset();
  {
    // 1 ms and 2 ms on a real timer (the only real waits of this file, 3 ms).
    const stageflow::Runner<> runner;
    const stageflow::Pipeline<AsyncFlaky<0, 2>> pipeline;
    asio::io_context io;
    const auto result = run_on(io, awaited_run(&runner, &pipeline, {}, snapshot()));
    CHECK(result.ok());
    CHECK(result.stages[0].attempts == 3);
  }
  LongBackoff::failed = false;
  std::stop_source stop;
  std::jthread stopper(stop_once_failed, stop);
  const auto started = std::chrono::steady_clock::now();
  const stageflow::Runner<> runner;
  const stageflow::Pipeline<LongBackoff, Reader<LongBackoff>> pipeline;
  asio::io_context io;  // one thread: the backoff must not hold it
  const auto result = run_on(io, awaited_run(&runner, &pipeline, stop.get_token(), snapshot()));
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  CHECK(result.status == RunStatus::cancelled);
  CHECK(result.stages[0].status == StageStatus::cancel);
  CHECK(result.stages[0].reason.find("during the backoff before attempt 2") != std::string::npos);
}

TEST_CASE("async_run: a best-effort stage's failure leaves its dependents an absent input") {
  reset();
  ManualClock clock;
  stageflow::ScopedRetryClock use(clock);
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(2)};
  const stageflow::Pipeline<Optional<0>, Reader<Optional<0>>> pipeline;
  asio::io_context io;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, {}, snapshot()));
  CHECK(result.ok());
  CHECK(result.degraded());
  CHECK(*result.output<Reader<Optional<0>>>() == -1);
}
