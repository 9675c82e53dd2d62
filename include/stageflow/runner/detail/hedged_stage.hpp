// SPDX-License-Identifier: BSL-1.0
// HedgedStage: how the run engine drives a synchronous stage that declares `hedge` under a
// concurrent executor on Boost.Asio (ParallelExecutor, which includes this header; async_run).
// The first copy runs on the thread that starts the stage; an Asio timer on the executor (no
// thread waits) starts another copy, posted to the executor, each `after` while none has finished
// (up to max_extra). The first copy to return decides the attempt; the others get a stop request
// and their outputs are discarded. The attempt ends on the thread of the last copy to return, so
// nothing a losing copy touches goes before it returns. Where no second thread is free (a strand,
// an io_context with one thread) the timer's handler runs after the first copy and starts nothing.
// The run engine finds start_hedged by argument-dependent lookup; without this header a hedged
// synchronous stage runs once (as under SequentialExecutor).
#pragma once

#include <stageflow/core/stage.hpp>
#include <stageflow/runner/backoff_timer.hpp>
#include <stageflow/runner/detail/latency_histogram.hpp>
#include <stageflow/runner/detail/stage_timeout.hpp>
#include <stageflow/runner/retry_clock.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace stageflow::detail {

/// One copy's stop: its own source and token (a StageContext keeps a pointer to the token), fired
/// by the stage's stop token or by the winner.
struct HedgeStop {
  explicit HedgeStop(const std::stop_token& stage) : chain(std::in_place, stage, request_stop_of{&source}) {}
  std::stop_source source;
  std::stop_token token = source.get_token();
  std::optional<std::stop_callback<request_stop_of>> chain;
};

/// An Asio executor where a backoff timer may run (schedule_backoff takes an object with get_executor).
struct asio_executor_ref {
  boost::asio::any_io_executor executor;
  const boost::asio::any_io_executor& get_executor() const noexcept { return executor; }
};

template <class Engine, class F, std::size_t I, class K>
class HedgedStage {
 public:
  using L = typename Engine::template Life<F, I>;
  using S = typename L::S;
  using Context = typename L::context_type;
  using Result = decltype(invoke_execute(std::declval<const S&>(), std::declval<const Context&>()));
  using Value = std::conditional_t<std::is_void_v<Result>, std::monostate, std::decay_t<Result>>;

  template <class Steps>
  HedgedStage(const Steps& steps, boost::asio::any_io_executor ex, K&& fn)
      : owner_(steps.owner), executor_(std::move(ex)), life_(*steps.frame), k_(std::move(fn)) {}

  template <class Steps>
  static void start(const Steps& steps, boost::asio::any_io_executor ex, K&& k) {
    if (!L::admit(*steps.frame)) return k(false);
    attempt(std::make_shared<HedgedStage>(steps, std::move(ex), std::move(k)));
  }

 private:
  struct Copy {
    explicit Copy(const L& life) : stop(life.context().stop_token()), ctx(life.context_for(stop.token)) {}
    HedgeStop stop;
    Context ctx;  // points at the run's snapshot and outputs: used only while the copy runs
  };
  /// One attempt's copies. `mutex` orders the decision, the count of running copies and the timer.
  struct Attempt {
    explicit Attempt(const boost::asio::any_io_executor& ex) : timer(ex) {}
    std::chrono::nanoseconds after = hedge_delay<S>();  // fixed, or from the stage's latencies
    std::mutex mutex;
    boost::asio::steady_timer timer;
    unsigned running = 0;
    unsigned extra = 0;
    bool decided = false;
    std::optional<Value> value;
    std::exception_ptr error;
    std::vector<std::unique_ptr<Copy>> copies;  // appended only before the decision
    std::shared_ptr<HedgedStage> stage;         // held until the last copy returns
  };

  /// A copy posted to the executor; dropped unrun (its context shut down), it counts as returned.
  struct CopyTask {
    std::shared_ptr<Attempt> state;
    Copy* copy;
    void operator()() { run_copy(std::move(state), copy); }
    CopyTask(std::shared_ptr<Attempt> s, Copy* c) noexcept : state(std::move(s)), copy(c) {}
    CopyTask(CopyTask&&) noexcept = default;
    CopyTask& operator=(CopyTask&&) = delete;
    ~CopyTask() {
      if (state) returned(std::move(state), false, std::nullopt, nullptr, {});
    }
  };

  static void attempt(std::shared_ptr<HedgedStage> self) {
    L& life = self->life_;
    life.before();
    if (!life.may_start()) return finish(std::move(self));
    life.begin_attempt();
    auto state = std::make_shared<Attempt>(self->executor_);
    Copy* first = nullptr;
    {
      std::lock_guard lock(state->mutex);
      first = state->copies.emplace_back(std::make_unique<Copy>(life)).get();
      state->running = 1;
      if constexpr (S::hedge.max_extra > 0) arm(state);
      state->stage = std::move(self);
    }
    run_copy(std::move(state), first);  // on this thread, as an unhedged stage runs
  }

  /// Under the mutex: the next copy starts `after` from now unless the attempt is decided first.
  static void arm(const std::shared_ptr<Attempt>& state) {
    state->timer.expires_after(std::chrono::duration_cast<boost::asio::steady_timer::duration>(state->after));
    state->timer.async_wait([state](const boost::system::error_code& ec) { on_timer(state, ec); });
  }

  static void on_timer(const std::shared_ptr<Attempt>& state, const boost::system::error_code& ec) {
    const L* life = nullptr;
    Copy* copy = nullptr;
    unsigned extra = 0;
    {
      std::lock_guard lock(state->mutex);
      if (ec || state->decided || !state->stage) return;
      life = &state->stage->life_;
      if (life->context().stop_requested()) return;
      copy = state->copies.emplace_back(std::make_unique<Copy>(*life)).get();
      ++state->running;  // from here the stage cannot end before this copy returns
      extra = ++state->extra;
      if (extra < S::hedge.max_extra) arm(state);
    }
    life->hedged(extra, state->after);
    boost::asio::post(state->timer.get_executor(), CopyTask(state, copy));
  }

  static void run_copy(std::shared_ptr<Attempt> state, Copy* copy) {
    const S* stage = nullptr;
    {
      std::lock_guard lock(state->mutex);
      if (!state->decided) stage = &state->stage->life_.stage();
    }
    if (!stage) return returned(std::move(state), false, std::nullopt, nullptr, {});  // too late to help
    const auto started = std::chrono::steady_clock::now();
    std::optional<Value> value;
    std::exception_ptr error;
    try {
      if constexpr (std::is_void_v<Result>) {
        invoke_execute(*stage, copy->ctx);
        value.emplace();
      } else {
        value.emplace(invoke_execute(*stage, copy->ctx));
      }
    } catch (...) {
      error = std::current_exception();
    }
    returned(std::move(state), true, std::move(value), error, std::chrono::steady_clock::now() - started);
  }

  /// A copy returned (or never ran): the first that ran decides and stops the others; the last
  /// ends the attempt on its thread.
  static void returned(std::shared_ptr<Attempt> state, bool ran, std::optional<Value> value, std::exception_ptr error,
                       std::chrono::nanoseconds took) {
    bool decides = false;
    std::shared_ptr<HedgedStage> last;
    {
      std::lock_guard lock(state->mutex);
      --state->running;
      if (ran && !state->decided) {
        decides = true;
        state->decided = true;
        state->value = std::move(value);
        state->error = error;
        state->timer.cancel();
      }
      if (state->running == 0) last = std::move(state->stage);
    }
    // No copy is added after the decision: the list is read without the mutex.
    if (decides && !state->error) record_hedge_latency<S>(took);
    if (decides)
      for (auto& other : state->copies) other->stop.source.request_stop();  // their outputs are discarded
    if (last) attempt_done(std::move(last), *state);
  }

  /// Every copy has returned: the winner's outcome is the attempt's; then a retry or the end.
  static void attempt_done(std::shared_ptr<HedgedStage> self, Attempt& state) {
    L& life = self->life_;
    for (auto& copy : state.copies) copy->stop.chain.reset();
    try {
      if (state.error) std::rethrow_exception(state.error);
      if constexpr (std::is_void_v<Result>)
        life.store([] {});
      else
        life.store([&]() -> Value { return std::move(*state.value); });
    } catch (...) {
      life.threw(std::current_exception());
    }
    life.finish_attempt();
    if constexpr (L::retries) {
      if (const auto delay = life.retry_delay()) {
        if (detail::installed_retry_clock.load(std::memory_order_acquire)) {  // a test's clock
          if (life.wait_backoff(*delay)) return attempt(std::move(self));
        } else {
          const asio_executor_ref where{self->executor_};
          const std::stop_token& stop = life.run_stop_token();
          schedule_backoff(where, *delay, stop, [self = std::move(self)](bool waited) mutable {
            if (!waited) {
              self->life_.backoff_stopped();
              return finish(std::move(self));
            }
            self->life_.next_attempt();
            attempt(std::move(self));
          });
          return;
        }
      }
    }
    finish(std::move(self));
  }

  /// The stage's end; its lifecycle is gone before k (its dependents may start at once).
  static void finish(std::shared_ptr<HedgedStage> self) {
    const bool proceed = self->life_.end();
    K k = std::move(self->k_);
    self.reset();
    k(proceed);
  }

  std::shared_ptr<F> owner_;  // an abandonable run stays alive while a copy or a backoff holds the stage
  boost::asio::any_io_executor executor_;
  L life_;
  K k_;
};

/// Starts synchronous stage I, hedged, on the run's Asio executor (found by the run engine by
/// argument-dependent lookup): async_run's stage executor, or the ParallelExecutor's.
template <class Engine, std::size_t I, class Steps, class K>
  requires requires(const Steps& steps) { boost::asio::any_io_executor(steps.frame->stage_executor); } ||
           requires(const Steps& steps) { boost::asio::any_io_executor(steps.executor->get_executor()); }
void start_hedged(const Steps& steps, std::type_identity<Engine>, std::integral_constant<std::size_t, I>, K&& k) {
  using F = std::remove_pointer_t<decltype(steps.frame)>;
  boost::asio::any_io_executor ex;
  if constexpr (requires { steps.frame->stage_executor; })
    ex = steps.frame->stage_executor;
  else
    ex = steps.executor->get_executor();
  HedgedStage<Engine, F, I, std::decay_t<K>>::start(steps, std::move(ex), std::decay_t<K>(std::forward<K>(k)));
}

}  // namespace stageflow::detail
