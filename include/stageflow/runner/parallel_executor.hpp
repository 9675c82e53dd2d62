// SPDX-License-Identifier: BSL-1.0
// ParallelExecutor: runs the independent stages of a run at the same time, on Boost.Asio.
//
//   stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, Policies...> runner{
//       stageflow::ParallelExecutor(4), policies...};          // a pool of 4 workers of its own
//
//   boost::asio::io_context io;                                // or the service's own threads:
//   stageflow::ParallelExecutor on_io(io.get_executor());      // stages run where io runs them
//
// A stage starts as soon as every stage it depends on has finished (ok or skipped). When a
// finished stage makes exactly one stage ready, that stage runs next on the same thread, so a chain
// pays no hand-off; the others go to the run's queue, and tasks that take them from it are posted
// to the executor (on its own pool at most one per worker at a time, else one per queued stage).
// With a pool of its own, the thread that called run() takes part too (it would only wait): it
// runs the first stage and then takes queued ones until the run is done, except under
// DeadlineMode::abandon, where it must stay free to return at the deadline. A pipeline that is a
// chain (no two stages can ever run at the same time) then runs on the calling thread alone, with
// the sequential runner's costs: no stage to hand off, so none is scheduled (stages that retry on
// the executor's timers excepted). With an executor you give, every stage runs on it: a strand
// keeps its stages one at a time.
//
// Its own pool's workers spin for `spin` (50 us by default) after their last task before they
// park: waking a parked thread costs tens of microseconds, a spinning one takes the next task at
// once. The price is CPU while idle, for up to `spin` after each task; an idle pool parks (no
// CPU). `ParallelExecutor(4, {.spin = std::chrono::microseconds(0)})` never spins. The calling
// thread that takes part spins the same way while it waits for the run's last stage.
//
// Copies are cheap handles that share the pool. The pool's threads stop when the last copy goes
// (joining them: a stage left behind by an abandoned run is waited for there). After stop(), runs
// fail at once ("could not be scheduled") and run no stage, not even on the calling thread; a run
// on an executor whose context was destroyed fails the same way. A context that is stopped but not
// destroyed (io_context::stop) keeps the tasks posted to it without running them: a run with a
// deadline ends timed_out at its deadline all the same (its stages that never started stay
// not_run, and start nothing if the context runs them later); a run without one waits until the
// context runs again or is destroyed.
#pragma once

#include <stageflow/core/pipeline.hpp>
#include <stageflow/runner/detail/spinning_pool.hpp>
#include <stageflow/runner/executor.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>  // kept for users who give a thread_pool's executor

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace stageflow {

/// How ParallelExecutor's own pool waits for work.
struct ParallelExecutorOptions {
  /// How long an idle worker (and the calling thread waiting for a run's last stage) keeps looking
  /// for work before it parks; 0: park at once. Bounded: an idle pool uses no CPU after it.
  std::chrono::microseconds spin{50};
};

class ParallelExecutor {
 public:
  static constexpr bool concurrent = true;
  using executor_type = boost::asio::any_io_executor;
  using Options = ParallelExecutorOptions;

  /// A pool of its own with one worker per hardware thread.
  ParallelExecutor() : ParallelExecutor(std::max(1u, std::thread::hardware_concurrency())) {}

  /// A pool of its own with `threads` workers (at least one).
  explicit ParallelExecutor(std::size_t threads) : ParallelExecutor(threads, Options{}) {}
  ParallelExecutor(std::size_t threads, Options options)
      : pool_(std::make_shared<Pool>(threads == 0 ? 1 : threads, options.spin)), executor_(pool_->io.get_executor()),
        caller_runs_(true) {}

  /// Stages run on `executor` (an io_context's, a thread_pool's, a strand): the service's threads.
  template <class Executor>
    requires(!std::is_same_v<std::remove_cvref_t<Executor>, ParallelExecutor> &&
             boost::asio::execution::is_executor<std::remove_cvref_t<Executor>>::value)
  explicit ParallelExecutor(Executor executor) : executor_(std::move(executor)), caller_runs_(false) {}

  /// Where stages are posted.
  const executor_type& get_executor() const noexcept { return executor_; }
  /// The workers of its own pool (0 when stages run on an executor you gave).
  std::size_t thread_count() const noexcept { return pool_ ? pool_->workers.size() : 0; }
  /// How long its own pool's idle workers spin before they park (0 with an executor you gave).
  std::chrono::microseconds spin() const noexcept { return pool_ ? pool_->spin : std::chrono::microseconds(0); }

  /// Stops its own pool: running stages finish, nothing new starts, later runs fail at once.
  void stop() const {
    if (!pool_) return;
    pool_->stopped.store(true, std::memory_order_release);
    pool_->io.stop();
  }
  bool stopped() const noexcept { return pool_ && pool_->stopped.load(std::memory_order_acquire); }
  /// Whether a run may use the calling thread for its stages (its own pool, not stopped). The
  /// runner then runs a chain there alone: nothing to hand off (run_engine.hpp's run_here).
  bool runs_on_caller() const noexcept { return caller_runs_ && !stopped(); }

  template <class Pipeline, class Steps, class Done>
  void execute(Steps& steps, Done&& done, ExecuteHints hints = {}) const {
    using S = Schedule<Pipeline, Steps, std::decay_t<Done>>;
    auto schedule = S::reuse_or_make();
    schedule->prepare(steps, std::forward<Done>(done), executor_, pool_);
    schedule->launch(caller_runs_ && hints.caller_may_run, std::move(schedule));
  }

 private:
  using Pool = detail::SpinningPool;

  // The scheduling state of one run. Ready stages wait in the run's own queue; each one posted
  // to the executor is a token that runs whichever stage is first in that queue, and a calling
  // thread that takes part drains the queue too, so no thread idles while a stage waits. The state
  // keeps itself alive while stages are in flight (`self_`) and is released by the last one;
  // nothing holds the pool itself, so the pool never ends up destroyed from one of its own threads.
  // Once the run is over and no task holds it, the thread that started it reuses it for its next
  // run of the same kind: no allocation per run once warm.
  template <class Pipeline, class Steps, class Done>
  class Schedule {
    static constexpr std::size_t n = Pipeline::size;
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    static constexpr auto& plan = Pipeline::plan;

   public:
    /// One of this thread's past schedules that nothing holds any more, or a new one. A few are
    /// kept per thread (bounded): a past run's tokens still queued in the pool keep theirs busy.
    static std::shared_ptr<Schedule> reuse_or_make() {
      thread_local std::array<std::shared_ptr<Schedule>, 4> spares;
      thread_local std::size_t replace = 0;
      for (const auto& spare : spares)
        if (spare && spare.use_count() == 1) return spare;
      auto fresh = std::make_shared<Schedule>();
      spares[replace++ % spares.size()] = fresh;
      return fresh;
    }

    /// Readies it for a run.
    void prepare(const Steps& steps, Done done, executor_type executor, const std::shared_ptr<Pool>& pool) {
      // Under the lock: the last tasks of its past run touched it under this lock (the rest of
      // that run happened before its completion, which this thread waited for).
      std::lock_guard lock(mutex_);
      steps_.emplace(steps);
      done_.emplace(std::move(done));
      if (executor_ != executor) executor_ = std::move(executor);
      pool_ = pool;
      owns_pool_ = pool != nullptr;
      capped_ = owns_pool_;
      max_tokens_ = pool ? pool->workers.size() : 0;
      tokens_.store(0, std::memory_order_relaxed);
      if (pool)
        pool_executor_.emplace(pool->io.get_executor());
      else
        pool_executor_.reset();
      spin_ = pool ? pool->spin : std::chrono::microseconds(0);
      for (std::size_t i = 0; i < n; ++i) {
        waiting_[i].store(static_cast<std::uint32_t>(plan.in_degree[i]), std::memory_order_relaxed);
        handoff_[i].store(running, std::memory_order_relaxed);
      }
      head_.store(0, std::memory_order_relaxed);
      tail_.store(0, std::memory_order_relaxed);
      finished_.store(false, std::memory_order_relaxed);
    }

    /// Starts the roots. With `caller_runs`, the calling thread runs stages until the run is done.
    void launch(bool caller_runs, std::shared_ptr<Schedule> self) {
      caller_helps_ = caller_runs;
      self_ = self;
      auto keep = std::move(self);  // the caller's own reference while it takes part
      if constexpr (n == 0) {
        in_flight_.store(1);
        release();
      } else {
        in_flight_.store(plan.root_count, std::memory_order_relaxed);
        if (owns_pool_ && pool_stopped()) {
          // A stopped pool runs nothing, not even on the calling thread: every root is rejected.
          for (std::size_t r = 0; r < plan.root_count; ++r) rejected(plan.roots[r], "its ParallelExecutor's pool is stopped");
          return;
        }
        const std::size_t first_queued = caller_runs ? 1 : 0;
        for (std::size_t r = first_queued; r < plan.root_count; ++r) enqueue(plan.roots[r]);
        if (caller_runs) {
          run_chain(plan.roots[0]);
          help_until_done();
        }
      }
    }

   private:
    // A token posted to the executor: it runs whichever stage is first in the queue, or nothing
    // if others took them all. It keeps the schedule alive, since it may run after the run is
    // over. If the executor destroys it without running it (its context shut down), a queued stage
    // is rejected instead of waiting forever.
    //
    // On its own pool at most one token per worker is out at a time, and each runs queued stages
    // until the queue is empty: a fan-out of 16 posts as many tokens as there are workers, not 15
    // (a post from outside the pool allocates). On an executor you give, one token per stage.
    struct Token {
      std::shared_ptr<Schedule> schedule;
      void operator()() {
        const auto s = std::move(schedule);
        if (!s->capped_) {
          if (const std::size_t i = s->pop(); i != none) s->run_chain(i);
          return;
        }
        do {
          for (std::size_t i = s->pop(); i != none; i = s->pop()) s->run_chain(i);
          s->tokens_.fetch_sub(1, std::memory_order_acq_rel);
          // A stage queued after the last pop whose enqueue saw every token out: take it on.
        } while (s->queued() && s->take_token());
      }
      explicit Token(std::shared_ptr<Schedule> s) noexcept : schedule(std::move(s)) {}
      Token(Token&&) noexcept = default;
      Token& operator=(Token&&) = delete;
      ~Token() {
        if (!schedule) return;
        // Dropped unrun: no later token of a capped schedule may come, so every queued stage goes.
        for (std::size_t i = schedule->pop(); i != none; i = schedule->capped_ ? schedule->pop() : none)
          schedule->rejected(i, "its executor dropped the task (was its context destroyed?)");
      }
    };

    bool take_token() {
      std::size_t out = tokens_.load(std::memory_order_acquire);
      do {
        if (out >= max_tokens_) return false;
      } while (!tokens_.compare_exchange_weak(out, out + 1, std::memory_order_acq_rel));
      return true;
    }
    bool queued() {
      std::lock_guard lock(mutex_);
      return head_.load(std::memory_order_relaxed) != tail_.load(std::memory_order_relaxed);
    }

    void enqueue(std::size_t i) {
      if (owns_pool_ && pool_stopped()) return rejected(i, "its ParallelExecutor's pool is stopped");
      {
        std::lock_guard lock(mutex_);
        queue_[tail_.load(std::memory_order_relaxed)] = i;
        tail_.fetch_add(1, std::memory_order_release);
      }
      if (caller_helps_) wake_.notify_one();
      if (capped_ && !take_token()) return;  // every worker has a token of this run: one will take it
      try {
        if (pool_executor_)
          boost::asio::post(*pool_executor_, Token(self_));  // straight to the io_context: no wrapper
        else
          boost::asio::post(executor_, Token(self_));
      } catch (...) {
        // The token's destructor rejected the queued stages.
        if (capped_) tokens_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }

    bool pool_stopped() const {
      const auto pool = pool_.lock();
      return !pool || pool->stopped.load(std::memory_order_acquire);
    }

    std::size_t pop() {
      std::lock_guard lock(mutex_);
      return take();
    }
    // Under the lock: the first queued stage, or none.
    std::size_t take() {
      const std::size_t head = head_.load(std::memory_order_relaxed);
      if (head == tail_.load(std::memory_order_relaxed)) return none;
      head_.store(head + 1, std::memory_order_relaxed);
      return queue_[head];
    }

    // The calling thread: run queued stages until the last one has finished. Between them it
    // spins like the pool's workers before it blocks: a stage queued or the run's end within
    // `spin` reaches it without a wake-up.
    void help_until_done() {
      for (;;) {
        spin_until_work();
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] {
          return head_.load(std::memory_order_relaxed) != tail_.load(std::memory_order_relaxed) ||
                 finished_.load(std::memory_order_relaxed);
        });
        const std::size_t i = take();
        if (i == none) return;  // finished
        lock.unlock();
        run_chain(i);
      }
    }
    // Reads without the lock: only a hint that taking the lock now is worth it.
    void spin_until_work() const {
      if (spin_.count() == 0) return;
      const auto until = std::chrono::steady_clock::now() + spin_;
      while (head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire) &&
             !finished_.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
    }

    void rejected(std::size_t i, const char* why) {
      steps_->reject(i, why);
      release();
    }

    void run_chain(std::size_t i) {
      while (i != none) i = run_one(i);
    }

    // Runs stage i; returns the stage to run next on this thread, if the stage finished before
    // start() returned. If it finishes later, its completion carries on from there.
    std::size_t run_one(std::size_t i) {
      steps_->start(i, [this, i](bool proceed) { completed(i, proceed); });
      std::uint8_t expected = running;
      if (handoff_[i].compare_exchange_strong(expected, returned, std::memory_order_acq_rel)) return none;
      const std::size_t next = next_[i];
      release();
      return next;
    }

    void completed(std::size_t i, bool proceed) {
      std::size_t first = none;
      if (proceed && !steps_->ending()) {
        for (std::size_t k = 0; k < plan.dependent_count[i]; ++k) {
          const std::size_t d = plan.dependents[i][k];
          if (waiting_[d].fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
          in_flight_.fetch_add(1, std::memory_order_relaxed);  // before it can finish and release
          if (first == none)
            first = d;  // the chain goes on on this thread: no hand-off
          else
            enqueue(d);
        }
      }
      next_[i] = first;
      std::uint8_t expected = running;
      if (handoff_[i].compare_exchange_strong(expected, finished_inline, std::memory_order_acq_rel))
        return;  // start() is still on this stack: run_one carries on with `first`
      // Finished after start() returned: carry on here.
      if (first == none) return release();
      release();  // cannot be the last: `first` is in flight
      run_chain(first);
    }

    void release() {
      if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      auto self = std::move(self_);  // the last stage: this schedule goes with `self`
      (*done_)();  // first: a helping caller that sees finished_ then finds its run complete, no wait
      steps_.reset();  // what the run's tasks held (its frame, under a deadline) goes now, not at reuse
      done_.reset();
      {
        std::lock_guard lock(mutex_);
        if (!owns_pool_) executor_ = executor_type();  // while its context lives: a strand may outlive it
        finished_.store(true, std::memory_order_release);
      }
      wake_.notify_all();
    }

    static constexpr std::uint8_t running = 0, finished_inline = 1, returned = 2;

    std::optional<Steps> steps_;
    std::optional<Done> done_;
    executor_type executor_;
    std::weak_ptr<Pool> pool_;
    bool owns_pool_ = false;
    bool capped_ = false;  // at most max_tokens_ tokens out (its own pool)
    std::size_t max_tokens_ = 0;
    std::atomic<std::size_t> tokens_{0};
    std::optional<boost::asio::io_context::executor_type> pool_executor_;
    std::chrono::microseconds spin_{0};
    bool caller_helps_ = false;
    std::shared_ptr<Schedule> self_;
    std::array<std::atomic<std::uint32_t>, n> waiting_{};
    std::array<std::atomic<std::uint8_t>, n> handoff_{};
    std::array<std::size_t, n> next_{};
    std::atomic<std::size_t> in_flight_{0};
    // Ready stages, first in first out; each stage is queued at most once per run.
    std::mutex mutex_;
    std::condition_variable wake_;
    // Written under the lock; atomic so that a spinning caller may peek without it.
    std::array<std::size_t, n> queue_{};
    std::atomic<std::size_t> head_{0};
    std::atomic<std::size_t> tail_{0};
    std::atomic<bool> finished_{false};
  };

  std::shared_ptr<Pool> pool_;
  executor_type executor_;
  bool caller_runs_ = false;
};

}  // namespace stageflow

// Backoffs on its timers, hedged copies on its threads (the engine finds them by ADL; backoff_timer.hpp too):
#include <stageflow/runner/detail/hedged_stage.hpp>
