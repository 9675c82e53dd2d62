// SPDX-License-Identifier: BSL-1.0
// StageOutput<T>: what a stage returns when it can do more than succeed.
//
// A stage may return its value directly (the stage succeeded) or a StageOutput<T> carrying one of
// the four statuses:
//   ok      the value is the stage's output;
//   skip    no output; dependents still run and see the input as absent;
//   cancel  the run stops here, with the results so far (RunStatus::cancelled);
//   fail    the run stops here and fails, naming this stage and the reason.
//
//   StageOutput<Route> execute(const auto& ctx) const {
//     if (ctx.snapshot().input_text.empty()) return stageflow::skip("nothing to route");
//     return Route{...};                                  // ok
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace stageflow {

/// The status of a stage. `not_run` appears only in reports: the stage never started.
/// `timed_out`: the stage ran past its `timeout` (its output, if any, is discarded); only the
/// runner sets it.
enum class StageStatus : std::uint8_t { not_run, ok, skip, cancel, fail, timed_out };

/// The status words are the events' (stage.completed, stage.skipped, ...) and, where they mean
/// the same, RunStatus's: one vocabulary in reports, events, logs and metrics labels.
constexpr std::string_view to_string(StageStatus status) noexcept {
  switch (status) {
    case StageStatus::not_run: return "not_run";
    case StageStatus::ok: return "completed";
    case StageStatus::skip: return "skipped";
    case StageStatus::cancel: return "cancelled";
    case StageStatus::fail: return "failed";
    case StageStatus::timed_out: return "timed_out";
  }
  return "unknown";
}

/// A status without a value and its reason; converts to any StageOutput<T>.
struct StageVerdict {
  StageStatus status;
  std::string reason;
  /// A failure that asks its stage's next attempt to wait at least this long (stageflow::retry_after).
  std::chrono::nanoseconds retry_after{0};
};

/// No output; dependents still run and see this stage's output as absent.
inline StageVerdict skip(std::string reason = {}) { return {StageStatus::skip, std::move(reason)}; }
/// Stop the run here with the results so far.
inline StageVerdict cancel(std::string reason = {}) { return {StageStatus::cancel, std::move(reason)}; }
/// Stop the run here and fail it with this reason.
inline StageVerdict fail(std::string reason) { return {StageStatus::fail, std::move(reason)}; }

template <class T>
class StageOutput {
 public:
  using value_type = T;

  /// Success with a value: `return value;` in a stage that returns StageOutput<T>.
  template <class U = T>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, StageVerdict> &&
             !std::is_same_v<std::remove_cvref_t<U>, StageOutput>)
  StageOutput(U&& value) : status_(StageStatus::ok), value_(std::forward<U>(value)) {}

  /// skip(...), cancel(...) or fail(...).
  StageOutput(StageVerdict verdict)
      : status_(verdict.status), reason_(std::move(verdict.reason)), retry_after_(verdict.retry_after) {}

  static StageOutput ok(T value) { return StageOutput(std::move(value)); }

  StageStatus status() const noexcept { return status_; }
  bool is_ok() const noexcept { return status_ == StageStatus::ok; }
  /// The value of an ok output; std::bad_optional_access otherwise.
  const T& value() const& { return value_.value(); }
  T& value() & { return value_.value(); }
  T&& value() && { return std::move(value_).value(); }
  /// Why the stage skipped, cancelled or failed.
  const std::string& reason() const noexcept { return reason_; }
  /// How long a stage's next attempt must wait at least (a failure made by stageflow::retry_after).
  std::chrono::nanoseconds retry_after() const noexcept { return retry_after_; }

 private:
  StageStatus status_;
  std::optional<T> value_;
  std::string reason_;
  std::chrono::nanoseconds retry_after_{0};
};

/// A stage with no value still reports a status.
template <>
class StageOutput<void> {
 public:
  using value_type = void;
  StageOutput() noexcept = default;
  StageOutput(StageVerdict verdict)
      : status_(verdict.status), reason_(std::move(verdict.reason)), retry_after_(verdict.retry_after) {}
  static StageOutput ok() noexcept { return {}; }
  StageStatus status() const noexcept { return status_; }
  bool is_ok() const noexcept { return status_ == StageStatus::ok; }
  const std::string& reason() const noexcept { return reason_; }
  std::chrono::nanoseconds retry_after() const noexcept { return retry_after_; }

 private:
  StageStatus status_ = StageStatus::ok;
  std::string reason_;
  std::chrono::nanoseconds retry_after_{0};
};

template <class T>
inline constexpr bool is_stage_output_v = false;
template <class T>
inline constexpr bool is_stage_output_v<StageOutput<T>> = true;

}  // namespace stageflow
