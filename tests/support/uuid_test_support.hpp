// SPDX-License-Identifier: BSL-1.0
// Test helpers for the UUID telemetry tests: clocks moved by hand, and version 7 ids built
// byte by byte (independently of our generator) with any timestamp.
#pragma once

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace stageflow::testing {

/// A steady clock the test moves by hand. Copies share the time, so a test keeps one copy and
/// hands another to the code under test.
struct ManualSteadyClock {
  using time_point = std::chrono::steady_clock::time_point;
  std::shared_ptr<time_point> current = std::make_shared<time_point>(std::chrono::hours(1000));

  time_point now() const { return *current; }
  void advance(std::chrono::nanoseconds by) const { *current += by; }
  void set(time_point to) const { *current = to; }
};

/// A wall clock the test moves by hand (system_clock time points).
struct ManualWallClock {
  using time_point = std::chrono::system_clock::time_point;
  std::shared_ptr<time_point> current =
      std::make_shared<time_point>(std::chrono::milliseconds(1'700'000'000'000));  // November 2023

  time_point now() const { return *current; }
  void advance(std::chrono::nanoseconds by) const {
    *current += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  }
  void set(time_point to) const { *current = to; }
};

/// A version 7 UUID with the given Unix-millisecond timestamp; the other 74 bits come from `salt`.
inline boost::uuids::uuid hand_built_uuid7(std::uint64_t unix_ms, std::uint64_t salt = 0x0123456789ABCDEFULL) {
  boost::uuids::uuid id{};
  for (int i = 0; i < 6; ++i) id.data[i] = static_cast<std::uint8_t>(unix_ms >> (40 - 8 * i));
  for (int i = 6; i < 16; ++i) {
    salt = salt * 6364136223846793005ULL + 1442695040888963407ULL;
    id.data[i] = static_cast<std::uint8_t>(salt >> 56);
  }
  id.data[6] = static_cast<std::uint8_t>(0x70 | (id.data[6] & 0x0F));  // version 7
  id.data[8] = static_cast<std::uint8_t>(0x80 | (id.data[8] & 0x3F));  // RFC 9562 variant
  return id;
}

inline boost::uuids::uuid hand_built_uuid7(std::chrono::system_clock::time_point at, std::uint64_t salt = 1) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  return hand_built_uuid7(static_cast<std::uint64_t>(ms), salt);
}

/// A version 4 (random-looking) UUID, deterministic from `index`: distinct indexes below 2^48 give
/// distinct ids (the last 6 bytes are the index).
inline boost::uuids::uuid hand_built_uuid4(std::uint64_t index) {
  boost::uuids::uuid id{};
  std::uint64_t state = index;
  for (int i = 0; i < 10; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    id.data[i] = static_cast<std::uint8_t>(state >> 56);
  }
  for (int i = 10; i < 16; ++i) id.data[i] = static_cast<std::uint8_t>(index >> (8 * (15 - i)));
  id.data[6] = static_cast<std::uint8_t>(0x40 | (id.data[6] & 0x0F));
  id.data[8] = static_cast<std::uint8_t>(0x80 | (id.data[8] & 0x3F));
  return id;
}

}  // namespace stageflow::testing
