// SPDX-License-Identifier: BSL-1.0
// Async stages (execute returns boost::asio::awaitable) and runner.async_run: mixed with
// synchronous stages on a diamond, every completion token, stop tokens that cancel timer waits
// (a failing sibling, a deadline, the caller, a stage timeout), 1,000 runs in flight on one
// io_context, the runner's own ParallelExecutor, and every shipped policy and sink. Waits are
// bounded by long timers that make a test fail instead of hang; nothing asserts a duration except
// that a 1 s or 30 s wait was cut short.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/sinks/callback_sink.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/sinks/json_lines_sink.hpp>

#include "catch2_shim.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using stageflow::after;
using stageflow::RunStatus;
using stageflow::StageStatus;
namespace pl = stageflow::pipeline;

namespace {

/// Waits `delay` on a timer of the stage's own executor; false when the stop token cut it short.
asio::awaitable<bool> wait_for(std::chrono::steady_clock::duration delay, const std::stop_token& stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  stageflow::cancel_on_stop guard(stop, timer);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

struct Numbers {
  int base = 1;
  std::chrono::milliseconds delay{1};
};

// The diamond: a synchronous source, an async branch (awaitable<int>), a synchronous branch and an
// async join that returns awaitable<StageOutput<int>>.
struct Source {
  static constexpr std::string_view name = "source";
  int execute(const auto& ctx) const { return ctx.snapshot().base; }
};
struct AsyncLeft {
  static constexpr std::string_view name = "left";
  using depends_on = after<Source>;
  asio::awaitable<int> execute(const auto& ctx) const {
    co_await wait_for(ctx.snapshot().delay, ctx.stop_token());
    co_return *stageflow::input<Source>(ctx) + 10;
  }
};
struct SyncRight {
  static constexpr std::string_view name = "right";
  using depends_on = after<Source>;
  int execute(const auto& ctx) const { return *stageflow::input<Source>(ctx) * 100; }
};
struct AsyncJoin {
  static constexpr std::string_view name = "join";
  using depends_on = after<AsyncLeft, SyncRight>;
  asio::awaitable<stageflow::StageOutput<int>> execute(const auto& ctx) const {
    co_await wait_for(ctx.snapshot().delay, ctx.stop_token());
    co_return *stageflow::input<AsyncLeft>(ctx) + *stageflow::input<SyncRight>(ctx);
  }
};
using Diamond = stageflow::Pipeline<Source, AsyncLeft, SyncRight, AsyncJoin>;
constexpr int diamond_of(int base) { return base + 10 + base * 100; }

using Sequential = stageflow::Runner<>;
using Parallel = stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>>;

/// Runs `task` to its end on `io` and returns its value.
template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> value;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value.emplace(std::move(v));
  });
  io.run();
  io.restart();
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

template <class Runner, class Pipeline, class Snapshot>
asio::awaitable<stageflow::RunResult<Pipeline, Snapshot>> awaited_run(const Runner* runner, const Pipeline* pipeline,
                                                                      Snapshot snapshot, stageflow::RunOptions options) {
  co_return co_await runner->async_run(*pipeline, snapshot, options);
}

}  // namespace

TEST_CASE("a mixed sync and async diamond gives the synchronous results, with co_await") {
  asio::io_context io;
  const Sequential runner;
  const Diamond pipeline;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, Numbers{.base = 2}, {}));
  REQUIRE(result.ok());
  CHECK(*result.output<Source>() == 2);
  CHECK(*result.output<AsyncLeft>() == 12);
  CHECK(*result.output<SyncRight>() == 200);
  CHECK(*result.output<AsyncJoin>() == diamond_of(2));
  for (const auto& stage : result.stages) CHECK(stage.status == StageStatus::ok);
  CHECK(result.report<AsyncLeft>().duration >= 1ms);  // an async stage is timed to its completion
}

TEST_CASE("async_run takes a callback (bound to an executor) and use_future") {
  asio::io_context io;
  const Sequential runner;
  const Diamond pipeline;
  const Numbers numbers{.base = 3};

  std::optional<int> from_callback;
  std::thread::id callback_thread;
  runner.async_run(pipeline, numbers, {}, asio::bind_executor(io, [&](auto result) {
                     callback_thread = std::this_thread::get_id();
                     if (result.ok()) from_callback = *result.template output<AsyncJoin>();
                   }));
  CHECK(!from_callback);  // never completed inside async_run
  io.run();
  io.restart();
  CHECK(from_callback == diamond_of(3));
  CHECK(callback_thread == std::this_thread::get_id());

  // use_future's handler has no executor: the stages run on the runner's ParallelExecutor, here
  // one on `io`, ...
  const Parallel on_io{stageflow::ParallelExecutor(io.get_executor())};
  auto future = on_io.async_run(pipeline, numbers, {}, asio::use_future);
  std::jthread driver([&] { io.run(); });
  const auto result = future.get();
  REQUIRE(result.ok());
  CHECK(*result.output<AsyncJoin>() == diamond_of(3));
  // ... or, with a runner that has none, on Asio's system executor (Asio's default).
  const auto on_system = runner.async_run(pipeline, numbers, {}, asio::use_future).get();
  REQUIRE(on_system.ok());
  CHECK(*on_system.output<AsyncJoin>() == diamond_of(3));
}

TEST_CASE("a snapshot passed as shared_ptr is kept alive by the run") {
  asio::io_context io;
  const Sequential runner;
  const Diamond pipeline;
  std::optional<int> out;
  runner.async_run(pipeline, std::make_shared<const Numbers>(Numbers{.base = 4}), {},
                   asio::bind_executor(io, [&](auto result) { out = *result.template output<AsyncJoin>(); }));
  io.run();
  CHECK(out == diamond_of(4));
}

namespace {
struct Gate {
  asio::steady_timer* timer = nullptr;
  int* in_flight = nullptr;
  int* most_in_flight = nullptr;
  int wanted = 0;
};
// Waits until `wanted` runs are in this stage at once (one thread: no locks), then lets all go.
struct AllAtOnce {
  static constexpr std::string_view name = "all_at_once";
  asio::awaitable<int> execute(const auto& ctx) const {
    const Gate& g = ctx.snapshot().gate;
    if (++*g.in_flight > *g.most_in_flight) *g.most_in_flight = *g.in_flight;
    if (*g.in_flight == g.wanted) g.timer->cancel();
    boost::system::error_code ec;
    if (*g.most_in_flight < g.wanted) co_await g.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    --*g.in_flight;
    co_return ctx.snapshot().id;
  }
};
struct Square {
  static constexpr std::string_view name = "square";
  using depends_on = after<AllAtOnce>;
  long execute(const auto& ctx) const { return long{*stageflow::input<AllAtOnce>(ctx)} * *stageflow::input<AllAtOnce>(ctx); }
};
struct PlusOne {
  static constexpr std::string_view name = "plus_one";
  using depends_on = after<Square>;
  asio::awaitable<long> execute(const auto& ctx) const {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);  // give the thread back
    co_return *stageflow::input<Square>(ctx) + 1;
  }
};
struct Numbered {
  int id = 0;
  Gate gate;
};
}  // namespace

TEST_CASE("1,000 runs in flight at once on one io_context, every result exact") {
  asio::io_context io(1);
  asio::steady_timer gate_timer(io, 30s);  // the bound: if they never all get in, the test fails
  int in_flight = 0, most = 0;
  const Sequential runner;
  const stageflow::Pipeline<AllAtOnce, Square, PlusOne> pipeline;
  constexpr int runs = 1000;
  std::vector<std::optional<long>> results(runs);
  for (int i = 0; i < runs; ++i)
    runner.async_run(pipeline, std::make_shared<const Numbered>(Numbered{i, {&gate_timer, &in_flight, &most, runs}}),
                     {}, asio::bind_executor(io, [&results, i](auto result) {
                       if (result.ok()) results[i] = *result.template output<PlusOne>();
                     }));
  io.run();
  CHECK(most == runs);
  int exact = 0;
  for (int i = 0; i < runs; ++i) exact += results[i] == long{i} * i + 1;
  CHECK(exact == runs);
}

namespace {
struct Flags {
  std::atomic<bool>* sibling_cut_short;
  std::chrono::milliseconds fail_after{5};
};
struct Fork {
  static constexpr std::string_view name = "fork";
  int execute() const { return 0; }
};
struct FailsSoon {
  static constexpr std::string_view name = "fails_soon";
  using depends_on = after<Fork>;
  asio::awaitable<int> execute(const auto& ctx) const {
    co_await wait_for(ctx.snapshot().fail_after, ctx.stop_token());
    throw std::runtime_error("upstream service said no");
  }
};
struct WaitsLong {
  static constexpr std::string_view name = "waits_long";
  using depends_on = after<Fork>;
  asio::awaitable<stageflow::StageOutput<int>> execute(const auto& ctx) const {
    const bool waited = co_await wait_for(30s, ctx.stop_token());
    if (!waited) {
      ctx.snapshot().sibling_cut_short->store(true);
      co_return stageflow::cancel("stopped");
    }
    co_return 1;
  }
};
}  // namespace

TEST_CASE("a failure in one async branch cancels its sibling's timer wait through the stop token") {
  asio::io_context io;
  std::atomic<bool> cut_short{false};
  const Sequential runner;
  const stageflow::Pipeline<Fork, FailsSoon, WaitsLong> pipeline;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, Flags{&cut_short}, {}));
  CHECK(result.status == RunStatus::failed);
  CHECK(result.error == "upstream service said no");
  CHECK(result.error_stage == "fails_soon");
  CHECK(result.report<FailsSoon>().status == StageStatus::fail);
  CHECK(cut_short.load());
  CHECK(result.duration < 20s);  // the 30 s wait did not run out
}

namespace {
struct WaitsOneSecond {
  static constexpr std::string_view name = "waits_one_second";
  asio::awaitable<std::string> execute(const auto& ctx) const {
    const bool waited = co_await wait_for(1s, ctx.stop_token());
    co_return waited ? "answer" : "fallback";
  }
};
struct After {
  static constexpr std::string_view name = "after";
  using depends_on = after<WaitsOneSecond>;
  int execute() const { return 1; }
};
struct Empty {};
}  // namespace

TEST_CASE("a deadline ends a run whose async stage waits 1 s") {
  asio::io_context io;
  const Sequential runner;
  const stageflow::Pipeline<WaitsOneSecond, After> pipeline;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, Empty{},
                                             {.deadline = std::chrono::steady_clock::now() + 30ms}));
  CHECK(result.status == RunStatus::timed_out);
  CHECK(result.error == "the run's deadline passed");
  REQUIRE(result.output<WaitsOneSecond>() != nullptr);
  CHECK(*result.output<WaitsOneSecond>() == "fallback");  // its wait was cancelled
  CHECK(result.report<After>().status == StageStatus::not_run);
  CHECK(result.duration < 900ms);
}

TEST_CASE("the caller's stop cancels an async run; DeadlineMode::abandon is refused") {
  asio::io_context io;
  const Sequential runner;
  const stageflow::Pipeline<WaitsOneSecond, After> pipeline;
  std::stop_source stop;
  asio::steady_timer soon(io, 10ms);
  soon.async_wait([&](auto) { stop.request_stop(); });
  const auto result = run_on(io, awaited_run(&runner, &pipeline, Empty{}, {.stop = stop.get_token()}));
  CHECK(result.status == RunStatus::cancelled);
  CHECK(result.error == "stop requested");
  CHECK(*result.output<WaitsOneSecond>() == "fallback");

  const auto refused = run_on(io, awaited_run(&runner, &pipeline, Empty{},
                                              {.deadline = std::chrono::steady_clock::now() + 1s,
                                               .on_deadline = stageflow::DeadlineMode::abandon}));
  CHECK(refused.status == RunStatus::failed);
  CHECK(refused.error.find("does not abandon") != std::string::npos);
  CHECK(refused.report<WaitsOneSecond>().status == StageStatus::not_run);
}

namespace {
struct SlowWithTimeout {
  static constexpr std::string_view name = "slow_with_timeout";
  static constexpr auto timeout = 20ms;
  asio::awaitable<void> execute(const auto& ctx) const { co_await wait_for(30s, ctx.stop_token()); }
};
struct Throws {
  static constexpr std::string_view name = "throws";
  asio::awaitable<int> execute() const {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    throw std::logic_error("bad input");
  }
};
struct Skips {
  static constexpr std::string_view name = "skips";
  asio::awaitable<stageflow::StageOutput<int>> execute() const { co_return stageflow::skip("nothing to do"); }
};
struct ReadsSkipped {
  static constexpr std::string_view name = "reads_skipped";
  using depends_on = after<Skips>;
  asio::awaitable<bool> execute(const auto& ctx) const { co_return stageflow::input<Skips>(ctx) == nullptr; }
};
}  // namespace

TEST_CASE("async stages time out, throw, and skip like synchronous ones") {
  asio::io_context io;
  const Sequential runner;
  const stageflow::Pipeline<SlowWithTimeout> slow;
  const auto timed = run_on(io, awaited_run(&runner, &slow, Empty{}, {}));
  CHECK(timed.status == RunStatus::timed_out);
  CHECK(timed.report<SlowWithTimeout>().status == StageStatus::timed_out);
  CHECK(timed.duration < 20s);

  const stageflow::Pipeline<Throws> throws;
  const auto failed = run_on(io, awaited_run(&runner, &throws, Empty{}, {}));
  CHECK(failed.status == RunStatus::failed);
  CHECK(failed.error == "bad input");
  CHECK(failed.output<Throws>() == nullptr);

  const stageflow::Pipeline<Skips, ReadsSkipped> skips;
  const auto skipped = run_on(io, awaited_run(&runner, &skips, Empty{}, {}));
  CHECK(skipped.ok());
  CHECK(skipped.report<Skips>().status == StageStatus::skip);
  CHECK(skipped.report<Skips>().reason == "nothing to do");
  CHECK(*skipped.output<ReadsSkipped>());
}

namespace {
/// Records on which threads the hooks and stages ran.
struct ThreadLog {
  std::mutex mutex;
  std::vector<std::thread::id> stage_threads;
  std::atomic<int> before{0}, after{0};
};
struct Watch {
  ThreadLog* log;
  template <class Run, class Stage>
  void before_stage(Run&, Stage&) const {
    ++log->before;
  }
  template <class Run, class Stage>
  void after_stage(Run&, Stage& stage) const {
    if (stage.status() == StageStatus::ok) ++log->after;
  }
};
struct Where {
  static constexpr std::string_view name = "where";
  asio::awaitable<int> execute(const auto& ctx) const {
    co_await wait_for(1ms, ctx.stop_token());
    std::lock_guard lock(ctx.snapshot().log->mutex);
    ctx.snapshot().log->stage_threads.push_back(std::this_thread::get_id());
    co_return 7;
  }
};
template <int N>
struct WhereToo : Where {
  static constexpr std::string_view name = N == 1 ? "where_1" : "where_2";
};
struct Logged {
  ThreadLog* log;
};
}  // namespace

TEST_CASE("with a ParallelExecutor, async stages run on its pool and the result comes back to the caller") {
  asio::io_context io;
  ThreadLog log;
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, Watch> runner{
      stageflow::ParallelExecutor(2), Watch{&log}};
  const stageflow::Pipeline<Where, WhereToo<1>, WhereToo<2>> pipeline;
  std::thread::id resumed_on;
  std::optional<RunStatus> status;
  asio::co_spawn(
      io, awaited_run(&runner, &pipeline, Logged{&log}, {}),
      [&](std::exception_ptr, auto result) {
        resumed_on = std::this_thread::get_id();
        status = result.status;
      });
  io.run();
  CHECK(status == RunStatus::completed);
  CHECK(resumed_on == std::this_thread::get_id());
  REQUIRE(log.stage_threads.size() == 3);
  for (const auto& id : log.stage_threads) CHECK(id != std::this_thread::get_id());
  CHECK(log.before.load() == 3);
  CHECK(log.after.load() == 3);
}

TEST_CASE("a pool of threads as the run's executor: the same results, under concurrency", "[threads]") {
  asio::thread_pool pool(3);
  const Parallel runner{stageflow::ParallelExecutor(pool.get_executor())};
  const Diamond pipeline;
  std::vector<std::future<stageflow::RunResult<Diamond, Numbers>>> futures;
  for (int i = 0; i < 40; ++i)
    futures.push_back(
        runner.async_run(pipeline, std::make_shared<const Numbers>(Numbers{.base = i}), {}, asio::use_future));
  int exact = 0;
  for (int i = 0; i < 40; ++i) {
    const auto result = futures[i].get();
    exact += result.ok() && *result.output<AsyncJoin>() == diamond_of(i);
  }
  CHECK(exact == 40);
  pool.join();
}

// ---- every shipped policy and sink with async stages ---------------------------------------------

namespace {
struct Normalize {
  static constexpr std::string_view name = "normalize";
  asio::awaitable<std::string> execute(const auto& ctx) const {
    co_await wait_for(1ms, ctx.stop_token());
    co_return ctx.snapshot().input_text + "!";
  }
};
struct Short {  // the synchronous stage among async ones
  static constexpr std::string_view name = "short";
  using depends_on = after<Normalize>;
  std::string execute(const auto& ctx) const { return stageflow::input<Normalize>(ctx)->substr(0, 3); }
};
struct Long {
  static constexpr std::string_view name = "long";
  using depends_on = after<Normalize>;
  asio::awaitable<std::vector<std::string>> execute(const auto& ctx) const {
    co_await wait_for(2ms, ctx.stop_token());
    co_return std::vector<std::string>(50, *stageflow::input<Normalize>(ctx));
  }
};
struct Join {
  static constexpr std::string_view name = "join";
  using depends_on = after<Short, Long>;
  asio::awaitable<std::size_t> execute(const auto& ctx) const {
    co_return stageflow::input<Short>(ctx)->size() + stageflow::input<Long>(ctx)->size();
  }
};
using Chat = stageflow::Pipeline<Normalize, Short, Long, Join>;

stageflow::ContextSnapshot chat(const std::string& text) {
  return stageflow::ContextSnapshot{.run = stageflow::RunIdentity::generate(), .input_text = text};
}

template <class Runner, class Pipeline>
asio::awaitable<int> many_runs(const Runner* runner, const Pipeline* pipeline, int runs, std::size_t expected) {
  int exact = 0;
  for (int i = 0; i < runs; ++i) {
    const auto result = co_await runner->async_run(*pipeline, chat("run " + std::to_string(i)));
    exact += result.ok() && *result.template output<Join>() == expected;
  }
  co_return exact;
}

// Writes into the const snapshot while it waits: the interceptor must see it.
struct Tamper {
  static constexpr std::string_view name = "tamper";
  asio::awaitable<int> execute(const auto& ctx) const {
    co_await wait_for(1ms, ctx.stop_token());
    const_cast<stageflow::ContextSnapshot&>(ctx.snapshot()).input_text += "?";
    co_return 1;
  }
};
}  // namespace

TEST_CASE("every shipped policy and sink works with async stages") {
  stageflow::CollectingSink sink;
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{});
  const stageflow::Runner<stageflow::CollectingSink, pl::UuidTelemetry<>, pl::ImmutabilityInterceptor,
                          pl::ContextSizeInterceptor, pl::MemoryTracking>
      runner{sink, pl::MemoryTracking(tracker)};
  const Chat pipeline;
  asio::io_context io;
  // Join: the size of Short (3 characters) plus the 50 strings of Long.
  CHECK(run_on(io, many_runs(&runner, &pipeline, 10, 3 + 50)) == 10);
  CHECK(sink.count("pipeline.started") == 10);
  CHECK(sink.count("pipeline.completed") == 10);
  CHECK(sink.count("stage.started") == 40);
  CHECK(sink.count("stage.completed") == 40);
  CHECK(sink.count("immutability.violation") == 0);
  CHECK(sink.count("uuid.collision") == 0);
  CHECK(sink.count("memory.sample") >= 10 * (2 + 2 * 4));
  CHECK(runner.policy<pl::UuidTelemetry<>>().monitor().counters().distinct_ids >= 10u);

  const auto one = run_on(io, awaited_run(&runner, &pipeline, chat("hello"), {}));
  REQUIRE(one.ok());
  // Context growth is attributed to the async stage whose output grew it.
  CHECK(one.metric("long", "context_growth_bytes") ==
        static_cast<double>(stageflow::serialization::byte_count(*one.output<Long>())));
  CHECK(one.metric("normalize", "context_growth_bytes") ==
        static_cast<double>(stageflow::serialization::byte_count(*one.output<Normalize>())));
  // An async stage shares its thread while it waits: no per-stage memory figures for it.
  CHECK(!one.metric("long", "heap_delta_bytes"));
  CHECK(one.metric("pipeline", "memory_per_stage").has_value());
}

TEST_CASE("the immutability interceptor catches an async stage that writes into the snapshot") {
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink, pl::ImmutabilityInterceptor> runner{sink};
  const stageflow::Pipeline<Tamper> pipeline;
  asio::io_context io;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, chat("x"), {}));
  CHECK(result.status == RunStatus::failed);
  CHECK(result.error_stage == "tamper");
  CHECK(result.error.find("input_text") != std::string::npos);
  CHECK(sink.count("immutability.violation") == 1);
}

TEST_CASE("the context size interceptor fails a run an async stage grew too much") {
  const stageflow::Runner<pl::ContextSizeInterceptor> runner{
      pl::ContextSizeInterceptor({.max_size_bytes = 100, .fail_when_exceeded = true})};
  const Chat pipeline;
  asio::io_context io;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, chat("hello"), {}));
  CHECK(result.status == RunStatus::failed);
  CHECK(result.error.find("100") != std::string::npos);
}

TEST_CASE("JSON Lines and callback sinks receive the events of async runs") {
  std::ostringstream lines;
  std::vector<std::string> types;
  const stageflow::Runner<stageflow::JsonLinesSink<>, stageflow::CallbackSink<>> runner{
      stageflow::JsonLinesSink<>(lines), stageflow::CallbackSink<>([&](const stageflow::Event& e) {
        types.emplace_back(e.type);
      })};
  const Chat pipeline;
  asio::io_context io;
  const auto result = run_on(io, awaited_run(&runner, &pipeline, chat("hi"), {}));
  REQUIRE(result.ok());
  CHECK(types.front() == "pipeline.started");
  CHECK(types.back() == "pipeline.completed");
  CHECK(std::count(types.begin(), types.end(), "stage.completed") == 4);
  const std::string text = lines.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == static_cast<long>(types.size()));
  CHECK(text.find("\"stage.completed\"") != std::string::npos);
}

namespace {
// Lets Asio's operation_aborted escape when its wait is cancelled.
struct AbortsOnStop {
  static constexpr std::string_view name = "aborts_on_stop";
  asio::awaitable<int> execute(const auto& ctx) const {
    asio::steady_timer timer(co_await asio::this_coro::executor, 30s);
    stageflow::cancel_on_stop guard(ctx.stop_token(), timer);
    co_await timer.async_wait(asio::use_awaitable);
    co_return 1;
  }
};
struct Sibling {
  static constexpr std::string_view name = "sibling";
  asio::awaitable<int> execute() const {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    throw std::runtime_error("sibling broke");
  }
};
}  // namespace

TEST_CASE("a stage whose wait the stop token cancelled was stopped, not failed") {
  asio::io_context io;
  const Sequential runner;
  const stageflow::Pipeline<AbortsOnStop> alone;
  const auto at_deadline = run_on(io, awaited_run(&runner, &alone, Empty{},
                                                  {.deadline = std::chrono::steady_clock::now() + 20ms}));
  CHECK(at_deadline.status == RunStatus::timed_out);
  CHECK(at_deadline.report<AbortsOnStop>().status == StageStatus::timed_out);
  CHECK(at_deadline.error == "the run's deadline passed");

  std::stop_source stop;
  asio::steady_timer soon(io, 10ms);
  soon.async_wait([&](auto) { stop.request_stop(); });
  const auto by_caller = run_on(io, awaited_run(&runner, &alone, Empty{}, {.stop = stop.get_token()}));
  CHECK(by_caller.status == RunStatus::cancelled);
  CHECK(by_caller.report<AbortsOnStop>().status == StageStatus::cancel);

  const stageflow::Pipeline<AbortsOnStop, Sibling> with_sibling;
  const auto failed = run_on(io, awaited_run(&runner, &with_sibling, Empty{}, {}));
  CHECK(failed.status == RunStatus::failed);
  CHECK(failed.error == "sibling broke");  // the failure stays the run's story
  CHECK(failed.report<AbortsOnStop>().status == StageStatus::cancel);
}

namespace {
struct Plain {
  static constexpr std::string_view name = "plain";
  int execute(const auto& ctx) const { return ctx.snapshot().base * 2; }
};
}  // namespace

TEST_CASE("a pipeline with nothing to await completes through the handler, never inside async_run") {
  asio::io_context io;
  const Sequential runner;
  const stageflow::Pipeline<Plain> pipeline;
  std::optional<int> out;
  runner.async_run(pipeline, Numbers{.base = 21}, {},
                   asio::bind_executor(io, [&](auto result) { out = *result.template output<Plain>(); }));
  CHECK(!out);
  io.run();
  CHECK(out == 42);
}

TEST_CASE("an async run joins the caller's trace: every event carries its ids, stages are child spans") {
  asio::io_context io;
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink> runner{sink};
  const Diamond pipeline;
  const auto parent = stageflow::TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(parent);
  const auto result = run_on(
      io, awaited_run(&runner, &pipeline, Numbers{.base = 2}, stageflow::RunOptions{.traceparent = parent->format()}));
  REQUIRE(result.ok());
  const auto events = sink.events();
  REQUIRE(!events.empty());
  stageflow::SpanId run_span;
  for (const auto& e : events)
    if (e.stage.empty()) run_span = e.trace.span_id;
  CHECK(run_span.is_valid());
  for (const auto& e : events) {
    INFO(e.type << " " << e.stage);
    CHECK(e.trace.trace_id == parent->trace_id);
    CHECK(e.trace.parent_span_id == (e.stage.empty() ? parent->parent_id : run_span));
  }
}

TEST_CASE("async_run of a pipeline with nothing to await, without a deadline, joins the caller's trace (issue 21)") {
  // The path where a sequential runner runs such a pipeline inside async_run once called
  // run(p, s, stop) and so started a new trace.
  asio::io_context io;
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink> runner{sink};
  const stageflow::Pipeline<Plain> pipeline;
  const auto parent = stageflow::TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(parent);
  const std::string header = parent->format();
  const auto result =
      run_on(io, awaited_run(&runner, &pipeline, Numbers{.base = 2}, stageflow::RunOptions{.traceparent = header}));
  REQUIRE(result.ok());
  const auto events = sink.events();
  REQUIRE(events.size() >= 3);
  for (const auto& e : events) {
    INFO(e.type << " " << e.stage);
    CHECK(e.trace.trace_id == parent->trace_id);
    if (e.stage.empty()) CHECK(e.trace.parent_span_id == parent->parent_id);
  }
}

// ---- co_await of a pipeline with nothing to await: no post (issue 24) ----------------------------

namespace {
struct Double {
  static constexpr std::string_view name = "double";
  using depends_on = after<Plain>;
  int execute(const auto& ctx) const { return *stageflow::input<Plain>(ctx) * 2; }
};
struct MaybeThrows {
  static constexpr std::string_view name = "maybe_throws";
  using depends_on = after<Double>;
  int execute(const auto& ctx) const {
    if (ctx.snapshot().base < 0) throw std::runtime_error("negative base");
    return *stageflow::input<Double>(ctx) + 1;
  }
};
using SyncChain = stageflow::Pipeline<Plain, Double, MaybeThrows>;

struct AwaitsNothing {  // async, but completes at once
  static constexpr std::string_view name = "awaits_nothing";
  asio::awaitable<int> execute(const auto& ctx) const { co_return ctx.snapshot().base; }
};

struct RetriesPlain {  // synchronous, but its backoff would wait on the executor's timer
  static constexpr std::string_view name = "retries_plain";
  static constexpr stageflow::Retry retry{.max_attempts = 2, .initial_backoff = 1ms};
  int execute(const auto& ctx) const { return ctx.snapshot().base; }
};

/// `runs` co_awaited runs of `pipeline` in one coroutine, with the default token or an explicit
/// use_awaitable; counts the runs that completed.
template <class Runner, class Pipeline>
asio::awaitable<void> awaited_runs(const Runner* runner, const Pipeline* pipeline, int runs, bool explicit_token,
                                   int* ok) {
  for (int i = 0; i < runs; ++i) {
    const Numbers input{.base = i};
    if (explicit_token) {
      auto result = co_await runner->async_run(*pipeline, input, {}, asio::use_awaitable);
      *ok += result.ok();
    } else {
      auto result = co_await runner->async_run(*pipeline, input);
      *ok += result.ok();
    }
  }
}
/// The handlers io.run() executed for those runs: the coroutine's own, plus one per post.
template <class Runner, class Pipeline>
std::size_t handlers_for(const Runner& runner, const Pipeline& pipeline, int runs, bool explicit_token) {
  asio::io_context io;
  int ok = 0;
  asio::co_spawn(io, awaited_runs(&runner, &pipeline, runs, explicit_token, &ok), asio::detached);
  const std::size_t handlers = io.run();
  CHECK(ok == runs);
  return handlers;
}
}  // namespace

TEST_CASE("co_await async_run of synchronous stages resumes the coroutine without a post") {
  const Sequential runner;
  const SyncChain sync;
  const std::size_t spawn_only = handlers_for(runner, sync, 0, false);
  CHECK(handlers_for(runner, sync, 10, false) == spawn_only);
  CHECK(handlers_for(runner, sync, 10, true) == spawn_only);  // an explicit use_awaitable too
  // A pipeline with an awaitable stage takes the full path: at least its completion is posted.
  const stageflow::Pipeline<AwaitsNothing> awaiting;
  CHECK(handlers_for(runner, awaiting, 10, false) >= spawn_only + 10);
  const stageflow::Pipeline<RetriesPlain> retrying;  // and so does one with a stage that may retry
  CHECK(handlers_for(runner, retrying, 10, false) >= spawn_only + 10);
  // So does a callback: a completion is never delivered inside async_run.
  asio::io_context io;
  int called = 0;
  for (int i = 0; i < 3; ++i)
    runner.async_run(sync, Numbers{}, {}, asio::bind_executor(io, [&](auto result) { called += result.ok(); }));
  CHECK(called == 0);
  CHECK(io.run() == 3);
  CHECK(called == 3);
}

TEST_CASE("co_await async_run of synchronous stages gives run()'s results and events, on the awaiting thread") {
  asio::io_context io;
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::CollectingSink> runner{sink};
  const SyncChain pipeline;
  for (const int base : {3, -1}) {  // -1: the last stage throws
    INFO("base " << base);
    const auto direct = runner.run(pipeline, Numbers{.base = base});
    const auto direct_events = sink.events();
    sink.clear();
    const auto awaited = run_on(io, awaited_run(&runner, &pipeline, Numbers{.base = base}, {}));
    const auto awaited_events = sink.events();
    sink.clear();
    CHECK(awaited.status == direct.status);
    CHECK(awaited.error == direct.error);
    CHECK(awaited.error_stage == direct.error_stage);
    for (std::size_t i = 0; i < SyncChain::size; ++i) {
      CHECK(awaited.stages[i].name == direct.stages[i].name);
      CHECK(awaited.stages[i].status == direct.stages[i].status);
      CHECK(awaited.stages[i].reason == direct.stages[i].reason);
    }
    REQUIRE(awaited.output<Double>() != nullptr);
    CHECK(*awaited.output<Double>() == base * 4);
    if (base > 0) {
      CHECK(*awaited.output<MaybeThrows>() == base * 4 + 1);
    } else {
      CHECK(awaited.status == RunStatus::failed);
      CHECK(awaited.report<MaybeThrows>().status == StageStatus::fail);
      CHECK(awaited.report<MaybeThrows>().reason.find("negative base") != std::string::npos);
    }
    REQUIRE(awaited_events.size() == direct_events.size());
    for (std::size_t i = 0; i < direct_events.size(); ++i) {
      CHECK(awaited_events[i].type == direct_events[i].type);
      CHECK(awaited_events[i].stage == direct_events[i].stage);
      CHECK(awaited_events[i].status == direct_events[i].status);
      CHECK(awaited_events[i].reason == direct_events[i].reason);
    }
  }
}

namespace {
/// A synchronous stage that runs until its stop token fires (bounded by 10 s), on the thread it reports.
struct UntilStopped {
  static constexpr std::string_view name = "until_stopped";
  std::thread::id execute(const auto& ctx) const {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!ctx.stop_token().stop_requested() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    return std::this_thread::get_id();
  }
};
}  // namespace

TEST_CASE("co_await async_run of synchronous stages: stop, deadline and abandon as documented") {
  asio::io_context io;
  const Sequential runner;
  const stageflow::Pipeline<UntilStopped> pipeline;
  std::stop_source stop;
  stop.request_stop();
  const auto stopped = run_on(io, awaited_run(&runner, &pipeline, Empty{}, {.stop = stop.get_token()}));
  const auto stopped_direct = runner.run(pipeline, Empty{}, stageflow::RunOptions{.stop = stop.get_token()});
  CHECK(stopped.status == RunStatus::cancelled);
  CHECK(stopped.error == stopped_direct.error);
  CHECK(stopped.report<UntilStopped>().status == stopped_direct.report<UntilStopped>().status);

  // The deadline's watchdog fires the token of a stage running on the awaiting thread.
  const auto timed = run_on(
      io, awaited_run(&runner, &pipeline, Empty{}, {.deadline = std::chrono::steady_clock::now() + 20ms}));
  CHECK(timed.status == RunStatus::timed_out);
  CHECK(timed.error == "the run's deadline passed");
  CHECK(timed.duration < 5s);
  REQUIRE(timed.output<UntilStopped>() != nullptr);
  CHECK(*timed.output<UntilStopped>() == std::this_thread::get_id());

  // run() accepts DeadlineMode::abandon; async_run refuses it, on this path too.
  const auto refused = run_on(io, awaited_run(&runner, &pipeline, Empty{},
                                              {.deadline = std::chrono::steady_clock::now() + 1s,
                                               .on_deadline = stageflow::DeadlineMode::abandon}));
  CHECK(refused.status == RunStatus::failed);
  CHECK(refused.error.find("does not abandon") != std::string::npos);
  CHECK(refused.report<UntilStopped>().status == StageStatus::not_run);
}
