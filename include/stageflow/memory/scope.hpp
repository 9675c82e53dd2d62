// SPDX-License-Identifier: BSL-1.0
// Recording "<label>:start" and "<label>:end" around a block (MemoryScope) or around each call of a
// callable (track_memory), also when it ends by an exception.
#pragma once

#include <stageflow/memory/detail/allocation_counter_state.hpp>
#include <stageflow/memory/sample.hpp>
#include <stageflow/memory/tracker.hpp>

#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace stageflow::helpers {

template <class Function>
class MemoryTracked;

/// Records "<label>:start" now and "<label>:end" when the scope ends, also when it ends by an
/// exception. Records nothing when the tracker is stopped at the start. The end observation runs
/// in the destructor: an exception from it is caught and counted in the tracker's error_count().
class [[nodiscard]] MemoryScope {
 public:
  explicit MemoryScope(std::string_view label) : MemoryScope(default_memory_tracker(), label) {}

  MemoryScope(MemoryTracker& tracker, std::string_view label) : tracker_(&tracker) {
    {
      stageflow::detail::AllocationCountingPause pause;
      owned_label_.assign(label);
    }
    label_ = owned_label_;
    begin();
  }

  MemoryScope(const MemoryScope&) = delete;
  MemoryScope& operator=(const MemoryScope&) = delete;

  ~MemoryScope() {
    if (!start_ || finished_) return;
    try {
      (void)finish();
    } catch (...) {
      tracker_->record_error(std::current_exception());
    }
  }

  /// Takes the end sample now instead of at the end of the scope (once; later calls give nullopt).
  std::optional<MemorySample> finish() {
    if (!start_ || finished_) return std::nullopt;
    finished_ = true;
    auto observation = tracker_->try_observe(label_, {.label_suffix = ":end"});
    if (!observation) return std::nullopt;
    return std::move(observation->sample);
  }

  /// The start sample, or nullopt when the tracker was stopped.
  const std::optional<MemorySample>& start_sample() const noexcept { return start_; }

 private:
  template <class Function>
  friend class MemoryTracked;

  struct BorrowLabel {};
  // For MemoryTracked: the label outlives the scope, so it is not copied.
  MemoryScope(MemoryTracker& tracker, std::string_view label, BorrowLabel) : tracker_(&tracker), label_(label) {
    begin();
  }

  void begin() {
    if (auto observation = tracker_->try_observe(label_, {.label_suffix = ":start"}))
      start_ = std::move(observation->sample);
  }

  MemoryTracker* tracker_;
  std::string owned_label_;
  std::string_view label_;
  std::optional<MemorySample> start_;
  bool finished_ = false;
};

/// A callable that records "<label>:start" and "<label>:end" around each call of the one it wraps,
/// with the same arguments and result. Made by track_memory.
template <class Function>
class MemoryTracked {
 public:
  MemoryTracked(std::string label, MemoryTracker& tracker, Function function)
      : label_(std::move(label)), tracker_(&tracker), function_(std::move(function)) {}

  template <class... Args>
    requires std::invocable<Function&, Args...>
  decltype(auto) operator()(Args&&... args) & {
    MemoryScope scope(*tracker_, label_, MemoryScope::BorrowLabel{});
    return std::invoke(function_, std::forward<Args>(args)...);
  }
  template <class... Args>
    requires std::invocable<const Function&, Args...>
  decltype(auto) operator()(Args&&... args) const& {
    MemoryScope scope(*tracker_, label_, MemoryScope::BorrowLabel{});
    return std::invoke(function_, std::forward<Args>(args)...);
  }
  template <class... Args>
    requires std::invocable<Function, Args...>
  decltype(auto) operator()(Args&&... args) && {
    MemoryScope scope(*tracker_, label_, MemoryScope::BorrowLabel{});
    return std::invoke(std::move(function_), std::forward<Args>(args)...);
  }

  const std::string& label() const noexcept { return label_; }
  MemoryTracker& tracker() const noexcept { return *tracker_; }

 private:
  std::string label_;
  MemoryTracker* tracker_;
  Function function_;
};

/// Wraps `function` so each call records "<label>:start" and "<label>:end" in the process-wide
/// default_memory_tracker() (the end also when the call throws; the exception then propagates).
template <class Function>
  requires(!std::is_same_v<std::remove_cvref_t<Function>, MemoryTracker>)
[[nodiscard]] MemoryTracked<std::decay_t<Function>> track_memory(std::string label, Function&& function) {
  return {std::move(label), default_memory_tracker(), std::forward<Function>(function)};
}

/// The same, recording into `tracker`, which must outlive the returned callable.
template <class Function>
[[nodiscard]] MemoryTracked<std::decay_t<Function>> track_memory(std::string label, MemoryTracker& tracker,
                                                                 Function&& function) {
  return {std::move(label), tracker, std::forward<Function>(function)};
}

}  // namespace stageflow::helpers
