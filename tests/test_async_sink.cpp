// SPDX-License-Identifier: BSL-1.0
// AsyncSink: events reach the inner sink in order and intact, emit never blocks (a full queue drops
// and counts, and says so in an event), text is cut by the documented rule, flush and destruction
// drain, no allocation per event. This program installs the allocation counter (one translation
// unit per program may), so every operator new is counted.
#include <stageflow/helpers/allocation_counter.hpp>
#include <stageflow/memory/sources.hpp>

#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/async_sink.hpp>
#include <stageflow/sinks/callback_sink.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/sinks/json_lines_sink.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "catch2_shim.hpp"
#include "json_lines.hpp"

using namespace stageflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

struct Parse {
  static constexpr std::string_view name = "parse";
  StageOutput<std::string> execute(const auto& ctx) const {
    if (ctx.snapshot().input_text == "fail") return fail("cannot parse");
    return ctx.snapshot().input_text;
  }
};
struct Answer {
  static constexpr std::string_view name = "answer";
  using depends_on = after<Parse>;
  std::string execute(const auto&) const { return "re"; }
};
struct Check {
  static constexpr std::string_view name = "check";
  using depends_on = after<Parse>;
  int execute(const auto&) const { return 1; }
};
using Chat = Pipeline<Parse, Answer, Check>;

Event numbered(std::int64_t n, std::span<const EventField> fields = {}) {
  Event event;
  event.type = "test.numbered";
  event.stage = "stage";
  event.duration = std::chrono::nanoseconds(n);
  event.timestamp = std::chrono::system_clock::now();
  event.fields = fields;
  return event;
}

/// An inner sink that holds the writer inside emit until released, to fill the queue on purpose.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool entered = false;
  bool open = false;
};
struct GatedSink {
  std::shared_ptr<Gate> gate;
  collecting_sink_st kept;
  void emit(const Event& event) const {
    {
      std::unique_lock lock(gate->mutex);
      gate->entered = true;
      gate->cv.notify_all();
      gate->cv.wait(lock, [&] { return gate->open; });
    }
    kept.emit(event);
  }
};

}  // namespace

TEST_CASE("an AsyncSink delivers what a synchronous sink gets, in order, after flush", "[async_sink]") {
  collecting_sink_st direct;
  AsyncSink<collecting_sink_st> async(collecting_sink_st{});
  Runner<collecting_sink_st> sync_runner(direct);
  Runner<AsyncSink<collecting_sink_st>> async_runner(async);
  for (const char* input : {"hi", "fail", "again"}) {
    sync_runner.run(Chat{}, ContextSnapshot{.input_text = input});
    async_runner.run(Chat{}, ContextSnapshot{.input_text = input});
  }
  async.flush();
  const auto expected = direct.events();
  const auto got = async.inner().events();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].type == expected[i].type);
    CHECK(got[i].stage == expected[i].stage);
    CHECK(got[i].status == expected[i].status);
    CHECK(got[i].reason == expected[i].reason);
    CHECK(got[i].fields == expected[i].fields);
    CHECK(got[i].has_duration() == expected[i].has_duration());
  }
  CHECK(async.dropped() == 0);
  CHECK(async.inner().count("sink.events_dropped") == 0);
}

namespace {
/// Holds the writer inside the inner sink's emit of the next event, so the queue fills on purpose.
void hold_writer(Gate& gate) {
  std::unique_lock lock(gate.mutex);
  gate.cv.wait(lock, [&] { return gate.entered; });
}
void release_writer(Gate& gate) {
  {
    std::lock_guard lock(gate.mutex);
    gate.open = true;
  }
  gate.cv.notify_all();
}
}  // namespace

TEST_CASE("a full queue drops and counts, never blocks, and reports the drops as an event", "[async_sink]") {
  auto gate = std::make_shared<Gate>();
  GatedSink inner{gate, {}};
  AsyncSink<GatedSink> sink(inner, {.capacity = 8});
  REQUIRE(sink.capacity() == 8);
  sink.emit(numbered(0));
  hold_writer(*gate);  // the writer holds its copy of event 0: the queue's 8 cells are free
  for (int i = 1; i <= 12; ++i) sink.emit(numbered(i));  // 1..8 fit, 9..12 dropped
  CHECK(sink.dropped() == 4);
  release_writer(*gate);
  sink.flush();
  const auto events = inner.kept.events();
  REQUIRE(events.size() == 10);  // 0..8, then the report
  for (int i = 0; i <= 8; ++i) CHECK(events[static_cast<std::size_t>(i)].duration.count() == i);
  CHECK(events[9].type == "sink.events_dropped");
  CHECK(events[9].number("dropped") == 4);
  CHECK(events[9].number("dropped_total") == 4);
  CHECK(events[9].stage.empty());

  // Later drops are reported as their own count, with the running total.
  gate->open = false;
  gate->entered = false;
  sink.emit(numbered(100));
  hold_writer(*gate);
  for (int i = 0; i < 10; ++i) sink.emit(numbered(101 + i));  // 8 fit, 2 dropped
  release_writer(*gate);
  sink.flush();
  const auto later = inner.kept.events();
  REQUIRE(later.size() == 10 + 9 + 1);
  CHECK(later.back().type == "sink.events_dropped");
  CHECK(later.back().number("dropped") == 2);
  CHECK(later.back().number("dropped_total") == 6);
  CHECK(sink.dropped() == 6);
}

TEST_CASE("drop_oldest keeps the newest events and counts the ones it pushed out", "[async_sink]") {
  auto gate = std::make_shared<Gate>();
  GatedSink inner{gate, {}};
  AsyncSink<GatedSink> sink(inner, {.capacity = 8, .overflow = AsyncOverflow::drop_oldest()});
  sink.emit(numbered(0));
  hold_writer(*gate);
  for (int i = 1; i <= 12; ++i) sink.emit(numbered(i));  // 1..4 pushed out by 9..12
  CHECK(sink.dropped() == 4);
  release_writer(*gate);
  sink.flush();
  const auto events = inner.kept.events();
  REQUIRE(events.size() == 10);  // 0, then 5..12, then the report
  CHECK(events[0].duration.count() == 0);
  for (int i = 5; i <= 12; ++i) CHECK(events[static_cast<std::size_t>(i - 4)].duration.count() == i);
  CHECK(events[9].type == "sink.events_dropped");
  CHECK(events[9].number("dropped") == 4);
}

TEST_CASE("block_for waits for room, and drops only once its time is up", "[async_sink][threads]") {
  auto gate = std::make_shared<Gate>();
  GatedSink inner{gate, {}};
  SECTION("the writer stays stuck: emit gives up after its wait, and counts the drop") {
    AsyncSink<GatedSink> sink(inner, {.capacity = 4, .overflow = AsyncOverflow::block_for(20ms)});
    sink.emit(numbered(0));
    hold_writer(*gate);
    for (int i = 1; i <= 4; ++i) sink.emit(numbered(i));  // the queue is full now
    const auto t0 = std::chrono::steady_clock::now();
    sink.emit(numbered(5));
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(waited >= 20ms);
    CHECK(waited < 5s);  // liveness, not timing
    CHECK(sink.dropped() == 1);
    release_writer(*gate);
    sink.flush();
    const auto events = inner.kept.events();
    REQUIRE(events.size() == 6);  // 0..4 and the report
    CHECK(events[4].duration.count() == 4);
    CHECK(events[5].type == "sink.events_dropped");
  }
  SECTION("room appears while emit waits: nothing is dropped") {
    AsyncSink<GatedSink> sink(inner, {.capacity = 4, .overflow = AsyncOverflow::block_for(60s)});
    sink.emit(numbered(0));
    hold_writer(*gate);
    for (int i = 1; i <= 4; ++i) sink.emit(numbered(i));
    std::thread opener([&] {
      std::this_thread::sleep_for(5ms);
      release_writer(*gate);
    });
    sink.emit(numbered(5));  // waits until the writer moves on
    opener.join();
    sink.flush();
    CHECK(sink.dropped() == 0);
    const auto events = inner.kept.events();
    REQUIRE(events.size() == 6);
    CHECK(events[5].duration.count() == 5);
  }
}

TEST_CASE("a cut event keeps its short fields whole: the long free text is cut first", "[async_sink]") {
  // uuid.collision with a long id text and a long reason: `category` (last, short) must survive.
  AsyncSink<collecting_sink_st> sink(collecting_sink_st{}, {.capacity = 4, .text_bytes = 96});
  const std::string id(200, 'i');
  const EventField fields[] = {{"id", id}, {"field", "pipeline_run_id"}, {"category", "pipeline"}};
  Event event = numbered(1, fields);
  event.type = "uuid.collision";
  const std::string reason(300, 'r');
  event.reason = reason;
  sink.emit(event);
  sink.flush();
  const auto got = sink.inner().events().at(0);
  CHECK(got.type == "uuid.collision");
  CHECK(got.text("category") == "pipeline");
  CHECK(got.text("field") == "pipeline_run_id");
  CHECK(got.flag("truncated") == true);
  const auto cut_id = got.text("id");
  REQUIRE(cut_id);
  CHECK(cut_id->size() < id.size());
  CHECK(got.reason.size() < reason.size());
  CHECK(got.reason.size() + cut_id->size() + 8 + 15 + 14 + 5 + 5 + 8 <= 96);  // texts and keys fit the slot
  CHECK(cut_id->size() + 1 >= got.reason.size());  // the two long texts share the room
}

TEST_CASE("an idle AsyncSink sleeps: no CPU time and no wake-ups", "[async_sink][threads]") {
  AsyncSink<collecting_sink_st> sink(collecting_sink_st{});
  for (int i = 0; i < 1000; ++i) sink.emit(numbered(i));  // some traffic first
  sink.flush();
  std::this_thread::sleep_for(50ms);  // the writer's linger is over
  auto usage = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u;
  };
  const rusage before = usage();
  std::this_thread::sleep_for(1s);
  const rusage after = usage();
  auto micros = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
  const std::int64_t cpu_us = micros(after.ru_utime) - micros(before.ru_utime) + micros(after.ru_stime) -
                              micros(before.ru_stime);
  const long switches = after.ru_nvcsw - before.ru_nvcsw + after.ru_nivcsw - before.ru_nivcsw;
  INFO("CPU " << cpu_us << " us and " << switches << " context switches in an idle second");
  CHECK(cpu_us < 5'000);  // polling every millisecond cost 29 ms of CPU in that second
  CHECK(switches < 20);   // and 828 context switches (now: 0.25 ms, 1)
  sink.emit(numbered(1000));  // and it still wakes for the next event
  sink.flush();
  CHECK(sink.inner().size() == 1001);
}

TEST_CASE("text past a slot's room is cut at a character boundary and the event marked truncated",
          "[async_sink]") {
  AsyncSink<collecting_sink_st> sink(collecting_sink_st{}, {.capacity = 4, .text_bytes = 26});
  SECTION("a long reason") {
    // type (13) + stage (5) leave 8 bytes: "ab" + two 3-byte characters fit, the third would not.
    Event event = numbered(1);
    event.reason = "ab\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC tail";
    sink.emit(event);
    sink.flush();
    const auto got = sink.inner().events().at(0);
    CHECK(got.type == "test.numbered");
    CHECK(got.reason == "ab\xE2\x82\xAC\xE2\x82\xAC");
    CHECK(got.flag("truncated") == true);
  }
  SECTION("a field whose key does not fit is left out") {
    const EventField fields[] = {{"n", 7}, {"a_key_much_too_long_to_fit", 1}};
    sink.emit(numbered(1, fields));
    sink.flush();
    const auto got = sink.inner().events().at(0);
    REQUIRE(got.fields.size() == 2);
    CHECK(got.number("n") == 7);
    CHECK(got.flag("truncated") == true);
  }
  SECTION("what fits is not marked") {
    const EventField fields[] = {{"n", 7}, {"s", "xy"}};
    sink.emit(numbered(1, fields));
    sink.flush();
    const auto got = sink.inner().events().at(0);
    CHECK(got.fields.size() == 2);
    CHECK(got.text("s") == "xy");
    CHECK_FALSE(got.field("truncated"));
  }
}

TEST_CASE("fields past max_fields are left out and the event marked truncated", "[async_sink]") {
  AsyncSink<collecting_sink_st> sink(collecting_sink_st{}, {.capacity = 4});
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back("k" + std::to_string(i));
  std::vector<EventField> fields;
  for (int i = 0; i < 20; ++i) fields.emplace_back(keys[static_cast<std::size_t>(i)], i);
  sink.emit(numbered(1, fields));
  sink.flush();
  const auto got = sink.inner().events().at(0);
  REQUIRE(got.fields.size() == AsyncSink<collecting_sink_st>::max_fields + 1);
  CHECK(got.number("k15") == 15);
  CHECK_FALSE(got.field("k16"));
  CHECK(got.fields.back().first == "truncated");
}

TEST_CASE("text lists are copied whole, and items past max_list_items are left out", "[async_sink]") {
  AsyncSink<collecting_sink_st> sink(collecting_sink_st{}, {.capacity = 4});
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < 40; ++i) paths.push_back("context.messages[" + std::to_string(i) + "]");
  const std::vector<std::string_view> first(paths.begin(), paths.begin() + 3);
  const std::vector<std::string_view> all(paths.begin(), paths.end());
  const std::vector<std::string_view> kinds{"modified", "added", "removed"};
  {
    const EventField fields[] = {{"paths", std::span<const std::string_view>(first)},
                                 {"changes", std::span<const std::string_view>(kinds)}};
    sink.emit(numbered(1, fields));
  }
  {
    const EventField fields[] = {{"paths", std::span<const std::string_view>(all)}};
    sink.emit(numbered(2, fields));
  }
  paths.assign(paths.size(), "overwritten");  // the queued copies must not point at the caller's text
  sink.flush();
  const auto events = sink.inner().events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].texts("paths") == Strings{"context.messages[0]", "context.messages[1]", "context.messages[2]"});
  CHECK(events[0].texts("changes") == Strings{"modified", "added", "removed"});
  CHECK_FALSE(events[0].field("truncated"));
  const auto cut = events[1].texts("paths");
  REQUIRE(cut);
  CHECK(cut->size() < 40);
  CHECK(cut->size() <= AsyncSink<collecting_sink_st>::max_list_items);
  CHECK(cut->back().rfind("context.messages[", 0) == 0);
  CHECK(events[1].flag("truncated") == true);
}

TEST_CASE("destroying the last copy drains the queue", "[async_sink]") {
  collecting_sink_st kept;
  {
    AsyncSink<collecting_sink_st> sink(kept, {.capacity = 2048});
    const AsyncSink<collecting_sink_st> copy = sink;
    for (int i = 0; i < 1000; ++i) copy.emit(numbered(i));
  }
  REQUIRE(kept.size() == 1000);
  CHECK(kept.events().back().duration.count() == 999);
}

TEST_CASE("the writer delivers on its own, without flush", "[async_sink]") {
  std::atomic<int> seen{0};
  auto count = [&seen](const Event&) { seen.fetch_add(1, std::memory_order_relaxed); };
  AsyncSink<CallbackSink<decltype(count), NullMutex>> sink{CallbackSink<decltype(count), NullMutex>(count)};
  sink.emit(numbered(1));
  std::this_thread::sleep_for(20ms);  // the writer is asleep by now: the next emit must wake it
  sink.emit(numbered(2));
  // A liveness check, not a timing one.
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (seen.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  CHECK(seen.load() == 2);
}

TEST_CASE("emit allocates nothing, whatever the event holds", "[async_sink]") {
  REQUIRE(helpers::allocation_counter_installed());
  std::atomic<int> seen{0};  // the events emitted below, not the writer's reports of drops
  auto count = [&seen](const Event& e) {
    if (e.type != events::sink_events_dropped) seen.fetch_add(1, std::memory_order_relaxed);
  };
  AsyncSink<CallbackSink<decltype(count), NullMutex>> sink(CallbackSink<decltype(count), NullMutex>(count),
                                                           {.capacity = 1024});
  const std::string long_text(2000, 'x');  // longer than a slot: cut, not allocated
  const EventField fields[] = {{"size_bytes", 2048}, {"note", long_text}, {"ratio", 0.5}, {"ok", true}};
  sink.emit(numbered(0, fields));  // the writer thread's first wake-up, outside the count
  sink.flush();
  const auto before = helpers::allocation_counts();
  for (int i = 1; i <= 5000; ++i) sink.emit(numbered(i, fields));
  const auto after = helpers::allocation_counts();
  sink.flush();
  CHECK(after->allocations == before->allocations);
  CHECK(seen.load() + static_cast<int>(sink.dropped()) == 5001);
}

TEST_CASE("many threads emit at once: nothing lost, each thread's order kept",
          "[async_sink][concurrency][threads]") {
  constexpr int threads = 4, per_thread = 2000;
  AsyncSink<collecting_sink_st> sink(collecting_sink_st{}, {.capacity = 16384});
  std::vector<std::string> names;
  for (int t = 0; t < threads; ++t) names.push_back("t" + std::to_string(t));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        Event event = numbered(i);
        event.stage = names[static_cast<std::size_t>(t)];
        sink.emit(event);
      }
    });
  for (auto& w : workers) w.join();
  sink.flush();
  REQUIRE(sink.dropped() == 0);
  const auto events = sink.inner().events();
  REQUIRE(events.size() == threads * per_thread);
  std::vector<std::int64_t> next(threads, 0);
  for (const auto& e : events) {
    const auto t = static_cast<std::size_t>(e.stage[1] - '0');
    CHECK(e.duration.count() == next[t]);
    next[t] = e.duration.count() + 1;
  }
}

TEST_CASE("concurrent stages through an AsyncSink write valid JSON lines", "[async_sink][concurrency][threads]") {
  std::ostringstream out;
  AsyncSink<json_lines_sink_st> sink(json_lines_sink_st{out});
  const Runner<use_executor<ParallelExecutor>, AsyncSink<json_lines_sink_st>> runner(ParallelExecutor(2), sink);
  for (int i = 0; i < 50; ++i) runner.run(Chat{}, ContextSnapshot{.input_text = "hi"});
  sink.flush();  // the stream is read only after flush: the writer alone writes to it until then
  std::vector<nlohmann::json> parsed;
  REQUIRE_NOTHROW(parsed = parse_json_lines(out.str()));
  CHECK(parsed.size() == 50 * 8);
  CHECK(sink.dropped() == 0);
}
