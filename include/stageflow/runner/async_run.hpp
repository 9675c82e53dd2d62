// SPDX-License-Identifier: BSL-1.0
// async_run: pipelines whose stages co_await, run as Boost.Asio asynchronous operations.
//
//   struct Enrich {  // execute returns awaitable<T>, awaitable<StageOutput<T>> or awaitable<void>
//     static constexpr std::string_view name = "enrich";
//     boost::asio::awaitable<Profile> execute(const auto& ctx) const { co_return co_await fetch(ctx.snapshot()); }
//   };
//
//   stageflow::RunResult result = co_await runner.async_run(pipeline, snapshot, options);
//
// async_run(pipeline, snapshot[, options], token) is an asynchronous operation with signature
// void(RunResult<Pipeline, Snapshot>): the token may be boost::asio::use_awaitable (the default), a
// callback, use_future, or anything else Asio's async_result knows. The handler runs on its
// associated executor (use_awaitable: the awaiting coroutine's; a plain callback has none, so bind
// one: boost::asio::bind_executor(io, callback)), never inside async_run itself.
//
// Where stages run: with a runner whose executor is a ParallelExecutor, on it (its pool, or the
// Asio executor it was given); otherwise on the handler's executor, scheduled as ParallelExecutor
// schedules them. Each execution of an async stage is a coroutine on a strand of that executor, so
// its own I/O objects are used in order; independent async stages overlap, even on one thread. A
// synchronous stage in the mix blocks its thread while it runs, as anywhere in Asio.
//
// Stopping: a failure, a cancellation, the caller's `options.stop`, the deadline and a stage's
// timeout fire `ctx.stop_token()`; an async stage ends its waits by it (stageflow::cancel_on_stop,
// <stageflow/runner/cancel_on_stop.hpp>). A stage that lets the resulting operation_aborted escape
// was stopped, not failed: timed_out at the deadline (or its own timeout), cancelled otherwise.
// Policies are unchanged: hooks run before and after each stage, on whichever thread resumes it.
//
// A pipeline without async stages, on a runner without a concurrent executor, runs inside
// async_run as run() would (on the calling thread); co_awaited (use_awaitable) it completes
// without a post, the awaiting coroutine resumed directly; with any other token the completion is posted.
//
// DeadlineMode::abandon is refused by async_run (the run fails at once, saying so): an async
// stage gives its thread back while it waits, so a stage that honours its stop token ends the run
// by its deadline without being abandoned.
#pragma once

// Boost 1.74's Asio enables its coroutine support (awaitable, co_spawn) for clang only through
// <experimental/coroutine>, which libstdc++ does not have; clang implements C++20 coroutines under
// the standard names all the same. Say so before Asio's headers look. (A program that included
// <boost/asio/awaitable.hpp> before this header must define both macros itself, e.g. -D flags.)
#if defined(__clang__) && !defined(BOOST_ASIO_HAS_CO_AWAIT) && defined(__cpp_impl_coroutine) && \
    __has_include(<coroutine>)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif

#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/detail/hedged_attempt.hpp>
#include <stageflow/runner/detail/run_engine.hpp>
#include <stageflow/runner/detail/run_frame.hpp>
#include <stageflow/runner/detail/runner_filter.hpp>
#include <stageflow/runner/hooks.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/retry_clock.hpp>
#include <stageflow/runner/run_options.hpp>
#include <stageflow/runner/run_request.hpp>
#include <stageflow/runner/runner.hpp>

#include <utility>  // before Asio's awaitable.hpp, which uses std::exchange without it (Boost 1.74)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#if !defined(BOOST_ASIO_HAS_CO_AWAIT)
#error "stageflow: async_run needs Boost.Asio's C++20 coroutine support (BOOST_ASIO_HAS_CO_AWAIT): compile with -std=c++20 (with Boost 1.74 and clang, define BOOST_ASIO_HAS_CO_AWAIT=1 and BOOST_ASIO_HAS_STD_COROUTINE=1 if an Asio header came before this one)"
#endif

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>

namespace stageflow::detail {

template <class Token> inline constexpr bool is_use_awaitable = false;
template <class E> inline constexpr bool is_use_awaitable<boost::asio::use_awaitable_t<E>> = true;

/// The frame of an async run: a RunFrame plus the executor its async stages are spawned on.
template <class Runner, class Pipeline, class Snapshot>
struct AsyncFrame : RunFrame<Runner, Pipeline, Snapshot, true> {
  static constexpr bool async_frame = true;
  AsyncFrame(const Pipeline& p, const Snapshot& snapshot, const typename Runner::policies_type& policies,
             const std::stop_token& caller_stop, RunResult<Pipeline, Snapshot>* into,
             boost::asio::any_io_executor executor)
      : RunFrame<Runner, Pipeline, Snapshot, true>(p, snapshot, policies, caller_stop, into),
        stage_executor(std::move(executor)) {}
  boost::asio::any_io_executor stage_executor;
};

/// The runner that schedules an async run: the runner itself when its executor is a
/// ParallelExecutor, else the same policies and clock over a ParallelExecutor on the run's executor
/// (its steps are static and take the policies by pointer, so nothing is copied).
template <class Runner>
struct async_runner { using type = Runner; };
template <class Config, class... Policies>
  requires(!std::is_same_v<typename Config::executor, ParallelExecutor>)
struct async_runner<BasicRunner<Config, Policies...>> {
  using type = BasicRunner<runner_config<typename Config::clock, ParallelExecutor>, Policies...>;
};

template <class Config, class... Policies>
struct AsyncRun<BasicRunner<Config, Policies...>> {
  using Runner = BasicRunner<Config, Policies...>;
  using Scheduler = typename async_runner<Runner>::type;
  using Engine = detail::Engine<Scheduler>;
  static constexpr bool own_executor = std::is_same_v<Runner, Scheduler>;

  // ---- one async stage ---------------------------------------------------------------------

  /// The stage's continuation, called exactly once: by the coroutine when the stage is done, or,
  /// if the executor destroys the coroutine before it finishes (its context was shut down), by
  /// the destructor, so the run still ends instead of waiting forever.
  template <class Frame, class K>
  struct Continuation {
    Frame* frame;
    std::size_t index;
    std::optional<K> k;
    Continuation(Frame* f, std::size_t i, K&& fn) : frame(f), index(i), k(std::move(fn)) {}
    Continuation(Continuation&& other) noexcept : frame(other.frame), index(other.index), k(std::move(other.k)) {
      other.k.reset();
    }
    Continuation& operator=(Continuation&&) = delete;
    void operator()(bool proceed) { std::exchange(k, std::nullopt).value()(proceed); }
    ~Continuation() {
      if (!k) return;
      frame->core.end(RunStatus::failed, "stage '" + std::string(Frame::pipeline_type::names[index]) +
                                             "' was dropped by its executor before it finished (was its context "
                                             "destroyed?)");
      (*this)(false);
    }
  };

  /// Called by Steps::start for async stage I: spawns its coroutine on a strand of the run's
  /// executor; the coroutine calls k when the stage is done.
  template <std::size_t I, class Steps, class K>
  static void start_stage(const Steps& steps, K&& k) {
    auto& frame = *steps.frame;
    using Frame = std::remove_reference_t<decltype(frame)>;
    if (!Engine::template Life<Frame, I>::admit(frame)) return std::forward<K>(k)(false);
    boost::asio::co_spawn(boost::asio::make_strand(frame.stage_executor),
                          stage_coroutine<I>(steps.owner, Continuation<Frame, std::decay_t<K>>(&frame, I, std::move(k))),
                          boost::asio::detached);
  }

  // A static function, not a lambda, and its parameters by value: a coroutine lambda's captures
  // die with the lambda object while the coroutine is suspended, and so do the referents of
  // reference parameters. No temporaries live across the co_await (GCC 12 mishandles some).
  // The stage's lifecycle is StageLifecycle's, as for a synchronous stage; only the attempt awaits.
  template <std::size_t I, class Frame, class K>
  static boost::asio::awaitable<void> stage_coroutine(std::shared_ptr<Frame> owner, Continuation<Frame, K> k) {
    using S = list_element_t<I, typename Frame::pipeline_type::stage_types>;
    using Awaited = awaited_t<stage_result_t<typename Frame::snapshot_type, typename Frame::pipeline_type, S>>;
    using Life = typename Engine::template Life<Frame, I>;
    bool proceed = false;
    {
      Life life(*owner);
      while (true) {  // once, unless the stage declares `retry` and an attempt failed
        life.before();
        if (!life.may_start()) break;
        life.begin_attempt();
        try {
          if constexpr (!is_async_stage_v<typename Frame::snapshot_type, typename Frame::pipeline_type, S>) {
            // A synchronous stage that retries comes here for its backoff's timer.
            life.store([&]() -> decltype(auto) { return invoke_execute(life.stage(), life.context()); });
          } else if constexpr (has_hedge<S> && std::is_void_v<Awaited>) {
            co_await hedged_attempt<S, Life, std::monostate>(life);
            life.store([] {});
          } else if constexpr (has_hedge<S>) {
            Awaited value = co_await hedged_attempt<S, Life, Awaited>(life);
            life.store([&] { return std::move(value); });
          } else if constexpr (std::is_void_v<Awaited>) {
            co_await invoke_execute(life.stage(), life.context());
            life.store([] {});
          } else {
            Awaited value = co_await invoke_execute(life.stage(), life.context());
            life.store([&] { return std::move(value); });
          }
        } catch (const boost::system::system_error& e) {
          // I/O its stop token cancelled (Asio throws operation_aborted): stopped, not failed.
          if (e.code() == boost::asio::error::operation_aborted && life.context().stop_requested())
            life.stopped();
          else
            life.threw(std::current_exception());
        } catch (...) {
          life.threw(std::current_exception());
        }
        life.finish_attempt();
        if constexpr (Life::retries) {
          const std::optional<std::chrono::nanoseconds> delay = life.retry_delay();
          if (delay) {
            const bool waited = co_await backoff(*delay, owner->stops.token());
            if (waited) {
              life.next_attempt();
              continue;
            }
            life.backoff_stopped();
          }
        }
        break;
      }
      proceed = life.end();
    }  // the stage's last writes are done before k: its dependents may start on another thread
    k(proceed);
  }

  /// A retry's backoff: an Asio timer on the stage's strand (no thread waits), ended at once by a
  /// stop request; false when the stop came first. An installed RetryClock waits instead (tests).
  static boost::asio::awaitable<bool> backoff(std::chrono::nanoseconds delay, std::stop_token stop) {
    if (RetryClock* installed = detail::installed_retry_clock.load(std::memory_order_acquire))
      co_return installed->wait(delay, stop);
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
    cancel_on_stop<boost::asio::steady_timer> guard(stop, timer);
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return !ec && !stop.stop_requested();
  }

  // ---- one async run -----------------------------------------------------------------------

  template <class Pipeline, class Snapshot, class Handler>
  struct State {
    using Frame = AsyncFrame<Scheduler, Pipeline, Snapshot>;
    using HandlerExecutor = std::decay_t<decltype(boost::asio::prefer(
        std::declval<boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>>(),
        boost::asio::execution::outstanding_work.tracked))>;

    State(const Pipeline& p, const RunRequest<Snapshot>& request, const typename Runner::policies_type& policies,
          boost::asio::any_io_executor stage_executor, Handler&& h, HandlerExecutor handler_ex)
        : snapshot_owner(request.owner), stop(request.stop),
          frame(p, *request.snapshot, policies, stop, &result, std::move(stage_executor)), handler(std::move(h)),
          handler_executor(std::move(handler_ex)) {}

    std::shared_ptr<const Snapshot> snapshot_owner;
    std::stop_token stop;                  // the caller's, for as long as the run
    RunResult<Pipeline, Snapshot> result;  // before the frame, which writes into it
    Frame frame;
    Handler handler;
    HandlerExecutor handler_executor;  // keeps the handler's executor busy until the run completes
    std::atomic<bool> initiating{true};
  };

  /// Hands the result to the handler on its executor: inline when already there and the
  /// initiating function has returned, else posted. The result is moved once, into the handler.
  template <class St>
  static void complete(std::shared_ptr<St> state) {
    const bool immediate = state->initiating.load(std::memory_order_acquire);
    auto ex = std::move(state->handler_executor);
    auto deliver = [state = std::move(state)] { std::move(state->handler)(std::move(state->result)); };
    if (immediate)
      boost::asio::post(ex, std::move(deliver));
    else
      boost::asio::dispatch(ex, std::move(deliver));
  }

  template <class St>
  static void finish_run(std::shared_ptr<St> state) {
    typename Engine::no_stage_states none;
    Engine::finish(state->frame, none, Engine::ended_at(state->frame));
    complete(std::move(state));
  }

  /// A handler and its result, posted together; the result is moved once, into the call (by value
  /// it moved three times, each a copy of every stage's report: more than the allocation; issue 24).
  template <class H, class Result>
  struct Deliver {
    H handler;
    std::unique_ptr<Result> result;
    void operator()() { std::move(handler)(std::move(*result)); }
  };

  /// Completes at once: the result, built in place by `make()`, is posted to the handler's executor
  /// (Asio: an operation that completes at once never calls its handler from the initiation).
  template <class Handler, class Make>
  static void deliver_now(Handler&& handler, Make&& make) {
    using H = std::decay_t<Handler>;
    auto work = boost::asio::prefer(boost::asio::get_associated_executor(handler, boost::asio::system_executor()),
                                    boost::asio::execution::outstanding_work.tracked);
    using Result = std::invoke_result_t<Make&>;
    boost::asio::post(std::move(work),
                      Deliver<H, Result>{H(std::forward<Handler>(handler)), std::unique_ptr<Result>(new Result(make()))});
  }

  /// Whether a run of Pipeline happens inside async_run, on the calling thread, as run()'s would.
  template <class Pipeline, class Snapshot>
  static constexpr bool runs_inline =
      !Runner::concurrent && !has_coroutine_stage<Snapshot, Pipeline>(typename Pipeline::stage_types{});
  template <class Pipeline, class Snapshot>
  static RunResult<Pipeline, Snapshot> run_inline(const Runner& runner, const Pipeline& pipeline,
                                                  const RunRequest<Snapshot>& request) {
    const auto why = validate(request, true, true);  // async_run's rules (no abandon), then run()'s
    return why.empty() ? detail::Engine<Runner>::run(runner, pipeline, request)
                       : Engine::template refused<Pipeline>(*request.snapshot, why);
  }
  /// `co_await async_run(...)` of such a run: a coroutine that runs it and co_returns the result; the
  /// awaiter is resumed directly, on its thread, with no operation completing: no post (issue 24).
  template <class Executor, class Pipeline, class Snapshot>
  static boost::asio::awaitable<RunResult<Pipeline, Snapshot>, Executor> run_awaited(
      boost::asio::use_awaitable_t<Executor>, const Runner* runner, const Pipeline* pipeline,
      RunRequest<Snapshot> request) {
    co_return run_inline(*runner, *pipeline, request);
  }

  template <class Pipeline, class Snapshot>
  struct Initiation {
    const Runner* runner;
    const Pipeline* pipeline;

    template <class Handler>
    void operator()(Handler&& handler, RunRequest<Snapshot> request) const {
      using H = std::decay_t<Handler>;
      using St = State<Pipeline, Snapshot, H>;
      if constexpr (runs_inline<Pipeline, Snapshot>) {
        // Nothing to await and nothing to overlap: the run happens here, as run()'s does (the
        // engine's, with the whole request), and only the handler is deferred.
        deliver_now(std::forward<Handler>(handler), [&] { return run_inline(*runner, *pipeline, request); });
      } else {
        const auto why = validate(request, true, true);
        if (!why.empty())
          return deliver_now(std::forward<Handler>(handler),
                             [&] { return Engine::template refused<Pipeline>(*request.snapshot, why); });
        boost::asio::any_io_executor fallback = boost::asio::system_executor();
        if constexpr (own_executor)
          fallback = runner->executor().get_executor();
        auto handler_ex = boost::asio::get_associated_executor(handler, fallback);
        // use_future's handler has an executor of its own that runs inline; that is no place for stages.
        boost::asio::any_io_executor stage_ex = fallback;
        if constexpr (!own_executor && std::is_constructible_v<boost::asio::any_io_executor, decltype(handler_ex)>)
          stage_ex = handler_ex;
        auto work = boost::asio::prefer(handler_ex, boost::asio::execution::outstanding_work.tracked);
        auto state = std::make_shared<St>(*pipeline, request, runner->policies(), std::move(stage_ex),
                                          H(std::forward<Handler>(handler)), std::move(work));
        typename St::Frame& frame = state->frame;
        frame.core.start_trace(request.traceparent);
        frame.watch_deadline(request.deadline);
        typename Engine::no_stage_states none;
        if (!Engine::begin_run(frame, none)) {
          finish_run(std::move(state));
          return;
        }
        typename Engine::template Steps<typename St::Frame> steps{&frame,
                                                                 std::shared_ptr<typename St::Frame>(state, &frame)};
        auto done = [state]() mutable {
          state->frame.stops.stages_finished();
          finish_run(std::move(state));
        };
        auto launch = [&](const ParallelExecutor& executor) {
          executor.template execute<Pipeline>(steps, std::move(done), ExecuteHints{.caller_may_run = false});
        };
        if constexpr (own_executor)
          launch(runner->executor());
        else
          launch(ParallelExecutor(frame.stage_executor));
        state->initiating.store(false, std::memory_order_release);
      }
    }
  };

  template <class Pipeline, class Snapshot, class Token>
  static auto initiate(const Runner& runner, const Pipeline& pipeline, RunRequest<Snapshot> request, Token&& token) {
    using Signature = void(RunResult<Pipeline, Snapshot>);
    using T = std::conditional_t<std::is_same_v<std::decay_t<Token>, default_async_token>,
                                 boost::asio::use_awaitable_t<>, std::decay_t<Token>>;
    Initiation<Pipeline, Snapshot> initiation{&runner, &pipeline};
    if constexpr (is_use_awaitable<T> && runs_inline<Pipeline, Snapshot>)
      return run_awaited(T{}, &runner, &pipeline, std::move(request));
    else if constexpr (std::is_same_v<std::decay_t<Token>, default_async_token>)
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, Signature>(
          std::move(initiation), boost::asio::use_awaitable, std::move(request));
    else
      return boost::asio::async_initiate<Token, Signature>(std::move(initiation), token, std::move(request));
  }
};

}  // namespace stageflow::detail
