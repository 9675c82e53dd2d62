// SPDX-License-Identifier: BSL-1.0
// UUIDv7 (RFC 9562): time-ordered ids for runs, requests and tool calls.
//
// Layout (RFC 9562 section 5.7, method 1 of section 6.2: a long dedicated counter):
//
//   48 bits  unix_ts_ms   milliseconds since the Unix epoch, big-endian
//    4 bits  version      0b0111
//   12 bits  counter[41:30]
//    2 bits  variant      0b10
//   30 bits  counter[29:0]
//   32 bits  random       fresh per id
//
// The 42-bit counter is reseeded with a random 41-bit value (top bit clear) at every new
// millisecond and incremented by one within a millisecond, so a generator can emit 2^41 ids in
// one millisecond before it must borrow the next one: a burst never runs ahead of the clock, unlike
// a "+1 ms per id" scheme. When the clock steps back the generator keeps its last timestamp and
// goes on counting, so ids stay strictly increasing.
//
// Guarantees: ids from one thread are strictly increasing (as 128-bit big-endian numbers and as
// boost::uuids::uuid with operator<). Ids from different threads are unique but not ordered
// within a millisecond. Each thread has its own generator, seeded once from std::random_device;
// a forked child reseeds before its first id, so parent and child never share a sequence.
#pragma once

#include <stageflow/config.hpp>

#include <boost/uuid/uuid.hpp>

#include <pthread.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>

namespace stageflow::helpers {

namespace detail {

/// Bumped in a forked child, so every thread state inherited from the parent reseeds.
inline std::atomic<std::uint32_t> uuid7_fork_generation{1};

inline void register_uuid7_fork_handler() {
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, [] { uuid7_fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
}

inline std::uint64_t to_big_endian(std::uint64_t value) noexcept {
  if constexpr (std::endian::native == std::endian::big) {
    return value;
  } else {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap64(value);
#else
    std::uint64_t swapped = 0;
    for (int i = 0; i < 8; ++i) swapped = (swapped << 8) | ((value >> (8 * i)) & 0xFF);
    return swapped;
#endif
  }
}

/// splitmix64: small, fast, and good enough for the non-secret random bits of an id.
inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace detail

/// Seeds a generator's random bits: once per thread from std::random_device.
struct RandomDeviceSeed {
  std::uint64_t operator()() const {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }
};

/// A UUIDv7 generator with its own state. `generate_uuid7()` uses one per thread; make your own
/// to inject a clock (tests, simulations) or a seed. Not thread-safe: one per thread.
template <class Clock = std::chrono::system_clock, class Seed = RandomDeviceSeed>
class Uuid7Generator {
 public:
  static constexpr int counter_bits = 42;
  static constexpr std::uint64_t counter_limit = std::uint64_t{1} << counter_bits;

  constexpr Uuid7Generator() = default;
  explicit Uuid7Generator(Clock clock, Seed seed = {}) : clock_(std::move(clock)), seed_(std::move(seed)) {}

  boost::uuids::uuid operator()() {
    if (fork_generation_ != detail::uuid7_fork_generation.load(std::memory_order_relaxed)) [[unlikely]]
      reseed();
    // Drawn before the clock read, so the mixing overlaps the clock call.
    const auto random = static_cast<std::uint32_t>(next_random());
    const auto since_epoch = clock_.now().time_since_epoch();
    const auto now_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
    if (now_ms > last_ms_) {
      last_ms_ = now_ms;
      counter_ = next_random() >> (64 - (counter_bits - 1));  // 41 random bits: 2^41 ids of headroom
    } else if (++counter_ == counter_limit) [[unlikely]] {
      // 2^41 ids within one millisecond (or a clock stuck behind): borrow the next millisecond.
      ++last_ms_;
      counter_ = next_random() >> (64 - (counter_bits - 1));
    }
    return encode(last_ms_, counter_, random);
  }

  /// The timestamp (ms) of the last id, which may be ahead of the clock after a step back.
  std::uint64_t last_timestamp_ms() const noexcept { return last_ms_; }

 private:
  static boost::uuids::uuid encode(std::uint64_t ms, std::uint64_t counter, std::uint32_t random) noexcept {
    const std::uint64_t high = (ms << 16) | (std::uint64_t{0x7} << 12) | (counter >> 30);
    const std::uint64_t low = (std::uint64_t{0x2} << 62) | ((counter & 0x3FFFFFFFULL) << 32) | random;
    // Two whole-word stores: byte-by-byte stores read back as words stall store forwarding,
    // which cost about a third of the generator's time.
    const std::uint64_t words[2] = {detail::to_big_endian(high), detail::to_big_endian(low)};
    boost::uuids::uuid id;
    std::memcpy(id.data, words, sizeof words);
    return id;
  }

  std::uint64_t next_random() noexcept { return detail::splitmix64(random_state_); }

  void reseed() {
    detail::register_uuid7_fork_handler();
    random_state_ = seed_() ^ reinterpret_cast<std::uintptr_t>(this);
    fork_generation_ = detail::uuid7_fork_generation.load(std::memory_order_relaxed);
    counter_ = next_random() >> (64 - (counter_bits - 1));
  }

  // Plain data, zero-initialised, so a thread_local generator needs no constructor call.
  STAGEFLOW_NO_UNIQUE_ADDRESS Clock clock_{};
  STAGEFLOW_NO_UNIQUE_ADDRESS Seed seed_{};
  std::uint64_t last_ms_ = 0;
  std::uint64_t counter_ = 0;
  std::uint64_t random_state_ = 0;
  std::uint32_t fork_generation_ = 0;  // 0 never matches: the first call seeds
};

/// A new RFC 9562 version 7 UUID from this thread's generator. See the header comment for the
/// ordering guarantees. Typically a few nanoseconds more than reading the system clock.
inline boost::uuids::uuid generate_uuid7() {
  thread_local Uuid7Generator<> generator;
  return generator();
}

/// True for an RFC 9562 version 7 UUID (version nibble 7, variant 0b10).
inline bool is_uuid7(const boost::uuids::uuid& id) noexcept {
  return (id.data[6] >> 4) == 0x7 && (id.data[8] >> 6) == 0x2;
}

/// The millisecond Unix timestamp embedded in a version 7 UUID, over its whole 48-bit range (to
/// the year 10889), or nullopt for any other UUID.
inline std::optional<std::chrono::sys_time<std::chrono::milliseconds>> uuid7_time_ms(
    const boost::uuids::uuid& id) noexcept {
  if (!is_uuid7(id)) return std::nullopt;
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | id.data[i];
  return std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
}

/// The timestamp of a version 7 UUID as a system_clock time point, or nullopt for any other UUID
/// and for a timestamp that system_clock cannot represent: it counts nanoseconds in 64 bits
/// (libstdc++, libc++), which ends in April 2262, while a v7 timestamp reaches 10889. Use
/// uuid7_time_ms() for the full range.
inline std::optional<std::chrono::system_clock::time_point> uuid7_time(const boost::uuids::uuid& id) noexcept {
  const auto ms = uuid7_time_ms(id);
  if (!ms) return std::nullopt;
  using clock_duration = std::chrono::system_clock::duration;
  constexpr auto last_ms = std::chrono::floor<std::chrono::milliseconds>(clock_duration::max());
  if (ms->time_since_epoch() > last_ms) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<clock_duration>(ms->time_since_epoch()));
}

}  // namespace stageflow::helpers
