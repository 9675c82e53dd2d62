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
// pays no hand-off; the others go to the run's queue, and one task per queued stage is posted to
// the executor. With a pool of its own, the thread that called run() takes part too (it would only
// wait): it runs the first stage and then takes queued ones until the run is done, except under
// DeadlineMode::abandon, where it must stay free to return at the deadline. With an executor you
// give, every stage runs on it: a strand keeps its stages one at a time.
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
#include <stageflow/runner/executor.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

namespace stageflow {

class ParallelExecutor {
 public:
  static constexpr bool concurrent = true;
  using executor_type = boost::asio::any_io_executor;

  /// A pool of its own with one worker per hardware thread.
  ParallelExecutor() : ParallelExecutor(std::max(1u, std::thread::hardware_concurrency())) {}

  /// A pool of its own with `threads` workers (at least one).
  explicit ParallelExecutor(std::size_t threads)
      : pool_(std::make_shared<Pool>(threads == 0 ? 1 : threads)), executor_(pool_->pool.get_executor()),
        caller_runs_(true) {}

  /// Stages run on `executor` (an io_context's, a thread_pool's, a strand): the service's threads.
  template <class Executor>
    requires(!std::is_same_v<std::remove_cvref_t<Executor>, ParallelExecutor> &&
             boost::asio::execution::is_executor<std::remove_cvref_t<Executor>>::value)
  explicit ParallelExecutor(Executor executor) : executor_(std::move(executor)), caller_runs_(false) {}

  /// Where stages are posted.
  const executor_type& get_executor() const noexcept { return executor_; }
  /// The workers of its own pool (0 when stages run on an executor you gave).
  std::size_t thread_count() const noexcept { return pool_ ? pool_->threads : 0; }

  /// Stops its own pool: running stages finish, nothing new starts, later runs fail at once.
  void stop() const {
    if (!pool_) return;
    pool_->stopped.store(true, std::memory_order_release);
    pool_->pool.stop();
  }
  bool stopped() const noexcept { return pool_ && pool_->stopped.load(std::memory_order_acquire); }

  template <class Pipeline, class Steps, class Done>
  void execute(Steps& steps, Done&& done, ExecuteHints hints = {}) const {
    auto schedule = std::make_shared<Schedule<Pipeline, Steps, std::decay_t<Done>>>(
        steps, std::forward<Done>(done), executor_, pool_);
    schedule->launch(caller_runs_ && hints.caller_may_run, schedule);
  }

 private:
  struct Pool {
    explicit Pool(std::size_t n) : pool(n), threads(n) {}
    boost::asio::thread_pool pool;
    std::size_t threads;
    std::atomic<bool> stopped{false};
  };

  // The scheduling state of one run. Ready stages wait in the run's own queue; each one posted
  // to the executor is a token that runs whichever stage is first in that queue, and a calling
  // thread that takes part drains the queue too, so no thread idles while a stage waits. The state
  // keeps itself alive while stages are in flight (`self_`) and is released by the last one;
  // nothing holds the pool itself, so the pool never ends up destroyed from one of its own threads.
  template <class Pipeline, class Steps, class Done>
  class Schedule {
    static constexpr std::size_t n = Pipeline::size;
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    static constexpr auto& plan = Pipeline::plan;

   public:
    Schedule(const Steps& steps, Done done, executor_type executor, const std::shared_ptr<Pool>& pool)
        : steps_(steps), done_(std::move(done)), executor_(std::move(executor)), pool_(pool),
          owns_pool_(pool != nullptr) {
      for (std::size_t i = 0; i < n; ++i) waiting_[i].store(static_cast<std::uint32_t>(plan.in_degree[i]));
    }

    /// Starts the roots. With `caller_runs`, the calling thread runs stages until the run is done.
    void launch(bool caller_runs, std::shared_ptr<Schedule> self) {
      self_ = std::move(self);
      caller_helps_ = caller_runs;
      auto keep = self_;  // the caller's own reference while it takes part
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
    struct Token {
      std::shared_ptr<Schedule> schedule;
      void operator()() {
        const auto s = std::move(schedule);
        if (const std::size_t i = s->pop(); i != none) s->run_chain(i);
      }
      explicit Token(std::shared_ptr<Schedule> s) noexcept : schedule(std::move(s)) {}
      Token(Token&&) noexcept = default;
      Token& operator=(Token&&) = delete;
      ~Token() {
        if (!schedule) return;
        if (const std::size_t i = schedule->pop(); i != none)
          schedule->rejected(i, "its executor dropped the task (was its context destroyed?)");
      }
    };

    void enqueue(std::size_t i) {
      if (owns_pool_ && pool_stopped()) return rejected(i, "its ParallelExecutor's pool is stopped");
      {
        std::lock_guard lock(mutex_);
        queue_[tail_++] = i;
      }
      if (caller_helps_) wake_.notify_one();
      try {
        boost::asio::post(executor_, Token(self_));
      } catch (...) {
        // The token's destructor rejected a queued stage.
      }
    }

    bool pool_stopped() const {
      const auto pool = pool_.lock();
      return !pool || pool->stopped.load(std::memory_order_acquire);
    }

    std::size_t pop() {
      std::lock_guard lock(mutex_);
      return head_ == tail_ ? none : queue_[head_++];
    }

    // The calling thread: run queued stages until the last one has finished.
    void help_until_done() {
      for (;;) {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return head_ != tail_ || finished_; });
        if (head_ == tail_) return;  // finished
        const std::size_t i = queue_[head_++];
        lock.unlock();
        run_chain(i);
      }
    }

    void rejected(std::size_t i, const char* why) {
      steps_.reject(i, why);
      release();
    }

    void run_chain(std::size_t i) {
      while (i != none) i = run_one(i);
    }

    // Runs stage i; returns the stage to run next on this thread, if the stage finished before
    // start() returned. If it finishes later, its completion carries on from there.
    std::size_t run_one(std::size_t i) {
      steps_.start(i, [this, i](bool proceed) { completed(i, proceed); });
      std::uint8_t expected = running;
      if (handoff_[i].compare_exchange_strong(expected, returned, std::memory_order_acq_rel)) return none;
      const std::size_t next = next_[i];
      release();
      return next;
    }

    void completed(std::size_t i, bool proceed) {
      std::size_t first = none;
      if (proceed && !steps_.ending()) {
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
      {
        std::lock_guard lock(mutex_);
        finished_ = true;
      }
      wake_.notify_all();
      done_();
    }

    static constexpr std::uint8_t running = 0, finished_inline = 1, returned = 2;

    Steps steps_;
    Done done_;
    executor_type executor_;
    std::weak_ptr<Pool> pool_;
    bool owns_pool_;
    bool caller_helps_ = false;
    std::shared_ptr<Schedule> self_;
    std::array<std::atomic<std::uint32_t>, n> waiting_{};
    std::array<std::atomic<std::uint8_t>, n> handoff_{};
    std::array<std::size_t, n> next_{};
    std::atomic<std::size_t> in_flight_{0};
    // Ready stages, first in first out; each stage is queued at most once per run.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::array<std::size_t, n> queue_{};
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
    bool finished_ = false;
  };

  std::shared_ptr<Pool> pool_;
  executor_type executor_;
  bool caller_runs_ = false;
};

}  // namespace stageflow

// A retry's backoff on this executor's timers (found by the run engine through ADL).
#include <stageflow/runner/backoff_timer.hpp>
