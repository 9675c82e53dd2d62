// SPDX-License-Identifier: BSL-1.0
// Hedged stages (issue 22): a copy starts when an attempt runs past `after`; the first to finish
// wins, the others are stopped and their outputs discarded; `stage.hedged` at each extra start; a
// stop request ends them all; with every shipped policy, on a ParallelExecutor and on one thread.
// The slow copies wait 30 s on a timer their stop token cancels: a test that breaks fails on its
// bound instead of hanging; the only real waits are the `after`s of 1 ms.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/resilience/hedge.hpp>
#include <stageflow/runner/detail/latency_histogram.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include "async_test_runs.hpp"
#include "catch2_shim.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using stageflow::after;
using stageflow::RunStatus;
using stageflow::StageStatus;
namespace pl = stageflow::pipeline;

namespace {

std::atomic<int> calls{0};
std::atomic<int> stopped{0};

/// Waits `delay` on a timer its stop token cancels; false when stopped.
asio::awaitable<bool> wait_for(std::chrono::steady_clock::duration delay, const std::stop_token& stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  stageflow::cancel_on_stop guard(stop, timer);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

/// Copies number 1 .. Slow stall (30 s, until stopped); the next one answers at once, with its
/// number (or fails, when Fails).
template <int Slow, unsigned MaxExtra = 1, bool Fails = false>
struct Replica {
  static constexpr std::string_view name = "replica";
  static constexpr stageflow::Hedge hedge{.after = 1ms, .max_extra = MaxExtra};
  asio::awaitable<stageflow::StageOutput<int>> execute(const auto& ctx) const {
    const int copy = ++calls;
    if (copy <= Slow) {
      if (!co_await wait_for(30s, ctx.stop_token())) {
        ++stopped;
        co_return stageflow::cancel("stopped");  // as a stage does whose stop token fired
      }
      co_return copy;
    }
    if (Fails) co_return stageflow::fail("copy " + std::to_string(copy) + " failed");
    co_return copy;
  }
};

using stageflow::testing::awaited_run;
using stageflow::testing::run_on;

void reset() {
  calls = 0;
  stopped = 0;
}

}  // namespace

TEST_CASE("a stalled attempt gets a copy after `after`; the first to finish wins, the other is stopped") {
  reset();
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink> runner{sink};
  const stageflow::Pipeline<Replica<1>> pipeline;
  asio::io_context io;  // one thread: the copies share it
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_on(io, awaited_run(&runner, &pipeline));
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  REQUIRE(result.ok());
  CHECK(*result.output<Replica<1>>() == 2);  // the copy's answer, not the stalled one's
  CHECK(calls == 2);
  CHECK(stopped == 1);
  CHECK(sink.count("stage.hedged") == 1);
  CHECK(sink.count("stage.started") == 1);
  CHECK(sink.count("stage.completed") == 1);
  for (const auto& e : sink.events())
    if (e.type == "stage.hedged") {
      CHECK(e.stage == "replica");
      CHECK(e.fields.size() == 2);
    }
}

TEST_CASE("an attempt that finishes before `after` is not hedged") {
  reset();
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink> runner{sink};
  const stageflow::Pipeline<Replica<0>> pipeline;
  asio::io_context io;
  const auto result = run_on(io, awaited_run(&runner, &pipeline));
  REQUIRE(result.ok());
  CHECK(*result.output<Replica<0>>() == 1);
  CHECK(calls == 1);
  CHECK(sink.count("stage.hedged") == 0);
}

TEST_CASE("max_extra copies at most, each `after` the last") {
  reset();
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink> runner{sink};
  const stageflow::Pipeline<Replica<2, 2>> pipeline;
  asio::io_context io;
  const auto result = run_on(io, awaited_run(&runner, &pipeline));
  REQUIRE(result.ok());
  CHECK(*result.output<Replica<2, 2>>() == 3);
  CHECK(calls == 3);
  CHECK(stopped == 2);
  CHECK(sink.count("stage.hedged") == 2);
}

TEST_CASE("the first copy to finish decides, a failure too; a stop request ends every copy") {
  reset();
  const stageflow::Runner<> runner;
  {
    const stageflow::Pipeline<Replica<1, 1, true>> pipeline;
    asio::io_context io;
    const auto result = run_on(io, awaited_run(&runner, &pipeline));
    CHECK(result.status == RunStatus::failed);
    CHECK(result.error == "copy 2 failed");
    CHECK(stopped == 1);
  }
  reset();
  // Both copies stall; the caller stops the run.
  std::stop_source stop;
  std::jthread stopper([&] {
    while (calls < 2) std::this_thread::yield();
    stop.request_stop();
  });
  const stageflow::Pipeline<Replica<9>> pipeline;
  asio::io_context io;
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_on(io, awaited_run(&runner, &pipeline, stop.get_token()));
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  CHECK(result.status == RunStatus::cancelled);
  CHECK(result.stages[0].status == StageStatus::cancel);
  CHECK(stopped == 2);
}

namespace {
/// Hedged and retried: its first attempt's copies fail (the second copy at once), the second
/// attempt's first copy answers.
struct HedgedRetried {
  static constexpr std::string_view name = "hedged_retried";
  static constexpr stageflow::Hedge hedge{.after = 1ms, .max_extra = 1};
  static constexpr stageflow::Retry retry{.max_attempts = 2, .initial_backoff = 1ms,
                                          .jitter = stageflow::Jitter::none};
  asio::awaitable<stageflow::StageOutput<int>> execute(const auto& ctx) const {
    const int copy = ++calls;
    if (ctx.attempt() == 1 && copy == 1) {
      if (!co_await wait_for(30s, ctx.stop_token())) ++stopped;
      co_return 0;
    }
    if (ctx.attempt() == 1) co_return stageflow::fail("busy");
    co_return 100 + static_cast<int>(ctx.attempt());
  }
};
struct Next {
  static constexpr std::string_view name = "next";
  using depends_on = after<HedgedRetried>;
  int execute(const auto& ctx) const {
    const int* in = stageflow::input<HedgedRetried>(ctx);
    return in ? *in * 10 : -1;
  }
};
}  // namespace

TEST_CASE("hedging and retries together, with every shipped policy, on a ParallelExecutor") {
  reset();
  stageflow::CollectingSink sink;
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{});
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::CollectingSink,
                          pl::UuidTelemetry<>, pl::ImmutabilityInterceptor, pl::ContextSizeInterceptor,
                          pl::MemoryTracking>
      runner{stageflow::ParallelExecutor(4), sink, pl::MemoryTracking(tracker)};
  const stageflow::Pipeline<HedgedRetried, Next> pipeline;
  asio::io_context io;
  for (int run = 0; run < 10; ++run) {
    reset();
    const auto result = run_on(io, awaited_run(&runner, &pipeline));
    REQUIRE(result.ok());
    CHECK(*result.output<HedgedRetried>() == 102);
    CHECK(*result.output<Next>() == 1020);
    CHECK(result.report<HedgedRetried>().attempts == 2);
    CHECK(stopped == 1);
  }
  CHECK(sink.count("stage.hedged") == 10);
  CHECK(sink.count("stage.retrying") == 10);
  CHECK(sink.count("immutability.violation") == 0);
}

// ---- synchronous stages under a concurrent executor -----------------------------------------
// The slow copies block on their stop token (at most 30 s, so a broken test fails on its bound
// instead of hanging); after it fires they still read the snapshot and their input, so a losing
// copy that outlived the run's frame would be caught by ASan.

namespace {

/// Blocks until `stop` fires (true) or `bound` passes (false).
bool block_until_stopped(const std::stop_token& stop, std::chrono::milliseconds bound) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, bound, [] { return false; });
  return stop.stop_requested();
}

struct Source {
  static constexpr std::string_view name = "source";
  int execute(const auto& ctx) const { return static_cast<int>(ctx.snapshot().input_text.size()); }
};

/// Copies number 1 .. Slow block until stopped; the next answers at once with its number (or
/// fails, when Fails). Declares Extra members through Traits (a timeout, a retry).
template <int Slow, unsigned MaxExtra = 1, bool Fails = false>
struct SyncReplica {
  static constexpr std::string_view name = "sync_replica";
  using depends_on = after<Source>;
  static constexpr stageflow::Hedge hedge{.after = 1ms, .max_extra = MaxExtra};
  stageflow::StageOutput<int> execute(const auto& ctx) const {
    const int copy = ++calls;
    if (copy <= Slow) {
      const bool was_stopped = block_until_stopped(ctx.stop_token(), 30s);
      // Touches what the run owns after its stop: the frame must still be there.
      const int size = *stageflow::input<Source>(ctx) + static_cast<int>(ctx.snapshot().input_text.size());
      if (was_stopped) {
        ++stopped;
        return stageflow::cancel("stopped after reading " + std::to_string(size));
      }
      return copy;
    }
    if (Fails) return stageflow::fail("copy " + std::to_string(copy) + " failed");
    return copy;
  }
};

/// Where copies cannot overlap: the first waits (at most 20 ms) for a second that never comes.
struct SyncWaiter {
  static constexpr std::string_view name = "sync_waiter";
  static constexpr stageflow::Hedge hedge{.after = 1ms, .max_extra = 1};
  int execute(const auto&) const {
    const int copy = ++calls;
    const auto until = std::chrono::steady_clock::now() + 20ms;
    while (calls < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    return copy;
  }
};

const stageflow::ContextSnapshot hi{.input_text = "hi"};

using ParallelRunner = stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::CollectingSink>;

/// An io_context run by `threads` threads for as long as the object lives.
struct Threads {
  explicit Threads(int threads) {
    for (int i = 0; i < threads; ++i) pool.emplace_back([this] { io.run(); });
  }
  ~Threads() {
    work.reset();
    for (auto& t : pool) t.join();
  }
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::vector<std::thread> pool;
};

}  // namespace

TEST_CASE("a synchronous stage: a stalled copy gets another on a ParallelExecutor, the first to finish wins") {
  Threads given(2);
  for (int where = 0; where < 3; ++where) {
    CAPTURE(where);
    reset();
    stageflow::CollectingSink sink;
    // Its own pool of 4, of 1 (the timer and the copy share the one worker, the caller runs the
    // first copy: no thread waits for `after`), and an io_context run by two threads.
    const ParallelRunner runner{where == 0   ? stageflow::ParallelExecutor(4)
                                : where == 1 ? stageflow::ParallelExecutor(1)
                                             : stageflow::ParallelExecutor(given.io.get_executor()),
                                sink};
    const stageflow::Pipeline<Source, SyncReplica<1>> pipeline;
    const auto started = std::chrono::steady_clock::now();
    const auto result = runner.run(pipeline, hi);
    CHECK(std::chrono::steady_clock::now() - started < 20s);
    REQUIRE(result.ok());
    CHECK(*result.output<SyncReplica<1>>() == 2);  // the copy's answer, not the stalled one's
    CHECK(calls == 2);
    CHECK(stopped == 1);  // the loser saw its stop token, and returned before the run ended
    CHECK(sink.count("stage.hedged") == 1);
    CHECK(sink.count("stage.started") == 2);  // one per stage, not per copy
    CHECK(sink.count("stage.completed") == 2);
  }
}

TEST_CASE("a synchronous stage that finishes before `after` is not hedged; max_extra copies at most") {
  reset();
  stageflow::CollectingSink sink;
  const ParallelRunner runner{stageflow::ParallelExecutor(4), sink};
  const auto fast = runner.run(stageflow::Pipeline<Source, SyncReplica<0>>{}, hi);
  REQUIRE(fast.ok());
  CHECK(*fast.output<SyncReplica<0>>() == 1);
  CHECK(calls == 1);
  CHECK(sink.count("stage.hedged") == 0);

  reset();
  const auto three = runner.run(stageflow::Pipeline<Source, SyncReplica<2, 2>>{}, hi);
  REQUIRE(three.ok());
  CHECK(*three.output<SyncReplica<2, 2>>() == 3);
  CHECK(calls == 3);
  CHECK(stopped == 2);
  CHECK(sink.count("stage.hedged") == 2);
}

TEST_CASE("a synchronous stage: the first copy to finish decides, a failure too; a stop request ends every copy") {
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(4)};
  reset();
  const auto failed = runner.run(stageflow::Pipeline<Source, SyncReplica<1, 1, true>>{}, hi);
  CHECK(failed.status == RunStatus::failed);
  CHECK(failed.error == "copy 2 failed");
  CHECK(stopped == 1);

  reset();
  std::stop_source stop;
  std::jthread stopper([&] {
    while (calls < 2) std::this_thread::yield();
    stop.request_stop();
  });
  stageflow::RunOptions options;
  options.stop = stop.get_token();
  const auto started = std::chrono::steady_clock::now();
  const auto cancelled = runner.run(stageflow::Pipeline<Source, SyncReplica<9>>{}, hi, options);
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  CHECK(cancelled.status == RunStatus::cancelled);
  CHECK(cancelled.stages[1].status == StageStatus::cancel);
  CHECK(stopped == 2);
}

namespace {
/// Every copy stalls: the stage's timeout stops them all.
struct TimedReplica : SyncReplica<9> {
  static constexpr auto timeout = 20ms;
};
/// The same stage without `hedge`.
struct Unhedged {
  static constexpr std::string_view name = "sync_replica";
  using depends_on = after<Source>;
  stageflow::StageOutput<int> execute(const auto& ctx) const { return SyncReplica<9>{}.execute(ctx); }
};
}  // namespace

TEST_CASE("a synchronous stage: its timeout and the run's deadline stop every copy") {
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(2)};
  reset();
  const auto timed = runner.run(stageflow::Pipeline<Source, TimedReplica>{}, hi);
  CHECK(timed.status == RunStatus::timed_out);
  CHECK(timed.stages[1].status == StageStatus::timed_out);
  CHECK(calls == 2);
  CHECK(stopped == 2);

  reset();
  stageflow::RunOptions options;
  options.deadline = std::chrono::steady_clock::now() + 20ms;
  const auto late = runner.run(stageflow::Pipeline<Source, SyncReplica<9>>{}, hi, options);
  CHECK(calls == 2);
  CHECK(stopped == 2);  // both returned before the run did: the frame they read was still there
  // As the same stage unhedged ends at the deadline.
  reset();
  options.deadline = std::chrono::steady_clock::now() + 20ms;
  const auto plain = runner.run(stageflow::Pipeline<Source, Unhedged>{}, hi, options);
  CHECK(calls == 1);
  CHECK(stopped == 1);
  CHECK(plain.status != RunStatus::completed);
  CHECK(late.status == plain.status);
  CHECK(late.stages[1].status == plain.stages[1].status);
  CHECK(late.error == plain.error);
}

namespace {
/// Hedged and retried, synchronous: attempt 1's first copy stalls and its second fails, so the
/// attempt fails; attempt 2's first copy answers.
struct SyncHedgedRetried {
  static constexpr std::string_view name = "sync_hedged_retried";
  static constexpr stageflow::Hedge hedge{.after = 1ms, .max_extra = 1};
  static constexpr stageflow::Retry retry{.max_attempts = 2, .initial_backoff = 1ms,
                                          .jitter = stageflow::Jitter::none};
  stageflow::StageOutput<int> execute(const auto& ctx) const {
    const int copy = ++calls;
    if (ctx.attempt() == 1 && copy == 1) {
      if (block_until_stopped(ctx.stop_token(), 30s)) ++stopped;
      return 0;
    }
    if (ctx.attempt() == 1) return stageflow::fail("busy");
    return 100 + static_cast<int>(ctx.attempt());
  }
};
struct SyncNext {
  static constexpr std::string_view name = "sync_next";
  using depends_on = after<SyncHedgedRetried>;
  int execute(const auto& ctx) const {
    const int* in = stageflow::input<SyncHedgedRetried>(ctx);
    return in ? *in * 10 : -1;
  }
};
}  // namespace

TEST_CASE("a synchronous stage: hedging and retries together, with every shipped policy, run() and async_run") {
  stageflow::CollectingSink sink;
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{});
  Threads given(2);
  const stageflow::Pipeline<SyncHedgedRetried, SyncNext> pipeline;
  for (int where = 0; where < 2; ++where) {
    const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::CollectingSink,
                            pl::UuidTelemetry<>, pl::ImmutabilityInterceptor, pl::ContextSizeInterceptor,
                            pl::MemoryTracking>
        runner{where == 0 ? stageflow::ParallelExecutor(4) : stageflow::ParallelExecutor(given.io.get_executor()), sink,
               pl::MemoryTracking(tracker)};
    asio::io_context io;
    for (int run = 0; run < 10; ++run) {
      CAPTURE(where, run);
      reset();
      const auto result = run % 2 == 0 ? runner.run(pipeline, stageflow::ContextSnapshot{.input_text = "hi"})
                                       : run_on(io, awaited_run(&runner, &pipeline));
      REQUIRE(result.ok());
      CHECK(*result.output<SyncHedgedRetried>() == 102);
      CHECK(*result.output<SyncNext>() == 1020);
      CHECK(result.report<SyncHedgedRetried>().attempts == 2);
      CHECK(calls == 3);
      CHECK(stopped == 1);
    }
  }
  CHECK(sink.count("stage.hedged") == 20);
  CHECK(sink.count("stage.retrying") == 20);
  CHECK(sink.count("immutability.violation") == 0);
}

TEST_CASE("a synchronous stage under async_run on an io_context run by two threads is hedged") {
  reset();
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink> runner{sink};  // stages run on the handler's executor
  const stageflow::Pipeline<Source, SyncReplica<1>> pipeline;
  asio::io_context io;
  std::optional<stageflow::RunResult<stageflow::Pipeline<Source, SyncReplica<1>>, stageflow::ContextSnapshot>> result;
  asio::co_spawn(io, awaited_run(&runner, &pipeline), [&](std::exception_ptr e, auto r) {
    if (e) std::rethrow_exception(e);
    result.emplace(std::move(r));
  });
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  REQUIRE(result);
  REQUIRE(result->ok());
  CHECK(*result->output<SyncReplica<1>>() == 2);
  CHECK(stopped == 1);
  CHECK(sink.count("stage.hedged") == 1);
}

TEST_CASE("no second copy where none can run beside the first: SequentialExecutor, a strand, one thread") {
  for (int where = 0; where < 3; ++where) {
    CAPTURE(where);
    reset();
    stageflow::CollectingSink sink;
    const stageflow::Pipeline<SyncWaiter> pipeline;
    std::optional<stageflow::RunResult<stageflow::Pipeline<SyncWaiter>, stageflow::ContextSnapshot>> result;
    if (where == 0) {
      const stageflow::Runner<stageflow::CollectingSink> runner{sink};
      result.emplace(runner.run(pipeline, hi));
    } else if (where == 1) {
      Threads two(2);
      const ParallelRunner runner{stageflow::ParallelExecutor(asio::make_strand(two.io)), sink};
      result.emplace(runner.run(pipeline, hi));
    } else {
      Threads one(1);
      const ParallelRunner runner{stageflow::ParallelExecutor(one.io.get_executor()), sink};
      result.emplace(runner.run(pipeline, hi));
    }
    REQUIRE(result->ok());
    CHECK(*result->output<SyncWaiter>() == 1);  // the first copy waited 20 ms for a second: none came
    CHECK(calls == 1);
    CHECK(sink.count("stage.hedged") == 0);
  }
}

// ---- hedge_at_percentile --------------------------------------------------------------------

static_assert(std::is_trivially_copyable_v<stageflow::Hedge>);
namespace {
struct PercentileHedged {
  static constexpr std::string_view name = "percentile_hedged";
  static constexpr stageflow::Hedge hedge{.after = stageflow::hedge_at_percentile(95, 7ms, 10)};
  int execute(const auto&) const { return ++calls; }
};
struct FixedHedged {
  static constexpr stageflow::Hedge hedge{.after = std::chrono::milliseconds(5)};
};
struct DefaultPercentile {
  static constexpr stageflow::Hedge hedge{.after = stageflow::hedge_at_percentile(95)};
};
static_assert(FixedHedged::hedge.after.fixed == 5ms && FixedHedged::hedge.after.percentile == 0);
static_assert(DefaultPercentile::hedge.after.percentile == 95 && DefaultPercentile::hedge.after.min_samples == 100 &&
              DefaultPercentile::hedge.after.fixed == 5ms);
}  // namespace

TEST_CASE("a latency histogram: percentiles within a quarter above the truth, fading, empty") {
  stageflow::detail::LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(95) == 0ns);
  for (int i = 0; i < 95; ++i) h.record(1ms);
  for (int i = 0; i < 5; ++i) h.record(30ms);
  CHECK(h.count() == 100);
  CHECK(h.percentile(50) >= 1ms);
  CHECK(h.percentile(50) <= 1250us);
  CHECK(h.percentile(95) <= 1250us);  // the 95th sample is still 1 ms
  CHECK(h.percentile(96) >= 30ms);
  CHECK(h.percentile(96) <= 37500us);
  CHECK(h.percentile(100) >= 30ms);
  CHECK(h.percentile(0) >= 1ms);  // the first sample's bucket
  for (const auto ns : {1LL, 3LL, 4LL, 5LL, 999LL, 1000000LL, 123456789LL, 1LL << 40}) {
    const auto edge = stageflow::detail::LatencyHistogram::upper_edge(stageflow::detail::LatencyHistogram::index(static_cast<std::uint64_t>(ns)));
    CHECK(edge > static_cast<std::uint64_t>(ns));
    CHECK(static_cast<double>(edge) <= static_cast<double>(ns) * 1.25 + 1);
  }
  // Far beyond the last bucket: counted in it, not lost.
  stageflow::detail::LatencyHistogram huge;
  huge.record(std::chrono::hours(24 * 365));
  CHECK(huge.count() == 1);
  CHECK(huge.percentile(50) > std::chrono::hours(1));
  // Every 4,096 samples the counts halve: an old tail fades.
  stageflow::detail::LatencyHistogram fading;
  for (int i = 0; i < 96; ++i) fading.record(30ms);
  for (std::uint64_t i = 96; i < stageflow::detail::LatencyHistogram::fade_every; ++i) fading.record(1ms);
  CHECK(fading.count() == stageflow::detail::LatencyHistogram::fade_every / 2);
  CHECK(fading.percentile(99) >= 30ms);
  for (int round = 0; round < 4; ++round)
    for (std::uint64_t i = 0; i < stageflow::detail::LatencyHistogram::fade_every; ++i) fading.record(1ms);
  CHECK(fading.percentile(99) <= 1250us);  // the old 30 ms answers have faded below 1%
}

TEST_CASE("hedge_at_percentile: the fallback until min_samples, then the stage's own percentile") {
  auto& latencies = stageflow::hedge_latencies<PercentileHedged>();
  CHECK(stageflow::detail::hedge_delay<PercentileHedged>() == 7ms);  // no samples yet
  for (int i = 0; i < 9; ++i) latencies.record(2ms);
  CHECK(stageflow::detail::hedge_delay<PercentileHedged>() == 7ms);  // 9 < min_samples
  latencies.record(2ms);
  CHECK(stageflow::detail::hedge_delay<PercentileHedged>() >= 2ms);
  CHECK(stageflow::detail::hedge_delay<PercentileHedged>() <= 2500us);
  CHECK(stageflow::detail::hedge_delay<FixedHedged>() == 5ms);
  // A run records its answer's latency (the first copy to finish).
  reset();
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(2)};
  const auto before = latencies.count();
  for (int run = 0; run < 3; ++run) REQUIRE(runner.run(stageflow::Pipeline<PercentileHedged>{}, hi).ok());
  CHECK(latencies.count() == before + 3);
  CHECK(calls == 3);
}

namespace {
struct AwaitedPercentile {
  static constexpr std::string_view name = "awaited_percentile";
  static constexpr stageflow::Hedge hedge{.after = stageflow::hedge_at_percentile(90, 5ms, 1000)};
  asio::awaitable<int> execute(const auto&) const { co_return ++calls; }
};
}  // namespace

TEST_CASE("hedge_at_percentile: an awaitable stage records its answers' latencies too") {
  reset();
  const stageflow::Runner<> runner;
  const stageflow::Pipeline<AwaitedPercentile> pipeline;
  asio::io_context io;
  for (int run = 0; run < 3; ++run) REQUIRE(run_on(io, awaited_run(&runner, &pipeline)).ok());
  CHECK(stageflow::hedge_latencies<AwaitedPercentile>().count() == 3);
  CHECK(stageflow::detail::hedge_delay<AwaitedPercentile>() == 5ms);  // 3 < min_samples: the fallback
  CHECK(calls == 3);
}
