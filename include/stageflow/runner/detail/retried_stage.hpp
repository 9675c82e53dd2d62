// SPDX-License-Identifier: BSL-1.0
// How the run engine drives a synchronous stage's attempts: run_attempt; a stage that declares
// `retry`, after a failed first attempt, on the calling thread: retry_synchronously; and under an
// executor with timers (ParallelExecutor: schedule_backoff in <stageflow/runner/backoff_timer.hpp>):
// RetriedStage.
#pragma once

#include <stageflow/core/stage_context.hpp>
#include <stageflow/runner/retry_clock.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <stop_token>
#include <utility>

namespace stageflow::detail {

/// One attempt of a synchronous stage (L: a StageLifecycle): execute, its outcome, its end reading.
template <class L>
[[gnu::always_inline]] inline void run_attempt(L& life) {
  life.begin_attempt();
  try {
    life.store([&]() -> decltype(auto) { return invoke_execute(life.stage(), life.context()); });
  } catch (...) {
    life.threw(std::current_exception());
  }
  life.finish_attempt();
}

/// After a failed first attempt, on this thread: backoffs and attempts while a retry is due. Out of
/// line (issue 22 (a)): as a loop in the engine's run_stage it kept GCC from inlining the stage.
template <class L>
[[gnu::noinline]] void retry_synchronously(L& life) {
  while (const auto delay = life.retry_delay()) {
    if (!life.wait_backoff(*delay)) return;
    life.before();
    if (!life.may_start()) return;
    run_attempt(life);
  }
}

/// A synchronous stage that retries under an executor with timers: its lifecycle lives on the
/// heap, and between attempts a timer holds it, not a thread. k is called once, at the end.
template <class Engine, class F, std::size_t I, class K>
struct RetriedStage {
  using L = typename Engine::template Life<F, I>;
  using Steps = typename Engine::template Steps<F>;
  using executor_type = typename Engine::executor_type;
  RetriedStage(const Steps& steps, K&& fn)
      : owner(steps.owner), executor(steps.executor), life(*steps.frame), k(std::move(fn)) {}

  static void start(const Steps& steps, K&& k) {
    if (!L::admit(*steps.frame)) return k(false);
    attempt(std::make_shared<RetriedStage>(steps, std::move(k)));
  }
  static void attempt(std::shared_ptr<RetriedStage> self) {
    L& life = self->life;
    life.before();
    if (life.may_start()) {
      run_attempt(life);
      if (const auto delay = life.retry_delay()) {
        if (detail::installed_retry_clock.load(std::memory_order_acquire)) {  // a test's clock
          if (life.wait_backoff(*delay)) return attempt(std::move(self));
        } else {
          const executor_type& executor = *self->executor;
          const std::stop_token& stop = life.run_stop_token();
          schedule_backoff(executor, *delay, stop, [self = std::move(self)](bool waited) mutable {
            if (!waited) {
              self->life.backoff_stopped();
              return finish(std::move(self));
            }
            self->life.next_attempt();
            attempt(std::move(self));
          });
          return;
        }
      }
    }
    finish(std::move(self));
  }
  /// The stage's end; its lifecycle is gone before k (its dependents may start at once).
  static void finish(std::shared_ptr<RetriedStage> self) {
    const bool proceed = self->life.end();
    K k = std::move(self->k);
    self.reset();
    k(proceed);
  }

  std::shared_ptr<F> owner;  // an abandonable run stays alive while a backoff holds the stage
  const executor_type* executor;
  L life;
  K k;
};

}  // namespace stageflow::detail
