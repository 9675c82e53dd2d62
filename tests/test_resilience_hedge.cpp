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
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include "catch2_shim.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

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


template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> value;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    value.emplace(std::move(v));
  });
  io.run();
  io.restart();
  return std::move(value).value();
}
template <class Runner, class Pipeline>
asio::awaitable<stageflow::RunResult<Pipeline, stageflow::ContextSnapshot>> awaited_run(const Runner* runner,
                                                                                        const Pipeline* pipeline,
                                                                                        std::stop_token stop = {}) {
  stageflow::RunOptions options;
  options.stop = stop;
  const stageflow::ContextSnapshot snapshot{.input_text = "hi"};  // no temporary across co_await (GCC 12)
  co_return co_await runner->async_run(*pipeline, snapshot, options);
}

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
