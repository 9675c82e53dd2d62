// SPDX-License-Identifier: BSL-1.0
// AsyncSink<Inner>: takes events off the request path. The stage's thread only copies the event
// into a cell of a bounded, preallocated queue (detail/bounded_queue.hpp); a background thread
// hands it to the inner sink, which formats and writes it.
//
//   stageflow::AsyncSink<stageflow::json_lines_sink_st> sink(stageflow::json_lines_sink_st(file));
//   stageflow::Runner<decltype(sink)> runner(sink);   // the runner's copy shares the queue
//   ...
//   sink.flush();       // waits until every event emitted so far was written
//   sink.dropped();     // events lost to a full queue
//
// Guarantees:
// - emit never allocates and never throws: it claims a cell with one compare-and-swap (lock-free,
//   any number of threads) and copies into it. When the queue is full, the overflow policy decides
//   (AsyncSinkOptions::overflow): drop_newest (the default: this event is dropped, emit never
//   blocks), drop_oldest (the oldest queued event is dropped to make room) or block_for(d) (emit
//   waits up to d for room, then drops this event). Each drop is counted; the writer reports the
//   count as a `sink.events_dropped` event (fields `dropped`: since the last report,
//   `dropped_total`) and `dropped()` reads it. PrometheusEventCounter turns those reports into the
//   counter <prefix>_sink_events_dropped_total: give it to the writer with TeeSink, e.g.
//   AsyncSink<TeeSink<json_lines_sink_st, PrometheusEventCounter>>.
// - The writer sleeps until there is work (an atomic wait, no polling): an idle sink costs no CPU
//   and no wake-ups. A producer wakes it only when it sleeps (a load, and one futex call after an
//   idle spell); once awake it drains the queue and looks again for a few microseconds before it
//   sleeps, so a stream of events pays no wake-up each. Events are written in claim order.
// - Each cell has `text_bytes` of text; when an event's text does not fit, the free text (reason,
//   text values, list items) is cut longest first, so short fields survive (detail/event_slot.hpp
//   has the rule); a cut event gets the field `truncated: true`.
// - flush() returns once everything emitted before it reached the inner sink (and the inner sink's
//   own flush(), when it has one, ran). The last copy's destruction drains the queue the same way,
//   then stops the writer.
// - Only the writer thread calls the inner sink, one event at a time, so the inner sink needs no
//   lock of its own (json_lines_sink_st, collecting_sink_st). An inner sink that throws loses that event.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/sinks/detail/bounded_queue.hpp>
#include <stageflow/sinks/detail/event_slot.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

namespace stageflow {

namespace events {
inline constexpr std::string_view sink_events_dropped = "sink.events_dropped";
}  // namespace events

/// What AsyncSink does with an event when its queue is full.
struct AsyncOverflow {
  enum class Action : std::uint8_t { drop_newest, drop_oldest, block };
  Action action = Action::drop_newest;
  std::chrono::nanoseconds wait{0};  // block: how long emit may wait for room

  /// The event is dropped (and counted); emit never blocks.
  static constexpr AsyncOverflow drop_newest() noexcept { return {}; }
  /// The oldest queued event is dropped (and counted) to make room for this one; emit never blocks.
  static constexpr AsyncOverflow drop_oldest() noexcept { return {Action::drop_oldest, {}}; }
  /// emit waits up to `wait` for room, then drops (and counts) this event.
  template <class Rep, class Period>
  static constexpr AsyncOverflow block_for(std::chrono::duration<Rep, Period> wait) noexcept {
    return {Action::block, std::chrono::duration_cast<std::chrono::nanoseconds>(wait)};
  }
};

struct AsyncSinkOptions {
  /// Events the queue holds, rounded up to a power of two (at least 4).
  std::size_t capacity = 4096;
  /// Bytes of text each queued event may hold (the truncation rule above).
  std::size_t text_bytes = 512;
  /// What emit does when the queue is full.
  AsyncOverflow overflow = AsyncOverflow::drop_newest();
  /// How long the writer keeps looking for more events after the queue ran dry, before it sleeps.
  std::chrono::microseconds linger{50};
};

template <EventSink Inner>
class AsyncSink {
 public:
  using Options = AsyncSinkOptions;
  /// Fields kept per event; more are left out (and the event marked truncated).
  static constexpr std::size_t max_fields = detail::EventSlot::max_fields;
  /// Items of text lists kept per event, all its list fields together; the rest are left out.
  static constexpr std::size_t max_list_items = detail::EventSlot::max_list_items;

  explicit AsyncSink(Inner inner, Options options = {})
      : state_(std::make_shared<State>(std::move(inner), options)) {}

  /// Queues a copy of the event; when the queue is full, the overflow policy decides.
  void emit(const Event& event) const noexcept { state_->push(event); }
  /// Waits until every event emitted before this call went to the inner sink.
  void flush() const { state_->flush(); }
  /// Events dropped (any overflow policy), since the sink was made.
  std::uint64_t dropped() const noexcept { return state_->dropped.load(std::memory_order_relaxed); }
  /// The queue's capacity, after rounding.
  std::size_t capacity() const noexcept { return state_->queue.capacity(); }
  /// The inner sink; touch it only from the writer's side of the contract (e.g. after flush()).
  const Inner& inner() const noexcept { return state_->inner; }

 private:
  struct State {
    State(Inner inner_sink, const Options& options)
        : inner(std::move(inner_sink)),
          overflow(options.overflow),
          linger(options.linger),
          queue(std::max<std::size_t>(options.capacity, 4)),
          text_bytes(std::max<std::size_t>(options.text_bytes, 1)),
          text(std::make_unique<char[]>((queue.capacity() + 1) * text_bytes)) {
      char* at = text.get();
      queue.for_each_value([&](detail::EventSlot& slot) {
        slot.text = at;
        slot.text_bytes = text_bytes;
        at += text_bytes;
      });
      taken.text = at;  // the writer's own copy, outside the queue
      taken.text_bytes = text_bytes;
      writer = std::thread([this] { write_until_stopped(); });
    }
    ~State() {
      {
        std::lock_guard lock(mutex);
        stopping = true;
      }
      wake_writer(true);
      writer.join();
    }
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    // --- the request path ------------------------------------------------------------------
    void push(const Event& event) noexcept {
      auto fill = [&](detail::EventSlot& slot) noexcept { slot.fill(event); };
      if (!queue.try_push(fill) && !overflowed(fill)) dropped.fetch_add(1, std::memory_order_relaxed);
      // Sequentially consistent against the writer's `sleeping = 1, then has_claimed()`: either the
      // writer sees this event, or this load sees it asleep.
      if (sleeping.load(std::memory_order_seq_cst) != 0) wake_writer(false);
    }
    /// The full queue's slow path: true when the event found room after all.
    template <class Fill>
    bool overflowed(Fill& fill) noexcept {
      using Action = AsyncOverflow::Action;
      if (overflow.action == Action::drop_oldest) {
        for (int attempt = 0; attempt < 8; ++attempt) {  // bounded: producers may race for the room
          if (queue.try_pop([](detail::EventSlot&) noexcept {})) dropped.fetch_add(1, std::memory_order_relaxed);
          if (queue.try_push(fill)) return true;
        }
        return false;
      }
      if (overflow.action == Action::block) {
        const auto give_up = std::chrono::steady_clock::now() + overflow.wait;
        for (int round = 0;; ++round) {
          if (sleeping.load(std::memory_order_seq_cst) != 0) wake_writer(false);
          if (round < 16) {
            std::this_thread::yield();
          } else {
            std::this_thread::sleep_for(std::chrono::microseconds(20));
          }
          if (queue.try_push(fill)) return true;
          if (std::chrono::steady_clock::now() >= give_up) return false;
        }
      }
      return false;
    }
    /// Wakes the writer if it sleeps (`always`: whether or not, for flush and stop).
    void wake_writer(bool always) noexcept {
      if (sleeping.exchange(0, std::memory_order_seq_cst) != 0 || always) sleeping.notify_one();
    }

    // --- the writer thread -----------------------------------------------------------------
    /// Hands the oldest queued event to the inner sink; false when there is none (yet).
    bool write_one() {
      // Copied out first, so the cell is free while the inner sink works (drop_oldest needs that).
      if (!queue.try_pop([&](const detail::EventSlot& slot) noexcept { taken.copy_from(slot); })) return false;
      deliver(taken.event);
      return true;
    }
    /// Writes everything claimed before now, waiting for cells still being filled.
    void write_claimed() {
      while (queue.has_claimed())
        if (!write_one()) std::this_thread::yield();  // a producer is between its claim and its store
    }
    void deliver(const Event& event) {
      try {
        inner.emit(event);
      } catch (...) {
        // An inner sink that throws loses this event; the writer goes on.
      }
    }
    void report_drops() {
      const std::uint64_t total = dropped.load(std::memory_order_relaxed);
      if (total == reported_drops) return;
      const EventField fields[] = {{"dropped", total - reported_drops}, {"dropped_total", total}};
      reported_drops = total;
      Event report;
      report.type = events::sink_events_dropped;
      report.timestamp = std::chrono::system_clock::now();
      report.fields = fields;
      deliver(report);
    }
    void flush_inner() {
      if constexpr (requires { inner.flush(); }) {
        try {
          inner.flush();
        } catch (...) {
        }
      }
    }
    bool requested() {
      std::lock_guard lock(mutex);
      return stopping || flush_requests != flushes_served;
    }
    /// Looks for work for up to `linger`, then sleeps until a producer, flush() or stop wakes it.
    void idle() {
      const auto until = std::chrono::steady_clock::now() + linger;
      do {
        if (queue.has_claimed()) return;
        std::this_thread::yield();
      } while (std::chrono::steady_clock::now() < until);
      sleeping.store(1, std::memory_order_seq_cst);
      if (queue.has_claimed() || requested()) {
        sleeping.store(0, std::memory_order_relaxed);
        return;
      }
      sleeping.wait(1, std::memory_order_seq_cst);  // returns once a waker set it to 0
    }

    void write_until_stopped() {
      for (;;) {
        std::size_t written = 0;
        // A batch at most one queue long (and the event the writer held meanwhile), then the drops.
        while (written <= queue.capacity() && write_one()) ++written;
        report_drops();
        std::unique_lock lock(mutex);
        if (stopping || flush_requests != flushes_served) {
          const bool stop = stopping;
          const std::uint64_t requests = flush_requests;
          lock.unlock();
          write_claimed();
          report_drops();
          flush_inner();
          lock.lock();
          flushes_served = requests;
          flushed.notify_all();
          if (stop) return;  // no copy of the sink is left, so nothing more can be emitted
          continue;
        }
        lock.unlock();
        if (written == 0) idle();
      }
    }

    void flush() {
      std::unique_lock lock(mutex);
      const std::uint64_t ticket = ++flush_requests;
      lock.unlock();
      wake_writer(true);
      lock.lock();
      flushed.wait(lock, [&] { return flushes_served >= ticket; });
    }

    Inner inner;
    const AsyncOverflow overflow;
    const std::chrono::microseconds linger;
    detail::BoundedQueue<detail::EventSlot> queue;
    const std::size_t text_bytes;
    std::unique_ptr<char[]> text;  // text_bytes per cell and for `taken`, allocated once
    detail::EventSlot taken;       // the writer's alone
    alignas(64) std::atomic<std::uint64_t> dropped{0};
    alignas(64) std::atomic<int> sleeping{0};  // 1 while the writer waits on it
    std::uint64_t reported_drops = 0;          // the writer's alone
    std::mutex mutex;                          // guards the three below; never taken by emit
    std::uint64_t flush_requests = 0;
    std::uint64_t flushes_served = 0;
    bool stopping = false;
    std::condition_variable flushed;  // flush() waits on it
    std::thread writer;               // last: starts once the rest is built
  };

  std::shared_ptr<State> state_;
};

}  // namespace stageflow
