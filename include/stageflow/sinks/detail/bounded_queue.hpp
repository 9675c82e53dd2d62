// SPDX-License-Identifier: BSL-1.0
// A bounded multi-producer, multi-consumer queue of preallocated slots, after Dmitry Vyukov's:
// each cell's sequence says whose turn it is (pos: free for the producer of pos; pos + 1: filled,
// for a consumer of pos). A producer fills a cell in place and a consumer reads it in place, so
// nothing is allocated or moved after construction. Lock-free: one compare-and-swap claims a cell.
//
// AsyncSink uses it with one consumer (its writer) and, for its drop_oldest policy, producers that
// consume too (they take the oldest event out to make room).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <utility>

namespace stageflow::detail {

template <class T>
class BoundedQueue {
 public:
  /// Room for `capacity` values, rounded up to a power of two (at least 2).
  explicit BoundedQueue(std::size_t capacity)
      : mask_(std::bit_ceil(std::max<std::size_t>(capacity, 2)) - 1), cells_(std::make_unique<Cell[]>(mask_ + 1)) {
    for (std::size_t i = 0; i <= mask_; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }
  /// Each cell's value, for setting them up before the queue is shared.
  template <class F>
  void for_each_value(F&& f) {
    for (std::size_t i = 0; i <= mask_; ++i) f(cells_[i].value);
  }

  /// Claims the next cell, calls fill(T&) on it and publishes it; false (fill not called) when full.
  /// The claim is sequentially consistent: a consumer that then reads has_claimed() (the writer's
  /// sleep protocol in AsyncSink depends on this).
  template <class Fill>
  bool try_push(Fill&& fill) noexcept(noexcept(fill(std::declval<T&>()))) {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    Cell* cell;
    for (;;) {
      cell = &cells_[pos & mask_];
      const std::size_t sequence = cell->sequence.load(std::memory_order_acquire);
      const auto lap = static_cast<std::ptrdiff_t>(sequence - pos);
      if (lap == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst, std::memory_order_relaxed))
          break;
      } else if (lap < 0) {  // a consumer has not emptied this cell yet: the queue is full
        return false;
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
    std::forward<Fill>(fill)(cell->value);
    cell->sequence.store(pos + 1, std::memory_order_release);
    return true;
  }

  /// Takes the oldest published cell, calls take(T&) on it and frees it; false (take not called)
  /// when there is none: the queue is empty or its oldest cell is still being filled.
  template <class Take>
  bool try_pop(Take&& take) {
    std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Cell* cell;
    for (;;) {
      cell = &cells_[pos & mask_];
      const std::size_t sequence = cell->sequence.load(std::memory_order_acquire);
      const auto lap = static_cast<std::ptrdiff_t>(sequence - (pos + 1));
      if (lap == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (lap < 0) {
        return false;
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
    // Free the cell even if take throws: the value is the consumer's to lose.
    struct Release {
      Cell* cell;
      std::size_t next;
      ~Release() { cell->sequence.store(next, std::memory_order_release); }
    } release{cell, pos + mask_ + 1};
    std::forward<Take>(take)(cell->value);
    return true;
  }

  /// Whether a producer claimed a cell that no consumer took yet (sequentially consistent loads;
  /// the consumer side first, so a claim is never missed, at worst seen after it was taken).
  bool has_claimed() const noexcept {
    const std::size_t taken = dequeue_pos_.load(std::memory_order_seq_cst);
    return enqueue_pos_.load(std::memory_order_seq_cst) != taken;
  }

 private:
  struct alignas(64) Cell {
    std::atomic<std::size_t> sequence{0};
    T value{};
  };

  const std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace stageflow::detail
