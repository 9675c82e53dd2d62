// SPDX-License-Identifier: BSL-1.0
// hedged_attempt: one attempt of an awaitable stage that declares `hedge`
// (<stageflow/resilience/hedge.hpp>), inside its coroutine in async_run. Every copy runs on the
// stage's strand, so the state they share needs no lock; each has its own stop source, chained to
// the stage's stop token, so the winner can stop the others without stopping itself.
#pragma once

// As in <stageflow/runner/async_run.hpp>: clang's coroutines under their standard names, for Boost 1.74.
#if defined(__clang__) && !defined(BOOST_ASIO_HAS_CO_AWAIT) && defined(__cpp_impl_coroutine) && \
    __has_include(<coroutine>)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif

#include <stageflow/core/stage.hpp>
#include <stageflow/runner/detail/hedged_stage.hpp>  // HedgeStop
#include <stageflow/runner/detail/latency_histogram.hpp>
#include <stageflow/runner/detail/stage_timeout.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace stageflow::detail {

template <class Value>
struct HedgeState {
  template <class Executor>
  explicit HedgeState(const Executor& ex) : wake(ex) {}
  boost::asio::steady_timer wake;  // the attempt's coroutine waits here: `after`, or a copy's end
  unsigned running = 0;
  bool decided = false;
  std::optional<Value> value;
  std::exception_ptr error;
  std::vector<std::unique_ptr<HedgeStop>> stops;
};

/// One copy: runs execute, and if it is the first to finish, its outcome is the attempt's.
template <class S, class Context, class Value>
boost::asio::awaitable<void> hedge_copy(std::shared_ptr<HedgeState<Value>> state, const S* stage,
                                        std::shared_ptr<const Context> ctx) {
  std::optional<Value> value;
  std::exception_ptr error;
  const auto started = std::chrono::steady_clock::now();
  try {
    if constexpr (std::is_same_v<Value, std::monostate>) {
      co_await invoke_execute(*stage, *ctx);
      value.emplace();
    } else {
      Value v = co_await invoke_execute(*stage, *ctx);
      value.emplace(std::move(v));
    }
  } catch (...) {
    error = std::current_exception();
  }
  --state->running;
  if (!state->decided) {
    state->decided = true;
    if (!error) record_hedge_latency<S>(std::chrono::steady_clock::now() - started);
    state->value = std::move(value);
    state->error = error;
    for (auto& stop : state->stops) stop->source.request_stop();  // the others' outputs are discarded
  }
  state->wake.cancel();
}

template <class S, class Life, class Value, class Executor>
void launch_copy(const std::shared_ptr<HedgeState<Value>>& state, const Life& life, const Executor& ex) {
  using Context = typename Life::context_type;
  const HedgeStop& stop = *state->stops.emplace_back(std::make_unique<HedgeStop>(life.context().stop_token()));
  auto ctx = std::make_shared<const Context>(life.context_for(stop.token));
  ++state->running;
  boost::asio::co_spawn(ex, hedge_copy<S, Context, Value>(state, &life.stage(), std::move(ctx)), boost::asio::detached);
}

/// The attempt: a copy now, another each `after` while none has finished (up to max_extra more),
/// the first to finish wins; returns (or throws) its outcome once every copy has returned.
template <class S, class Life, class Value>
boost::asio::awaitable<Value> hedged_attempt(const Life& life) {
  const auto ex = co_await boost::asio::this_coro::executor;
  auto state = std::make_shared<HedgeState<Value>>(ex);
  launch_copy<S>(state, life, ex);
  const std::chrono::nanoseconds after = hedge_delay<S>();  // fixed, or from the stage's latencies
  unsigned extra = 0;
  while (!state->decided) {
    if (extra < S::hedge.max_extra)
      state->wake.expires_after(after);
    else
      state->wake.expires_at(boost::asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await state->wake.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (state->decided) break;
    if (!ec && extra < S::hedge.max_extra && !life.context().stop_requested()) {
      ++extra;
      life.hedged(extra, after);
      launch_copy<S>(state, life, ex);
    }
  }
  while (state->running > 0) {  // the losers were asked to stop; they touch the stage until they return
    state->wake.expires_at(boost::asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await state->wake.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  if (state->error) std::rethrow_exception(state->error);
  co_return std::move(*state->value);
}

}  // namespace stageflow::detail
