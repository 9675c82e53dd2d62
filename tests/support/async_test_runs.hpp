// SPDX-License-Identifier: BSL-1.0
// For tests of async_run: run an awaitable to its end on an io_context, and co_await a runner's
// async_run with a stop token.
#pragma once

#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/async_run.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <stop_token>
#include <utility>

namespace stageflow::testing {

/// Runs `task` on `io` until it is done (and everything it started), then readies `io` to run again.
template <class T>
T run_on(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> value;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    value.emplace(std::move(v));
  });
  io.run();
  io.restart();
  return std::move(value).value();
}

/// co_await runner->async_run(*pipeline, snapshot, {.stop = stop}). The snapshot is a parameter, so
/// it lives in the coroutine's frame (GCC 12 mishandles a temporary across co_await).
template <class Runner, class Pipeline>
boost::asio::awaitable<RunResult<Pipeline, ContextSnapshot>> awaited_run(
    const Runner* runner, const Pipeline* pipeline, std::stop_token stop = {},
    ContextSnapshot snapshot = ContextSnapshot{.input_text = "hi"}) {
  RunOptions options;
  options.stop = stop;
  co_return co_await runner->async_run(*pipeline, snapshot, options);
}

}  // namespace stageflow::testing
