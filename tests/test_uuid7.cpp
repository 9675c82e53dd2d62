// SPDX-License-Identifier: BSL-1.0
#include <stageflow/helpers/uuid7.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>
#include <unistd.h>
#include <sys/wait.h>

#include "catch2_shim.hpp"

using namespace stageflow::helpers;
using namespace std::chrono;

namespace {

/// A clock the test moves by hand.
struct ManualClock {
  using duration = system_clock::duration;
  using time_point = system_clock::time_point;
  std::shared_ptr<time_point> now_ptr = std::make_shared<time_point>(milliseconds(1'700'000'000'000));
  time_point now() const { return *now_ptr; }
  void set(time_point t) const { *now_ptr = t; }
};

std::uint64_t timestamp_ms(const boost::uuids::uuid& id) {
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | id.data[i];
  return ms;
}

}  // namespace

TEST_CASE("generate_uuid7 sets version 7 and the RFC 9562 variant", "[uuid7]") {
  for (int i = 0; i < 1000; ++i) {
    const auto id = generate_uuid7();
    CHECK((id.data[6] >> 4) == 7);
    CHECK((id.data[8] >> 6) == 0b10);
    CHECK(is_uuid7(id));
  }
}

TEST_CASE("generate_uuid7 embeds the current time", "[uuid7]") {
  const auto before = time_point_cast<milliseconds>(system_clock::now());
  const auto id = generate_uuid7();
  const auto after = system_clock::now();
  const auto t = uuid7_time(id);
  REQUIRE(t.has_value());
  CHECK(*t >= before);
  CHECK(*t <= after);
}

TEST_CASE("uuid7_time is nullopt for a UUID that is not version 7", "[uuid7]") {
  boost::uuids::uuid v4{};
  v4.data[6] = 0x40;
  v4.data[8] = 0x80;
  CHECK_FALSE(uuid7_time(v4).has_value());
  boost::uuids::uuid nil{};
  CHECK_FALSE(uuid7_time(nil).has_value());
  auto wrong_variant = generate_uuid7();
  wrong_variant.data[8] = static_cast<std::uint8_t>((wrong_variant.data[8] & 0x3F) | 0xC0);
  CHECK_FALSE(uuid7_time(wrong_variant).has_value());
}

TEST_CASE("ids of one thread are strictly increasing within a millisecond burst", "[uuid7]") {
  std::vector<boost::uuids::uuid> ids(200'000);
  for (auto& id : ids) id = generate_uuid7();
  CHECK(std::adjacent_find(ids.begin(), ids.end(), [](auto& a, auto& b) { return !(a < b); }) == ids.end());
}

TEST_CASE("a burst of a million ids does not run ahead of the clock", "[uuid7]") {
  boost::uuids::uuid last{};
  for (int i = 0; i < 1'000'000; ++i) last = generate_uuid7();
  const auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  CHECK(static_cast<std::int64_t>(timestamp_ms(last)) <= now_ms);
}

TEST_CASE("the same millisecond forever still gives increasing ids", "[uuid7]") {
  ManualClock clock;
  Uuid7Generator<ManualClock> generator(clock);
  auto previous = generator();
  for (int i = 0; i < 100'000; ++i) {
    const auto next = generator();
    REQUIRE(previous < next);
    previous = next;
  }
  CHECK(timestamp_ms(previous) == 1'700'000'000'000ULL);  // no borrowing from the future
}

TEST_CASE("a clock that steps back keeps ids increasing and the timestamp still", "[uuid7]") {
  ManualClock clock;
  Uuid7Generator<ManualClock> generator(clock);
  const auto before = generator();
  clock.set(clock.now() - seconds(5));
  const auto after_step = generator();
  CHECK(before < after_step);
  CHECK(timestamp_ms(after_step) == timestamp_ms(before));
  clock.set(clock.now() + seconds(10));  // the clock passes the old timestamp: time moves on
  const auto later = generator();
  CHECK(after_step < later);
  CHECK(timestamp_ms(later) == timestamp_ms(before) + 5000);
}

TEST_CASE("threads generate unique ids", "[uuid7][threads]") {
  constexpr int per_thread = 50'000;
  std::vector<boost::uuids::uuid> a(per_thread), b(per_thread);
  std::thread ta([&] { for (auto& id : a) id = generate_uuid7(); });
  std::thread tb([&] { for (auto& id : b) id = generate_uuid7(); });
  ta.join();
  tb.join();
  std::set<boost::uuids::uuid> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  CHECK(all.size() == 2 * per_thread);
}

TEST_CASE("a forked child does not repeat its parent's ids", "[uuid7]") {
  (void)generate_uuid7();  // the parent's generator is seeded before the fork
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const auto id = generate_uuid7();
    [[maybe_unused]] auto written = ::write(pipe_fds[1], id.data, 16);
    ::_exit(0);
  }
  const auto parent_id = generate_uuid7();
  boost::uuids::uuid child_id{};
  REQUIRE(::read(pipe_fds[0], child_id.data, 16) == 16);
  ::waitpid(child, nullptr, 0);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  // Same millisecond, same inherited counter: only a reseed makes the random parts differ.
  CHECK(parent_id != child_id);
  CHECK(std::equal(parent_id.data + 8, parent_id.data + 16, child_id.data + 8) == false);
}

namespace {

/// A version 7 UUID with the given 48-bit millisecond timestamp and every random bit set.
boost::uuids::uuid uuid7_at(std::uint64_t unix_ms) {
  boost::uuids::uuid id{};
  for (int i = 0; i < 6; ++i) id.data[i] = static_cast<std::uint8_t>(unix_ms >> (8 * (5 - i)));
  for (std::size_t i = 6; i < 16; ++i) id.data[i] = 0xFF;
  id.data[6] = 0x7F;
  id.data[8] = 0xBF;
  return id;
}

}  // namespace

// Regression (issue 16, defect 7): milliseconds past 2262 overflowed system_clock's 64-bit
// nanoseconds (undefined behaviour), and FFFFFFFF-FFFF-7FFF-BFFF-FFFFFFFFFFFF came back near 2121.
TEST_CASE("uuid7_time is nullopt past system_clock's range; uuid7_time_ms covers all 48 bits", "[uuid7]") {
  const auto last = uuid7_at((std::uint64_t{1} << 48) - 1);
  CHECK(boost::uuids::to_string(last) == "ffffffff-ffff-7fff-bfff-ffffffffffff");
  CHECK_FALSE(uuid7_time(last).has_value());
  REQUIRE(uuid7_time_ms(last).has_value());
  CHECK(uuid7_time_ms(last)->time_since_epoch().count() == (std::int64_t{1} << 48) - 1);

  // The last millisecond system_clock holds, and the next one.
  const auto last_ms = floor<milliseconds>(system_clock::duration::max()).count();
  const auto edge = uuid7_time(uuid7_at(static_cast<std::uint64_t>(last_ms)));
  REQUIRE(edge.has_value());
  CHECK(duration_cast<milliseconds>(edge->time_since_epoch()).count() == last_ms);
  CHECK_FALSE(uuid7_time(uuid7_at(static_cast<std::uint64_t>(last_ms) + 1)).has_value());

  // Inside the range the two agree to the millisecond.
  const auto id = uuid7_at(1'764'547'200'123);  // 2025-12-01T00:00:00.123Z
  REQUIRE(uuid7_time(id).has_value());
  CHECK(time_point_cast<milliseconds>(*uuid7_time(id)) == *uuid7_time_ms(id));
  CHECK(uuid7_time_ms(id)->time_since_epoch().count() == 1'764'547'200'123);
  boost::uuids::uuid v4{};
  v4.data[6] = 0x40;
  v4.data[8] = 0x80;
  CHECK_FALSE(uuid7_time_ms(v4).has_value());
}
