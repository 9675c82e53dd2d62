// SPDX-License-Identifier: BSL-1.0
// UuidWindow: the data structure behind UuidCollisionMonitor. Not thread-safe (the monitor locks).
//
// It keeps the last `max_entries` observations younger than the TTL and answers "was this id among
// them?" in O(1):
//   - a ring buffer of (key, tick) in observation order: the oldest observation is at the head,
//     so expiry and eviction pop from the head;
//   - an open-addressing table (linear probing, backward-shift deletion, load at most 1/2) from key
//     to the number of its observations in the ring. A count, not a set: evicting the older of two
//     observations of an id leaves the id in the window.
// Both grow by doubling up to the size `max_entries` needs and never beyond, so memory is bounded
// by max_entries whatever the input, and a window that sees little traffic stays small.
// Keys are hashed with XXH3 and a per-process random seed, so ids chosen by an outsider cannot
// force long probe sequences.
#pragma once

#include <boost/uuid/uuid.hpp>

#include <stageflow/detail/xxhash.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stageflow::detail {

/// A UUID as two 64-bit words (native byte order: only equality and hashing use it).
struct UuidKey {
  std::uint64_t first = 0;
  std::uint64_t second = 0;

  static UuidKey from(const boost::uuids::uuid& id) noexcept {
    UuidKey key;
    std::memcpy(&key.first, id.data, 8);
    std::memcpy(&key.second, id.data + 8, 8);
    return key;
  }
  friend bool operator==(const UuidKey&, const UuidKey&) = default;
};

/// Seeds the window's hash: random once per process.
inline std::uint64_t uuid_hash_seed() {
  static const std::uint64_t seed = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }();
  return seed;
}

class UuidWindow {
 public:
  /// Ticks of a steady clock, in any unit, as long as the TTL uses the same one.
  using Tick = std::int64_t;

  /// Larger windows would need more than a 32-bit count or index; nobody needs 2^30 live ids.
  static constexpr std::size_t max_supported_entries = std::size_t{1} << 30;

  /// Throws std::invalid_argument for max_entries of 0 or above max_supported_entries, or a TTL
  /// that is not positive. Allocates nothing: storage comes with the first observation.
  UuidWindow(std::size_t max_entries, Tick ttl, std::uint64_t seed = uuid_hash_seed())
      : max_entries_(max_entries), ttl_(ttl), seed_(seed) {
    if (max_entries == 0 || max_entries > max_supported_entries)
      throw std::invalid_argument("stageflow: UUID window max_entries must be between 1 and 2^30, got " +
                                  std::to_string(max_entries));
    if (ttl <= 0) throw std::invalid_argument("stageflow: UUID window TTL must be positive");
  }

  UuidWindow(const UuidWindow&) = delete;
  UuidWindow& operator=(const UuidWindow&) = delete;

  /// The moved-from window is empty and usable: it allocates again when next used.
  UuidWindow(UuidWindow&& other) noexcept
      : max_entries_(other.max_entries_), ttl_(other.ttl_), seed_(other.seed_) {
    steal(other);
  }
  UuidWindow& operator=(UuidWindow&& other) noexcept {
    if (this != &other) {
      max_entries_ = other.max_entries_;
      ttl_ = other.ttl_;
      seed_ = other.seed_;
      steal(other);
    }
    return *this;
  }

  /// Records an observation of `key` at `now` and says whether the key was already in the window.
  /// In order: entries as old as the TTL leave; the key is looked up; the oldest observation
  /// leaves if the window is full; the observation is added. A tick earlier than the newest one
  /// seen counts as the newest (a clock may not run backwards here).
  bool observe(const UuidKey& key, Tick now) {
    now = advance_to(now);
    expire_before_check(now);
    const std::uint32_t hash = hash_of(key);
    // Evicting before the lookup saves a second probe; an evicted observation of this very key
    // still counts, since it was in the window when this observation came.
    bool evicted_same_key = false;
    if (size_ == max_entries_) {
      evicted_same_key = pop_oldest() == key;
    } else if (size_ == ring_.size()) {
      grow_ring();
    }
    const std::uint32_t previous_count = increment(key, hash);
    std::size_t tail = head_ + size_;
    if (tail >= ring_.size()) tail -= ring_.size();
    ring_[tail] = Entry{key, now};
    ++size_;
    return previous_count > 0 || evicted_same_key;
  }

  /// Drops the entries as old as the TTL at `now` (the same rule `observe` applies first).
  void expire(Tick now) { expire_before_check(advance_to(now)); }

  /// Observations in the window (at most max_entries).
  std::size_t size() const noexcept { return size_; }
  /// Distinct ids in the window.
  std::size_t distinct() const noexcept { return distinct_; }
  /// How many observations of `key` the window holds.
  std::uint32_t count(const UuidKey& key) const noexcept {
    if (slots_.empty()) return 0;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash_of(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].count == 0) return 0;
      if (slots_[i].key == key) return slots_[i].count;
    }
  }

  std::size_t max_entries() const noexcept { return max_entries_; }
  Tick ttl() const noexcept { return ttl_; }
  /// Bytes held by the ring and the table.
  std::size_t memory_bytes() const noexcept {
    return ring_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(Slot);
  }
  /// The most `memory_bytes()` can ever be for this max_entries.
  static std::size_t memory_bound(std::size_t max_entries) noexcept {
    return max_entries * sizeof(Entry) + table_capacity_for(max_entries) * sizeof(Slot);
  }

 private:
  struct Entry {
    UuidKey key;
    Tick tick;
  };
  struct Slot {
    UuidKey key;
    std::uint32_t count;  // 0: the slot is empty
    std::uint32_t hash;   // the key's hash, kept so deletion and growth need not rehash
  };
  static constexpr std::size_t min_ring_capacity = 16;
  static constexpr std::size_t min_table_capacity = 32;

  static std::size_t table_capacity_for(std::size_t entries) noexcept {
    return std::max(min_table_capacity, std::bit_ceil(2 * entries));
  }

  std::uint32_t hash_of(const UuidKey& key) const noexcept {
    return static_cast<std::uint32_t>(XXH3_64bits_withSeed(&key, sizeof key, seed_));
  }

  Tick advance_to(Tick now) noexcept {
    if (now < newest_tick_) return newest_tick_;
    newest_tick_ = now;
    return now;
  }

  void expire_before_check(Tick now) {
    // Unsigned difference: exact for now >= tick whatever the ticks' range.
    while (size_ > 0 && static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(ring_[head_].tick) >=
                            static_cast<std::uint64_t>(ttl_))
      pop_oldest();
  }

  UuidKey pop_oldest() noexcept {
    const UuidKey key = ring_[head_].key;
    if (++head_ == ring_.size()) head_ = 0;
    --size_;
    decrement(key);
    return key;
  }

  void grow_ring() {
    const std::size_t capacity = std::min(max_entries_, std::max(min_ring_capacity, 2 * ring_.size()));
    std::vector<Entry> grown(capacity);
    for (std::size_t i = 0, from = head_; i < size_; ++i) {
      grown[i] = ring_[from];
      if (++from == ring_.size()) from = 0;
    }
    ring_ = std::move(grown);
    head_ = 0;
  }

  /// Adds one observation of the key; returns how many there were before.
  std::uint32_t increment(const UuidKey& key, std::uint32_t hash) {
    if (2 * (distinct_ + 1) > slots_.size()) grow_table();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i].count != 0) {
      if (slots_[i].key == key) return slots_[i].count++;
      i = (i + 1) & mask;
    }
    slots_[i] = Slot{key, 1, hash};
    ++distinct_;
    return 0;
  }

  /// Removes one observation of a key the table holds.
  void decrement(const UuidKey& key) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash_of(key) & mask;
    while (!(slots_[i].key == key && slots_[i].count != 0)) i = (i + 1) & mask;
    if (--slots_[i].count != 0) return;
    --distinct_;
    // Backward-shift deletion: pull later members of the probe run into the hole, so lookups
    // never need tombstones.
    for (std::size_t j = (i + 1) & mask; slots_[j].count != 0; j = (j + 1) & mask) {
      const std::size_t home = slots_[j].hash & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        slots_[i] = slots_[j];
        slots_[j].count = 0;
        i = j;
      }
    }
  }

  void grow_table() {
    const std::size_t capacity = slots_.empty() ? min_table_capacity : 2 * slots_.size();
    std::vector<Slot> grown(capacity);  // zeroed: every slot empty
    const std::size_t mask = capacity - 1;
    for (const Slot& slot : slots_) {
      if (slot.count == 0) continue;
      std::size_t i = slot.hash & mask;
      while (grown[i].count != 0) i = (i + 1) & mask;
      grown[i] = slot;
    }
    slots_ = std::move(grown);
  }

  void steal(UuidWindow& other) noexcept {
    ring_ = std::exchange(other.ring_, {});
    slots_ = std::exchange(other.slots_, {});
    head_ = std::exchange(other.head_, 0);
    size_ = std::exchange(other.size_, 0);
    distinct_ = std::exchange(other.distinct_, 0);
    newest_tick_ = std::exchange(other.newest_tick_, std::numeric_limits<Tick>::min());
  }

  std::size_t max_entries_;
  Tick ttl_;
  std::uint64_t seed_;
  std::vector<Entry> ring_;
  std::vector<Slot> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t distinct_ = 0;
  Tick newest_tick_ = std::numeric_limits<Tick>::min();
};

}  // namespace stageflow::detail
