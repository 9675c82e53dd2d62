// SPDX-License-Identifier: BSL-1.0
// StageLifecycle: one stage of one run, from admission to its outcome, written once. The
// synchronous step (run_engine.hpp) and the Asio coroutine (<stageflow/runner/async_run.hpp>) both
// drive it; the coroutine only co_awaits between begin_attempt() and store():
//
//   if (!Life::admit(frame)) return false;     // nothing ended the run, no stop requested
//   Life life(frame);                          // the stage's context, its timeout, policy states
//   life.before();                             // before-hooks (declaration order)
//   if (life.may_start()) {                    // no before-hook failed it: stage.started
//     life.begin_attempt();                    //   the attempt's own start reading
//     try { life.store(execute) } catch (...) { life.threw(...); }
//     life.finish_attempt();                   //   its end reading, the stage timeout, error hooks
//   }
//   return life.end();                         // after-hooks (reverse), outcome event, run's end
//
// With `retry`, after finish_attempt(): retry_delay() (the failed attempt's after-hooks run), the
// driver's backoff (this thread or an Asio timer), next_attempt(), before() again.
//
// The object owns its clock readings, so stages that run at the same time never share one (the
// race of issue 25, item 11, is gone by construction). An attempt is begin_attempt() ..
// finish_attempt(): retries and hedging re-enter that part and keep the rest.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/core/stage_output.hpp>
#include <stageflow/runner/deadline.hpp>
#include <stageflow/runner/detail/hook_dispatch.hpp>
#include <stageflow/runner/detail/stage_timeout.hpp>
#include <stageflow/runner/hooks.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/retry_clock.hpp>
#include <stageflow/runner/run_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stop_token>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace stageflow::detail {

template <class Hooks, class Frame, std::size_t I>
class StageLifecycle {
 public:
  using pipeline_type = typename Frame::pipeline_type;
  using run_type = typename Frame::run_type;
  using clock = typename Frame::clock;
  using S = list_element_t<I, typename pipeline_type::stage_types>;
  using context_type = StageContext<typename Frame::snapshot_type, pipeline_type, S>;
  using stage_states_type = typename Hooks::stage_states_type;
  /// Without policies nothing looks at the stage from outside: no StageRun, no states, so the
  /// object is a handful of scalars the compiler keeps in registers (tests/zero_cost).
  static constexpr bool has_hooks = Hooks::count > 0;
  static constexpr bool has_event_sink = Frame::core_type::has_event_sink;
  /// The stage declares `retry`: its lifecycle may go round more than once.
  static constexpr bool retries = has_retry<S>;
  static consteval bool valid_retry() {
    if constexpr (retries) return S::retry.max_attempts >= 1 && S::retry.max_attempts <= 255;
    return true;
  }
  static_assert(valid_retry(), "stageflow: Retry::max_attempts must be between 1 and 255");
  /// Synchronous and hedged: see <stageflow/runner/detail/hedged_stage.hpp>.
  static constexpr bool sync_hedged = has_hedge<S> && !is_async_stage_v<typename Frame::snapshot_type, pipeline_type, S>;

  /// Whether stage I may start: nothing ended the run and no stop was requested. Always inlined:
  /// left out of line (GCC 12 does, for its cold branch), it costs Runner<> about 45 instructions
  /// a stage (tests/zero_cost/program.cpp under callgrind).
  [[gnu::always_inline]] static bool admit(Frame& frame) {
    auto& core = frame.core;
    if constexpr (Frame::concurrent) {
      if (core.ending.get()) return false;  // another stage ended the run: this one never starts
    }
    if (frame.stops.token().stop_requested()) {
      if (frame.deadline_passed())
        core.end(RunStatus::timed_out, "the run's deadline passed");
      else
        core.end(RunStatus::cancelled, "stop requested");
      return false;
    }
    if constexpr (Frame::full) return frame.enter_stage(I);
    return true;
  }

  /// An admitted stage: its context (with its own stop token when it declares a timeout).
  explicit StageLifecycle(Frame& f)
      : frame_(f), stage_(f.pipeline->template stage_at<I>()),
        ctx_(*f.core.snapshot, f.core.outputs.data(), f.result.pipeline_run_id, arm_timeout()),
        stage_run_(make_stage_run(f)), stage_states_(Hooks::make_stage_states(*f.policies)) {}
  StageLifecycle(const StageLifecycle&) = delete;
  StageLifecycle& operator=(const StageLifecycle&) = delete;
  ~StageLifecycle() {
    if constexpr (Frame::full) frame_.leave_stage(I);
  }

  const S& stage() const noexcept { return stage_; }
  /// The context with another stop token (a hedged copy's; it must outlive the copy).
  context_type context_for(const std::stop_token& stop) const {
    context_type copy(*frame_.core.snapshot, frame_.core.outputs.data(), frame_.result.pipeline_run_id, stop);
    if constexpr (retries) for (unsigned a = 1; a < ctx_.attempt(); ++a) copy.next_attempt();
    return copy;
  }
  /// stage.hedged: copy number `extra` starts, the attempt having run `after`.
  void hedged([[maybe_unused]] unsigned extra, [[maybe_unused]] std::chrono::nanoseconds after) const {
    if constexpr (has_event_sink)
      frame_.core.send(events::stage_hedged, I, {}, {}, std::chrono::nanoseconds(-1), std::chrono::system_clock::now(),
                       {{"extra", extra}, {"after_ns", after.count()}});
  }
  /// The run's stop token (what ends a backoff).
  const std::stop_token& run_stop_token() const noexcept { return frame_.stops.token(); }
  const context_type& context() const noexcept { return ctx_; }
  StageReport& report() noexcept { return frame_.result.stages[I]; }

  void before() {
    if constexpr (has_hooks) reached_ = Hooks::template call<hooks::before_stage>(frame_, stage_states_, 0, stage_run_);
  }

  /// After the before-hooks: true when execute may be called (no before-hook failed the stage,
  /// restored it from a checkpoint, or ended the run); then stage.started is emitted.
  bool may_start() {
    if (report().status != StageStatus::not_run || frame_.core.ending.get()) return false;
    if constexpr (has_event_sink)
      frame_.core.send(events::stage_started, I, {}, {}, std::chrono::nanoseconds(-1), std::chrono::system_clock::now());
    return true;
  }

  void begin_attempt() {
    if constexpr (retries) report().attempts = static_cast<std::uint8_t>(ctx_.attempt());
    if constexpr (Frame::chains_clock_readings)
      t0_ = frame_.last_reading;
    else
      t0_ = clock::now();
    if constexpr (has_event_sink) attempted_ = true;
  }

  /// Stores what `produce()` returns (the stage's result) as the stage's output and status.
  template <class Produce>
  void store(Produce&& produce) {
    using Result = std::invoke_result_t<Produce&>;
    auto& r = report();
    auto& slot = frame_.core.template slot<I>();
    try {
      if constexpr (std::is_void_v<Result>) {
        produce();
        slot.emplace();
      } else if constexpr (std::is_same_v<Result, StageOutput<void>>) {
        StageOutput<void> out = produce();
        executed(out.status());
        if (out.is_ok())
          slot.emplace();
        else
          r.reason = out.reason();
        if constexpr (retries) retry_.floor = out.retry_after();
      } else if constexpr (is_stage_output_v<Result>) {
        Result out = produce();
        executed(out.status());
        if (out.is_ok())
          slot.emplace(std::move(out).value());
        else
          r.reason = out.reason();
        if constexpr (retries) retry_.floor = out.retry_after();
        // `out` is destroyed here, before the output is published: if that throws, the stage fails
        // and its output does not stay behind.
      } else {
        slot.emplace(produce());
      }
    } catch (...) {
      slot.reset();
      throw;
    }
    if (slot) {
      executed(StageStatus::ok);
      frame_.core.template publish<I>();
    }
  }

  void threw(std::exception_ptr error) {
    executed(StageStatus::fail);
    report().reason = exception_text(error);
  }

  /// The attempt was stopped (an async stage's I/O cancelled by its stop token): timed out at the
  /// run's deadline, else cancelled.
  void stopped() {
    const bool deadline = frame_.deadline_passed();
    executed(deadline ? StageStatus::timed_out : StageStatus::cancel);
    report().reason = deadline ? "the run's deadline passed" : "stop requested";
  }

  /// After execute: its duration, the stage's own timeout, the error hooks.
  void finish_attempt() {
    const auto t1 = clock::now();
    if constexpr (Frame::chains_clock_readings) frame_.last_reading = t1;
    if constexpr (has_event_sink) t1_ = t1;
    auto& r = report();
    r.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0_);
    if constexpr (has_timeout<S>) {
      if (timeout_->finish() && r.status != StageStatus::fail) {
        r.status = StageStatus::timed_out;
        r.reason = "the stage ran past its timeout of " + milliseconds_text(stage_timeout_v<S>);
        frame_.core.template drop_output<I>();
      }
    }
    if constexpr (has_hooks) {
      if (r.status == StageStatus::fail) Hooks::template call<hooks::on_stage_error>(frame_, stage_states_, 0, stage_run_);
    }
  }

  /// After an attempt of a stage that declares `retry`: the backoff before the next attempt, or
  /// nullopt when this attempt's outcome is the stage's. A retry is due after a failure (or a
  /// timeout with `.retry_timeouts`) while attempts remain, nothing ended the run, no stop was
  /// requested, and the backoff ends before the run's deadline (else the reason says why not).
  /// When one is due, the attempt's after-hooks have run and stage.retrying was sent.
  [[gnu::always_inline]] std::optional<std::chrono::nanoseconds> retry_delay()
    requires retries
  {
    // The success path pays one comparison; the rest is out of line.
    if (!attempt_failed()) [[likely]]
      return std::nullopt;
    return retry_delay_after_failure();
  }
  /// Whether the attempt ended in what a retry may answer (a failure or a timeout).
  bool attempt_failed() noexcept { return report().status == StageStatus::fail || report().status == StageStatus::timed_out; }

  [[gnu::noinline]] std::optional<std::chrono::nanoseconds> retry_delay_after_failure()
    requires retries
  {
    auto& r = report();
    const bool retryable = r.status == StageStatus::fail || (r.status == StageStatus::timed_out && S::retry.retry_timeouts);
    const unsigned attempt = ctx_.attempt();
    if (!retryable || attempt >= S::retry.max_attempts || frame_.core.ending.get() ||
        frame_.stops.token().stop_requested())
      return std::nullopt;
    const auto delay = S::retry.delay(attempt, retry_.previous, retry_.floor, detail::retry_uniform());
    if (const Deadline deadline = frame_.deadline(); deadline && detail::retry_now() + delay >= deadline.at()) {
      r.reason += "; not retried: the backoff of " + milliseconds_text(delay) + " before attempt " +
                  std::to_string(attempt + 1) + " would end after the run's deadline";
      return std::nullopt;
    }
    retry_.previous = delay;
    if constexpr (has_hooks) {
      Hooks::template call<hooks::after_stage>(frame_, stage_states_, reached_, stage_run_);
      reached_ = 0;  // a backoff that ends the stage has no attempt left to close
      if (r.status != StageStatus::fail && r.status != StageStatus::timed_out) return std::nullopt;
    }
    if constexpr (has_event_sink)
      frame_.core.send(events::stage_retrying, I, {}, {}, std::chrono::nanoseconds(-1),
                       std::chrono::system_clock::now(),
                       {{"attempt", attempt + 1}, {"delay_ns", delay.count()}, {"reason", std::string_view(r.reason)}});
    return delay;
  }

  /// Waits a backoff on this thread (the synchronous drivers), then starts the next attempt;
  /// false when a stop request ended the wait (the stage then ends, see backoff_stopped()).
  bool wait_backoff(std::chrono::nanoseconds delay)
    requires retries
  {
    RetryClock* installed = detail::installed_retry_clock.load(std::memory_order_acquire);
    const bool waited = installed ? installed->wait(delay, frame_.stops.token())
                                  : detail::default_retry_wait(delay, frame_.stops.token());
    if (!waited) {
      backoff_stopped();
      return false;
    }
    next_attempt();
    return true;
  }

  /// A stop ended a backoff: the stage ends cancelled (timed out at the deadline), keeping the last failure.
  void backoff_stopped()
    requires retries
  {
    auto& r = report();
    std::string last = std::move(r.reason);
    stopped();
    r.reason += " during the backoff before attempt " + std::to_string(ctx_.attempt() + 1) + " (last failure: " +
                last + ")";
  }

  /// The backoff is over: the next attempt begins with a clean report (and a fresh timeout).
  void next_attempt()
    requires retries
  {
    report().status = StageStatus::not_run;
    report().reason.clear();
    ctx_.next_attempt();
    retry_.floor = {};
    // Chained readings: the next attempt starts after the backoff, which is in no duration.
    if constexpr (Frame::chains_clock_readings) frame_.last_reading = clock::now();
    if constexpr (has_timeout<S>) {
      timeout_.reset();
      timeout_.emplace(*frame_.core.stop, stage_timeout_v<S>);  // same storage: ctx_'s token stays valid
    }
  }

  /// The after-hooks (for the policies whose before-hook was reached) and the outcome event;
  /// false when the run must stop.
  bool end() {
    auto& r = report();
    if constexpr (Frame::full) {
      if (frame_.left_behind()) return false;  // the caller returned at its deadline: report nothing
    }
    if constexpr (has_hooks) Hooks::template call<hooks::after_stage>(frame_, stage_states_, reached_, stage_run_);
    if constexpr (has_event_sink) send_outcome();

    // The common case first, as one comparison: ok and skip go on.
    if (r.status == StageStatus::ok || r.status == StageStatus::skip) {
      const bool proceed = !frame_.core.ending.get();
      if constexpr (Frame::full) {
        if (proceed) frame_.stage_finished();
      }
      return proceed;
    }
    if constexpr (is_best_effort_v<S>) {
      // Best effort: the failure stays in the report, the output stays absent, the run goes on.
      if (r.status == StageStatus::fail || r.status == StageStatus::timed_out) {
        const bool proceed = !frame_.core.ending.get();
        if constexpr (Frame::full) {
          if (proceed) frame_.stage_finished();
        }
        return proceed;
      }
    }
    const RunStatus ending = r.status == StageStatus::fail     ? RunStatus::failed
                             : r.status == StageStatus::cancel ? RunStatus::cancelled
                                                               : RunStatus::timed_out;
    if (r.status != StageStatus::not_run)  // not_run: a before-hook already ended the run
      frame_.core.end(ending, r.reason, S::name);
    return false;
  }

 private:
  /// An attempt's status; a stage without `retry` counts its attempt beside it (tests/zero_cost).
  void executed(StageStatus status) noexcept {
    auto& r = report();
    if constexpr (!retries) r.attempts = 1;
    r.status = status;
  }

  /// The stop token the stage sees: the run's, or with a timeout, its own chained to the run's.
  const std::stop_token& arm_timeout() {
    if constexpr (has_timeout<S>)
      return timeout_.emplace(*frame_.core.stop, stage_timeout_v<S>).token();
    else
      return *frame_.core.stop;
  }

  /// stage.completed (or skipped, failed...) with the attempt's measured start and end; a stage
  /// that never executed (a before-hook failed it) is a zero-length span at this moment.
  void send_outcome() {
    auto& r = report();
    const auto type = outcome_event(r.status);
    if (type.empty()) return;
    if (attempted_) {
      frame_.core.send_outcome(type, I, to_string(r.status), r.reason, t0_, t1_);
    } else {
      const auto now = clock::now();
      frame_.core.send_outcome(type, I, to_string(r.status), r.reason, now, now);
    }
  }

  template <class T>
  using timeout_slot = std::conditional_t<has_timeout<S>, std::optional<T>, absent>;
  template <bool Needed, class T>
  using only_if = std::conditional_t<Needed, T, absent>;

  auto make_stage_run(Frame& f) const {
    if constexpr (has_hooks)
      return StageRun<run_type, S>(f.run, stage_, ctx_);
    else
      return absent{};
  }

  struct RetryState {                      // carried from one attempt to the next
    std::chrono::nanoseconds previous{0};  // the last backoff (decorrelated jitter grows from it)
    std::chrono::nanoseconds floor{0};     // what the last attempt's retry_after asked for
  };

  Frame& frame_;
  const S& stage_;
  STAGEFLOW_NO_UNIQUE_ADDRESS timeout_slot<StageTimeout> timeout_;  // armed by ctx_'s initialiser
  std::conditional_t<retries, context_type, const context_type> ctx_;  // a retry counts its attempts
  STAGEFLOW_NO_UNIQUE_ADDRESS only_if<retries, RetryState> retry_{};
  STAGEFLOW_NO_UNIQUE_ADDRESS only_if<has_hooks, StageRun<run_type, S>> stage_run_;
  STAGEFLOW_NO_UNIQUE_ADDRESS stage_states_type stage_states_;
  STAGEFLOW_NO_UNIQUE_ADDRESS only_if<has_hooks, std::size_t> reached_{};
  typename clock::time_point t0_{};
  STAGEFLOW_NO_UNIQUE_ADDRESS only_if<has_event_sink, typename clock::time_point> t1_{};
  STAGEFLOW_NO_UNIQUE_ADDRESS only_if<has_event_sink, bool> attempted_{};
};

}  // namespace stageflow::detail
