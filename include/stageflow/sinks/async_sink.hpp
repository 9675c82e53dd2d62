// SPDX-License-Identifier: BSL-1.0
// AsyncSink<Inner>: takes events off the request path. The stage's thread only copies the event
// into a slot of a bounded, preallocated queue; a background thread hands it to the inner sink,
// which formats and writes it.
//
//   stageflow::AsyncSink<stageflow::json_lines_sink_st> sink(stageflow::json_lines_sink_st(file));
//   stageflow::Runner<decltype(sink)> runner(sink);   // the runner's copy shares the queue
//   ...
//   sink.flush();       // waits until every event emitted so far was written
//   sink.dropped();     // events lost because the queue was full
//
// Guarantees:
// - emit never blocks, never allocates and never throws: it claims a slot with one compare-and-
//   swap (lock-free, any number of threads) and copies into it. When the queue is full the event is
//   dropped and counted; the writer reports the count as a `sink.events_dropped` event (fields
//   `dropped`: since the last report, `dropped_total`) and `dropped()` reads it.
// - An event is written within about `poll_interval` of its emit (sooner under load: producers wake
//   the writer every quarter of the queue). Events are written in the order their slots were claimed.
// - Each slot has `text_bytes` of text: type, stage, status, reason, then each field's key and text
//   value, in that order. Text past the end is cut at a UTF-8 character boundary, a field whose key
//   does not fit and fields past `max_fields` are left out; such an event gets the field
//   `truncated: true`.
// - flush() returns once everything emitted before it reached the inner sink (and the inner sink's
//   own flush(), when it has one, ran). The last copy's destruction drains the queue the same way,
//   then stops the writer.
// - Only the writer thread calls the inner sink, one event at a time, so the inner sink needs no
//   lock of its own (json_lines_sink_st, collecting_sink_st). An inner sink that throws loses that event.
#pragma once

#include <stageflow/core/events.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>

namespace stageflow {

namespace events {
inline constexpr std::string_view sink_events_dropped = "sink.events_dropped";
}  // namespace events

struct AsyncSinkOptions {
  /// Events the queue holds, rounded up to a power of two (at least 4).
  std::size_t capacity = 4096;
  /// Bytes of text each queued event may hold (the truncation rule above).
  std::size_t text_bytes = 512;
  /// How long the idle writer sleeps before it looks at the queue again.
  std::chrono::microseconds poll_interval{1000};
};

template <EventSink Inner>
class AsyncSink {
 public:
  using Options = AsyncSinkOptions;
  /// Fields kept per event; more are left out (and the event marked truncated).
  static constexpr std::size_t max_fields = 16;
  /// Items of text lists kept per event, all its list fields together; the rest are left out.
  static constexpr std::size_t max_list_items = 32;

  explicit AsyncSink(Inner inner, Options options = {})
      : state_(std::make_shared<State>(std::move(inner), options)) {}

  /// Queues a copy of the event, or drops and counts it when the queue is full.
  void emit(const Event& event) const noexcept { state_->push(event); }
  /// Waits until every event emitted before this call went to the inner sink.
  void flush() const { state_->flush(); }
  /// Events dropped because the queue was full, since the sink was made.
  std::uint64_t dropped() const noexcept { return state_->dropped.load(std::memory_order_relaxed); }
  /// The queue's capacity, after rounding.
  std::size_t capacity() const noexcept { return state_->mask + 1; }
  /// The inner sink; touch it only from the writer's side of the contract (e.g. after flush()).
  const Inner& inner() const noexcept { return state_->inner; }

 private:
  /// A slot's text storage: copies text in, cutting what does not fit at a character boundary.
  class TextArena {
   public:
    TextArena(char* begin, std::size_t size) noexcept : at_(begin), end_(begin + size) {}
    std::string_view copy(std::string_view text) noexcept {
      std::size_t n = text.size();
      const auto room = static_cast<std::size_t>(end_ - at_);
      if (n > room) {
        n = room;
        while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // not mid-character
        cut = true;
      }
      if (n == 0) return {};
      std::memcpy(at_, text.data(), n);
      const std::string_view copied(at_, n);
      at_ += n;
      return copied;
    }
    bool fits(std::size_t bytes) const noexcept { return bytes <= static_cast<std::size_t>(end_ - at_); }
    bool cut = false;

   private:
    char* at_;
    char* end_;
  };

  struct alignas(64) Slot {
    std::atomic<std::size_t> sequence{0};
    Event event{};  // its views point into `fields` and this slot's text
    std::array<EventField, max_fields + 1> fields{};  // + 1: "truncated"
    std::array<std::string_view, max_list_items> list_items{};  // the items of its text lists
    char* text = nullptr;

    void fill(const Event& from, std::size_t text_bytes) noexcept {
      TextArena arena(text, text_bytes);
      event = from;  // numbers, ids, times; the views are replaced below
      event.type = arena.copy(from.type);
      event.stage = arena.copy(from.stage);
      event.status = arena.copy(from.status);
      event.reason = arena.copy(from.reason);
      std::size_t count = 0;
      std::size_t items = 0;
      for (const EventField& field : from.fields) {
        if (count == max_fields || !arena.fits(field.key.size())) {
          arena.cut = true;
          break;
        }
        EventField& to = fields[count++];
        to.key = arena.copy(field.key);
        // One branch per EventValue alternative: text is copied, the rest is a value already.
        to.value = std::visit(detail::overloaded{
                                  [](std::int64_t v) -> EventValue { return v; },
                                  [](double v) -> EventValue { return v; },
                                  [](bool v) -> EventValue { return v; },
                                  [&](std::string_view v) -> EventValue { return arena.copy(v); },
                                  [&](std::span<const std::string_view> list) -> EventValue {
                                    const std::size_t first = items;
                                    for (const std::string_view item : list) {
                                      if (items == max_list_items || !arena.fits(item.size())) {
                                        arena.cut = true;
                                        break;
                                      }
                                      list_items[items++] = arena.copy(item);
                                    }
                                    return std::span<const std::string_view>(list_items.data() + first,
                                                                             items - first);
                                  },
                              },
                              field.value);
      }
      if (arena.cut) fields[count++] = EventField("truncated", true);
      event.fields = std::span<const EventField>(fields.data(), count);
    }
  };

  struct State {
    State(Inner inner_sink, const Options& options)
        : inner(std::move(inner_sink)),
          mask(std::bit_ceil(std::max<std::size_t>(options.capacity, 4)) - 1),
          wake_mask(std::max<std::size_t>((mask + 1) / 4, 1) - 1),
          text_bytes(options.text_bytes),
          poll_interval(options.poll_interval),
          slots(std::make_unique<Slot[]>(mask + 1)),
          text(std::make_unique<char[]>((mask + 1) * std::max<std::size_t>(text_bytes, 1))) {
      for (std::size_t i = 0; i <= mask; ++i) {
        slots[i].sequence.store(i, std::memory_order_relaxed);
        slots[i].text = text.get() + i * text_bytes;
      }
      writer = std::thread([this] { write_until_stopped(); });
    }
    ~State() {
      {
        std::lock_guard lock(mutex);
        stopping = true;
      }
      wake.notify_one();
      writer.join();
    }
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    // --- the request path ------------------------------------------------------------------
    // A bounded multi-producer queue after Dmitry Vyukov's: a slot's sequence says whose turn it
    // is (pos: free for the producer of pos; pos + 1: filled, for the writer).
    void push(const Event& event) noexcept {
      std::size_t pos = enqueue_pos.load(std::memory_order_relaxed);
      Slot* slot;
      for (;;) {
        slot = &slots[pos & mask];
        const std::size_t sequence = slot->sequence.load(std::memory_order_acquire);
        const auto lap = static_cast<std::ptrdiff_t>(sequence - pos);
        if (lap == 0) {
          if (enqueue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
        } else if (lap < 0) {  // the writer has not emptied this slot yet: the queue is full
          dropped.fetch_add(1, std::memory_order_relaxed);
          return;
        } else {
          pos = enqueue_pos.load(std::memory_order_relaxed);
        }
      }
      slot->fill(event, text_bytes);
      slot->sequence.store(pos + 1, std::memory_order_release);
      if ((pos & wake_mask) == 0) wake.notify_one();  // cheap when no one waits; keeps a burst from overflowing
    }

    // --- the writer thread -----------------------------------------------------------------
    /// Hands the next filled slot to the inner sink; false when it is not filled (yet).
    bool write_one() {
      Slot& slot = slots[dequeue_pos & mask];
      if (slot.sequence.load(std::memory_order_acquire) != dequeue_pos + 1) return false;
      deliver(slot.event);
      slot.sequence.store(dequeue_pos + mask + 1, std::memory_order_release);
      ++dequeue_pos;
      return true;
    }
    /// Writes everything claimed before now, waiting for slots still being filled.
    void write_claimed() {
      const std::size_t goal = enqueue_pos.load(std::memory_order_acquire);
      while (dequeue_pos != goal)
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

    void write_until_stopped() {
      for (;;) {
        std::size_t written = 0;
        while (written <= mask && write_one()) ++written;  // a batch at most one queue long
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
        if (written == 0) wake.wait_for(lock, poll_interval);  // producers never lock: a missed wake costs one poll
      }
    }

    void flush() {
      std::unique_lock lock(mutex);
      const std::uint64_t ticket = ++flush_requests;
      wake.notify_one();
      flushed.wait(lock, [&] { return flushes_served >= ticket; });
    }

    Inner inner;
    const std::size_t mask;       // capacity - 1
    const std::size_t wake_mask;  // producers wake the writer when (pos & wake_mask) == 0
    const std::size_t text_bytes;
    const std::chrono::microseconds poll_interval;
    std::unique_ptr<Slot[]> slots;
    std::unique_ptr<char[]> text;  // text_bytes per slot, allocated once
    alignas(64) std::atomic<std::size_t> enqueue_pos{0};
    alignas(64) std::atomic<std::uint64_t> dropped{0};
    alignas(64) std::size_t dequeue_pos = 0;  // the writer's alone
    std::uint64_t reported_drops = 0;         // the writer's alone
    std::mutex mutex;                         // guards the three below; never taken by emit
    std::uint64_t flush_requests = 0;
    std::uint64_t flushes_served = 0;
    bool stopping = false;
    std::condition_variable wake;     // the writer sleeps on it
    std::condition_variable flushed;  // flush() waits on it
    std::thread writer;               // last: starts once the rest is built
  };

  std::shared_ptr<State> state_;
};

}  // namespace stageflow
