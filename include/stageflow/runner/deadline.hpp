// SPDX-License-Identifier: BSL-1.0
// Deadline: the one form a run's deadline takes, from RunOptions to the last check.
//
//   stageflow::Deadline by(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
//   if (by.passed()) ...;          // never true for a run without a deadline
//
// A run without a deadline is Deadline{} (none()). Deadlines are on std::chrono::steady_clock
// whatever clock the runner times stages with: a deadline is about the caller's wall of time,
// which a fake or absent clock (use_clock) must not move.
#pragma once

#include <chrono>
#include <optional>

namespace stageflow {

class Deadline {
 public:
  using clock = std::chrono::steady_clock;

  /// No deadline.
  constexpr Deadline() noexcept = default;
  constexpr explicit Deadline(clock::time_point at) noexcept : at_(at), set_(true) {}
  /// From RunOptions::deadline: none when empty.
  constexpr explicit Deadline(const std::optional<clock::time_point>& at) noexcept
      : at_(at.value_or(clock::time_point{})), set_(at.has_value()) {}

  constexpr bool is_set() const noexcept { return set_; }
  constexpr explicit operator bool() const noexcept { return set_; }
  /// When it falls; only meaningful when is_set().
  constexpr clock::time_point at() const noexcept { return at_; }
  /// True when set and `now` is at or past it.
  bool passed(clock::time_point now = clock::now()) const noexcept { return set_ && now >= at_; }

 private:
  clock::time_point at_{};
  bool set_ = false;
};

}  // namespace stageflow
