// SPDX-License-Identifier: BSL-1.0
// The table behind UuidCollisionMonitor (stageflow::detail::UuidWindow): its rules, and a check
// against a plain model (a deque of observations and a map of counts) over random operations.
#include <stageflow/uuid/detail/window.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "catch2_shim.hpp"
#include "uuid_test_support.hpp"

using stageflow::detail::UuidKey;
using stageflow::detail::UuidWindow;
using stageflow::testing::hand_built_uuid4;

namespace {

UuidKey key(std::uint64_t index) { return UuidKey::from(hand_built_uuid4(index)); }

/// The rules, written the slow and obvious way.
class ModelWindow {
 public:
  ModelWindow(std::size_t max_entries, std::int64_t ttl) : max_entries_(max_entries), ttl_(ttl) {}

  bool observe(std::uint64_t id, std::int64_t now) {
    now = std::max(now, newest_);
    newest_ = now;
    expire(now);
    const bool collided = counts_[id] > 0;
    entries_.emplace_back(id, now);
    ++counts_[id];
    if (entries_.size() > max_entries_) pop();
    return collided;
  }
  void expire(std::int64_t now) {
    while (!entries_.empty() && now - entries_.front().second >= ttl_) pop();
  }
  std::size_t size() const { return entries_.size(); }
  std::size_t distinct() const {
    std::size_t n = 0;
    for (const auto& [id, count] : counts_) n += count > 0 ? 1 : 0;
    return n;
  }
  std::uint32_t count(std::uint64_t id) const {
    auto it = counts_.find(id);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  void pop() {
    --counts_[entries_.front().first];
    entries_.pop_front();
  }
  std::size_t max_entries_;
  std::int64_t ttl_;
  std::int64_t newest_ = std::numeric_limits<std::int64_t>::min();
  std::deque<std::pair<std::uint64_t, std::int64_t>> entries_;
  std::map<std::uint64_t, std::uint32_t> counts_;
};

}  // namespace

TEST_CASE("UuidWindow counts observations per id: A, A, B, A with two entries collides at the end", "[uuid_window]") {
  UuidWindow window(2, 1'000);
  CHECK_FALSE(window.observe(key(1), 0));
  CHECK(window.observe(key(1), 1));
  CHECK_FALSE(window.observe(key(2), 2));  // evicts the first A; the second A is still there
  CHECK(window.count(key(1)) == 1);
  CHECK(window.observe(key(1), 3));
  CHECK(window.size() == 2);
  CHECK(window.distinct() == 2);
}

TEST_CASE("UuidWindow evicts the oldest observation only after checking the new one", "[uuid_window]") {
  UuidWindow window(1, 1'000);
  CHECK_FALSE(window.observe(key(1), 0));
  CHECK(window.observe(key(1), 1));  // the one entry held A when A came again
  CHECK_FALSE(window.observe(key(2), 2));
  CHECK_FALSE(window.observe(key(1), 3));  // A left when B came
  CHECK(window.size() == 1);
}

TEST_CASE("UuidWindow expires before the check, at exactly the TTL", "[uuid_window]") {
  UuidWindow window(100, 1'000);
  window.observe(key(1), 0);
  CHECK_FALSE(window.observe(key(2), 999));  // A is younger than the TTL: it stays
  CHECK(window.count(key(1)) == 1);
  CHECK_FALSE(window.observe(key(1), 1'000));  // A is exactly TTL old: gone, no stale positive
  CHECK(window.count(key(1)) == 1);            // the new observation only
}

TEST_CASE("UuidWindow keeps an id while a younger observation of it is live", "[uuid_window]") {
  UuidWindow window(100, 1'000);
  window.observe(key(1), 0);
  CHECK(window.observe(key(1), 600));
  CHECK(window.observe(key(1), 1'200));  // the first A expired, the second has not
  window.expire(2'200);
  CHECK(window.count(key(1)) == 0);
  CHECK(window.size() == 0);
  CHECK(window.distinct() == 0);
}

TEST_CASE("UuidWindow treats a tick earlier than the newest as the newest", "[uuid_window]") {
  UuidWindow window(100, 1'000);
  window.observe(key(1), 5'000);
  CHECK(window.observe(key(1), 0));  // clock went back: A is not expired by it, nor ...
  window.expire(5'999);
  CHECK(window.count(key(1)) == 2);
  window.expire(6'000);  // ... kept past its TTL measured from the newest time
  CHECK(window.count(key(1)) == 0);
}

TEST_CASE("UuidWindow memory stays bounded by max_entries whatever the input", "[uuid_window]") {
  for (const std::size_t max_entries : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{4096}}) {
    UuidWindow window(max_entries, std::numeric_limits<std::int64_t>::max());
    for (std::uint64_t i = 0; i < 10 * max_entries + 100; ++i) window.observe(key(i), static_cast<std::int64_t>(i));
    CHECK(window.size() == max_entries);
    CHECK(window.distinct() == max_entries);
    CHECK(window.memory_bytes() <= UuidWindow::memory_bound(max_entries));
  }
}

TEST_CASE("UuidWindow allocates nothing until used and a little at first", "[uuid_window]") {
  UuidWindow window(1'000'000, 1'000);
  CHECK(window.memory_bytes() == 0);
  window.observe(key(1), 0);
  CHECK(window.memory_bytes() > 0);
  CHECK(window.memory_bytes() < 4096);
}

TEST_CASE("UuidWindow rejects a size of zero or above 2^30 and a TTL that is not positive", "[uuid_window]") {
  CHECK_THROWS_AS(UuidWindow(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(UuidWindow(UuidWindow::max_supported_entries + 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(UuidWindow(10, 0), std::invalid_argument);
  CHECK_THROWS_AS(UuidWindow(10, -5), std::invalid_argument);
  CHECK_NOTHROW(UuidWindow(UuidWindow::max_supported_entries, 1));  // lazy: nothing allocated
}

TEST_CASE("UuidWindow moves its contents and leaves a usable empty window", "[uuid_window]") {
  UuidWindow window(10, 1'000);
  window.observe(key(1), 0);
  UuidWindow moved(std::move(window));
  CHECK(moved.count(key(1)) == 1);
  CHECK(window.size() == 0);  // NOLINT(bugprone-use-after-move): documented state
  CHECK(window.memory_bytes() == 0);
  CHECK_FALSE(window.observe(key(1), 1));
  CHECK(window.observe(key(1), 2));
  UuidWindow assigned(3, 5);
  assigned = std::move(moved);
  CHECK(assigned.max_entries() == 10);
  CHECK(assigned.observe(key(1), 3));
}

TEST_CASE("UuidWindow agrees with the model over random operations", "[uuid_window]") {
  struct Shape {
    std::size_t max_entries;
    std::int64_t ttl;
    std::uint64_t id_pool;  // few ids: many duplicates; many ids: long probe runs and growth
  };
  const Shape shapes[] = {{1, 50, 4}, {2, 1'000, 3}, {16, 40, 20}, {100, 200, 150}, {300, 1'000, 5'000},
                          {1'000, 100, 600}, {4'000, 10'000, 1'000'000}};
  std::mt19937_64 random(20240611);
  for (const auto& shape : shapes) {
    UuidWindow window(shape.max_entries, shape.ttl, random());
    ModelWindow model(shape.max_entries, shape.ttl);
    std::int64_t now = 0;
    for (int step = 0; step < 60'000; ++step) {
      const auto roll = random() % 100;
      if (roll < 3) now -= static_cast<std::int64_t>(random() % 50);  // a clock that steps back
      else if (roll < 60) now += static_cast<std::int64_t>(random() % 4);
      if (roll == 99) {
        window.expire(now);
        model.expire(now);
      } else {
        const auto id = random() % shape.id_pool;
        INFO("max_entries " << shape.max_entries << " ttl " << shape.ttl << " step " << step);
        REQUIRE(window.observe(key(id), now) == model.observe(id, now));
      }
      if (step % 997 == 0) {
        REQUIRE(window.size() == model.size());
        REQUIRE(window.distinct() == model.distinct());
        for (std::uint64_t id = 0; id < std::min<std::uint64_t>(shape.id_pool, 64); ++id)
          REQUIRE(window.count(key(id)) == model.count(id));
      }
    }
  }
}
