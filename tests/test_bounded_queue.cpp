// SPDX-License-Identifier: BSL-1.0
// detail::BoundedQueue, AsyncSink's queue on its own: full and empty are reported, not waited on;
// values come out in claim order; under concurrent producers and consumers nothing is lost or
// duplicated and each producer's order is kept (run under ThreadSanitizer by the `threads` suite).
#include <stageflow/sinks/detail/bounded_queue.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"

using stageflow::detail::BoundedQueue;

namespace {
struct Item {
  int producer = -1;
  std::int64_t n = -1;
};
}  // namespace

TEST_CASE("a bounded queue rounds its capacity, reports full and empty, and keeps claim order",
          "[bounded_queue]") {
  BoundedQueue<Item> queue(5);
  REQUIRE(queue.capacity() == 8);
  CHECK_FALSE(queue.has_claimed());
  CHECK_FALSE(queue.try_pop([](Item&) { FAIL("popped from an empty queue"); }));
  for (int i = 0; i < 8; ++i) CHECK(queue.try_push([&](Item& item) { item = {0, i}; }));
  CHECK(queue.has_claimed());
  bool called = false;
  CHECK_FALSE(queue.try_push([&](Item&) { called = true; }));  // full: the fill is not called
  CHECK_FALSE(called);
  for (int i = 0; i < 8; ++i) {
    std::int64_t got = -1;
    CHECK(queue.try_pop([&](Item& item) { got = item.n; }));
    CHECK(got == i);
  }
  CHECK_FALSE(queue.has_claimed());
  // Around the ring again: the cells are reused in order.
  for (int lap = 0; lap < 3; ++lap)
    for (int i = 0; i < 6; ++i) {
      REQUIRE(queue.try_push([&](Item& item) { item = {0, 100 * lap + i}; }));
      std::int64_t got = -1;
      REQUIRE(queue.try_pop([&](Item& item) { got = item.n; }));
      CHECK(got == 100 * lap + i);
    }
}

TEST_CASE("a consumer that throws still frees its cell", "[bounded_queue]") {
  BoundedQueue<Item> queue(2);
  REQUIRE(queue.try_push([](Item& item) { item.n = 1; }));
  REQUIRE(queue.try_push([](Item& item) { item.n = 2; }));
  CHECK_THROWS(queue.try_pop([](Item&) { throw 7; }));
  CHECK(queue.try_push([](Item& item) { item.n = 3; }));  // the thrown-on cell is free again
  std::vector<std::int64_t> rest;
  while (queue.try_pop([&](Item& item) { rest.push_back(item.n); })) {
  }
  CHECK(rest == std::vector<std::int64_t>{2, 3});
}

TEST_CASE("producers and consumers at once: nothing lost or duplicated, each producer's order kept",
          "[bounded_queue][threads]") {
  constexpr int producers = 4;
  constexpr std::int64_t per_producer = 20'000;
  BoundedQueue<Item> queue(64);  // small, so that it is full and empty often
  std::atomic<int> producing{producers};
  // The writer-like consumer keeps what it takes; a thief (as drop_oldest's producers do) takes
  // some away. Each records the last number seen per producer: order must hold within each taker.
  std::vector<std::int64_t> kept(producers, 0), stolen(producers, 0);
  auto take_all = [&](std::vector<std::int64_t>& counts, bool& in_order) {
    std::vector<std::int64_t> last(producers, -1);
    for (;;) {
      const bool done = producing.load() == 0;
      Item got;
      if (queue.try_pop([&](Item& item) { got = item; })) {
        auto p = static_cast<std::size_t>(got.producer);
        if (got.n <= last[p]) in_order = false;
        last[p] = got.n;
        ++counts[p];
      } else if (done && !queue.has_claimed()) {
        return;
      } else {
        std::this_thread::yield();
      }
    }
  };
  bool consumer_order = true, thief_order = true;
  std::thread consumer([&] { take_all(kept, consumer_order); });
  std::thread thief([&] { take_all(stolen, thief_order); });
  std::vector<std::thread> workers;
  for (int p = 0; p < producers; ++p)
    workers.emplace_back([&, p] {
      for (std::int64_t n = 0; n < per_producer; ++n)
        while (!queue.try_push([&](Item& item) { item = {p, n}; })) std::this_thread::yield();
      producing.fetch_sub(1);
    });
  for (auto& w : workers) w.join();
  consumer.join();
  thief.join();
  CHECK(consumer_order);
  CHECK(thief_order);
  for (std::size_t p = 0; p < producers; ++p) CHECK(kept[p] + stolen[p] == per_producer);
  CHECK_FALSE(queue.has_claimed());
}
