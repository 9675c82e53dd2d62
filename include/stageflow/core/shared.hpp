// SPDX-License-Identifier: BSL-1.0
// Shared<T>: the one ownership rule for the monitors and trackers a component uses
// (UuidCollisionMonitor, MemoryTracker, in ToolExecutor and PipelineRunner; the policies
// UuidTelemetry and MemoryTracking follow the same rule through their constructors).
//
//   ToolExecutor({.uuid_monitor = UuidCollisionMonitor({.category = "tool"})});   // a value: its own
//   auto monitor = std::make_shared<UuidCollisionMonitor>();
//   ToolExecutor({.uuid_monitor = monitor});                                     // a shared_ptr: yours, shared
//
// A value is moved in and owned by the component (and by its copies); a std::shared_ptr is shared
// with whoever else holds it, so one monitor can see every id of a service (run ids through
// UuidTelemetry, tool-call ids through ToolExecutor) and one tracker tell one story. Empty: none.
// The monitor and the tracker are thread-safe, so sharing them across threads is fine.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace stageflow {

template <class T>
class Shared {
 public:
  /// None.
  Shared() = default;
  Shared(std::nullptr_t) noexcept {}
  /// The component's own, moved in.
  template <class U = T>
    requires(std::is_same_v<std::remove_cvref_t<U>, T> && std::is_move_constructible_v<T>)
  Shared(U&& value) : pointer_(std::make_shared<T>(std::forward<U>(value))) {}
  /// Yours, shared.
  Shared(std::shared_ptr<T> shared) noexcept : pointer_(std::move(shared)) {}

  explicit operator bool() const noexcept { return pointer_ != nullptr; }
  T* get() const noexcept { return pointer_.get(); }
  T& operator*() const noexcept { return *pointer_; }
  T* operator->() const noexcept { return pointer_.get(); }
  /// For handing the same instance to another component.
  const std::shared_ptr<T>& shared() const noexcept { return pointer_; }

 private:
  std::shared_ptr<T> pointer_;
};

}  // namespace stageflow
