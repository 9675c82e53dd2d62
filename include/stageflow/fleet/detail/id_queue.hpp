// SPDX-License-Identifier: BSL-1.0
// IdQueue: the bounded queue between observe() and a shared window's thread. One producer at a
// time (the monitor calls submit() under its own lock), one consumer (the window's thread): a ring
// of ids with two atomic positions, so a push is a few stores and never waits for the consumer.
#pragma once

#include <boost/uuid/uuid.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace stageflow::fleet::detail {

class IdQueue {
 public:
  /// Capacity rounded up to a power of two (at least 2); std::invalid_argument for 0 or > 2^30.
  explicit IdQueue(std::size_t capacity)
      : capacity_(checked_capacity(capacity)), slots_(std::make_unique<boost::uuids::uuid[]>(capacity_)) {}

  /// Producer: false (and nothing stored) when the queue is full.
  bool push(const boost::uuids::uuid& id) noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ >= capacity_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - cached_head_ >= capacity_) return false;
    }
    slots_[tail & (capacity_ - 1)] = id;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  /// Consumer: moves up to `max` ids to `out`, oldest first; returns how many.
  std::size_t pop(boost::uuids::uuid* out, std::size_t max) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(tail - head, max));
    for (std::size_t i = 0; i < n; ++i) out[i] = slots_[(head + i) & (capacity_ - 1)];
    head_.store(head + n, std::memory_order_release);
    return n;
  }

  /// Ids waiting now (either side; exact only when the other side is idle).
  std::size_t size() const noexcept {
    return static_cast<std::size_t>(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
  }
  std::size_t capacity() const noexcept { return capacity_; }
  /// Ids pushed since the start.
  std::uint64_t pushed() const noexcept { return tail_.load(std::memory_order_relaxed); }

 private:
  static std::size_t checked_capacity(std::size_t capacity) {
    if (capacity == 0 || capacity > (std::size_t{1} << 30))
      throw std::invalid_argument("stageflow: a shared window's queue_capacity must be 1 to 2^30");
    return std::bit_ceil(std::max<std::size_t>(capacity, 2));
  }

  const std::size_t capacity_;
  std::unique_ptr<boost::uuids::uuid[]> slots_;
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the producer
  std::uint64_t cached_head_ = 0;                   // the producer's last look at head_
  alignas(64) std::atomic<std::uint64_t> head_{0};  // written by the consumer
};

}  // namespace stageflow::fleet::detail
