// SPDX-License-Identifier: BSL-1.0
// The one event schema: every event the library emits is in <stageflow/sinks/event_schema.hpp>,
// the table of docs/events.md says the same as that list, and runs that trigger every event type produce
// events (typed, and as JSON lines) that match their entry exactly.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/fleet/fleet_events.hpp>
#include <stageflow/hardening/context_size_interceptor.hpp>
#include <stageflow/hardening/immutability_interceptor.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/resilience/circuit_breakers.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/run_options.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/async_sink.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/sinks/event_schema.hpp>
#include <stageflow/resilience/hedge.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/sinks/json_lines_sink.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"
#include "fake_shared_window.hpp"
#include "json_lines.hpp"
#include "manual_clock.hpp"

using namespace stageflow;
using namespace std::chrono_literals;
namespace schema = stageflow::event_schema;
namespace pl = stageflow::pipeline;

// The names the library's code emits are the names the schema lists.
static_assert(schema::is_documented(events::pipeline_started) &&
              schema::is_documented(events::pipeline_completed) &&
              schema::is_documented(events::pipeline_failed) &&
              schema::is_documented(events::pipeline_cancelled) &&
              schema::is_documented(events::pipeline_timed_out) &&
              schema::is_documented(events::stage_started) &&
              schema::is_documented(events::stage_completed) &&
              schema::is_documented(events::stage_skipped) &&
              schema::is_documented(events::stage_cancelled) &&
              schema::is_documented(events::stage_failed) &&
              schema::is_documented(events::stage_timed_out) &&
              schema::is_documented(events::uuid_collision) &&
              schema::is_documented(events::uuid_clock_skew) &&
              schema::is_documented(fleet::uuid_collision_event) &&
              schema::is_documented(fleet::uuid_backend_unavailable_event) &&
              schema::is_documented(events::memory_sample) &&
              schema::is_documented(events::memory_growth_warning) &&
              schema::is_documented(events::context_size_exceeded) &&
              schema::is_documented(events::context_growth_warning) &&
              schema::is_documented(events::immutability_violation) &&
              schema::is_documented(events::immutability_unchecked) &&
              schema::is_documented(events::sink_events_dropped) &&
              schema::is_documented(events::circuit_opened) &&
              schema::is_documented(events::circuit_half_opened) &&
              schema::is_documented(events::circuit_closed));

namespace {

// ---- docs/events.md's table --------------------------------------------------------------------

std::string code(std::string_view name) { return "`" + std::string(name) + "`"; }

/// The docs/events.md row of an entry: | `type` | emitted by | stage | status, duration, reason | fields |
std::string doc_row(const schema::EventSpec& spec) {
  auto presence = [](schema::Presence p) -> std::string {
    return p == schema::Presence::always ? "always" : p == schema::Presence::optional ? "optional" : "-";
  };
  std::string envelope;
  auto add = [](std::string& list, std::string item) { list += (list.empty() ? "" : ", ") + item; };
  if (spec.status == schema::Presence::always) {
    add(envelope, code("status"));
    add(envelope, code("duration_ns"));
  }
  if (spec.reason != schema::Presence::never)
    add(envelope, code("reason") + (spec.reason == schema::Presence::optional ? "?" : ""));
  std::string fields;
  for (const auto& f : spec.fields)
    add(fields, code(f.key) + (f.presence == schema::Presence::optional ? "?" : "") + " " +
                    std::string(schema::to_string(f.kind)));
  const std::string by = spec.emitted_by == "runner" ? "runner" : code(spec.emitted_by);
  return "| " + code(spec.type) + " | " + by + " | " + presence(spec.stage) + " | " +
         (envelope.empty() ? "-" : envelope) + " | " + (fields.empty() ? "-" : fields) + " |";
}

// ---- checking one event against its entry ----------------------------------------------------

bool is_status_word(std::string_view word) {
  for (auto s : {StageStatus::not_run, StageStatus::ok, StageStatus::skip, StageStatus::cancel, StageStatus::fail,
                 StageStatus::timed_out})
    if (to_string(s) == word) return true;
  for (auto s : {RunStatus::completed, RunStatus::failed, RunStatus::cancelled, RunStatus::timed_out})
    if (to_string(s) == word) return true;
  return false;
}

bool kind_matches(schema::Kind kind, const RecordedEvent::Value& value) {
  switch (kind) {
    case schema::Kind::integer: return std::holds_alternative<std::int64_t>(value);
    case schema::Kind::number: return std::holds_alternative<double>(value);
    case schema::Kind::flag: return std::holds_alternative<bool>(value);
    case schema::Kind::text: return std::holds_alternative<std::string>(value);
    case schema::Kind::text_list: return std::holds_alternative<std::vector<std::string>>(value);
  }
  return false;
}
bool kind_matches(schema::Kind kind, const nlohmann::json& value) {
  switch (kind) {
    case schema::Kind::integer: return value.is_number_integer();
    case schema::Kind::number: return value.is_number();  // 2.0 is written 2
    case schema::Kind::flag: return value.is_boolean();
    case schema::Kind::text: return value.is_string();
    case schema::Kind::text_list:
      return value.is_array() && std::all_of(value.begin(), value.end(), [](const auto& v) { return v.is_string(); });
  }
  return false;
}

const schema::FieldSpec* field_spec(const schema::EventSpec& spec, std::string_view key) {
  for (const auto& f : spec.fields)
    if (f.key == key) return &f;
  return nullptr;
}

void check_presence(schema::Presence p, bool present, const std::string& what) {
  INFO(what);
  if (p == schema::Presence::always) CHECK(present);
  if (p == schema::Presence::never) CHECK_FALSE(present);
}

/// The typed event against its entry: envelope members and exactly the documented fields.
void check_event(const RecordedEvent& e) {
  INFO("event " << e.type);
  const schema::EventSpec* spec = schema::find(e.type);
  REQUIRE(spec != nullptr);  // the library emitted an event the schema does not list
  check_presence(spec->stage, !e.stage.empty(), "stage");
  check_presence(spec->status, !e.status.empty(), "status");
  check_presence(spec->status, e.has_duration(), "duration");
  check_presence(spec->reason, !e.reason.empty(), "reason");
  if (!e.status.empty()) {
    CHECK(is_status_word(e.status));
    CHECK(e.type.substr(e.type.find('.') + 1) == e.status);  // stage.failed says "failed", ...
  }
  for (const auto& field : e.fields) {  // not a structured binding: clang 14 cannot capture one
    const std::string& key = field.first;
    INFO("field " << key);
    const schema::FieldSpec* documented = field_spec(*spec, key);
    REQUIRE(documented != nullptr);  // undocumented field
    CHECK(kind_matches(documented->kind, field.second));
    CHECK(std::count_if(e.fields.begin(), e.fields.end(), [&](auto& f) { return f.first == key; }) == 1);
  }
  for (const auto& f : spec->fields)
    if (f.presence == schema::Presence::always) {
      INFO("field " << f.key);
      CHECK(e.field(f.key) != nullptr);
    }
}

/// The JSON line against its entry: only envelope keys at the top, fields nested and typed.
void check_line(const nlohmann::json& line) {
  REQUIRE(line.is_object());
  INFO("line " << line.dump());
  for (const auto& [key, value] : line.items()) {
    CHECK(std::find(schema::envelope_keys.begin(), schema::envelope_keys.end(), key) != schema::envelope_keys.end());
  }
  REQUIRE(line.contains("type"));
  const schema::EventSpec* spec = schema::find(line["type"].get<std::string>());
  REQUIRE(spec != nullptr);
  CHECK(line["timestamp"].is_string());
  CHECK(line["pipeline_run_id"].get<std::string>().size() == 36);
  REQUIRE(line["fields"].is_object());
  check_presence(spec->stage, line.contains("stage"), "stage");
  check_presence(spec->status, line.contains("status"), "status");
  check_presence(spec->status, line.contains("duration_ns"), "duration_ns");
  check_presence(spec->reason, line.contains("reason"), "reason");
  if (line.contains("duration_ns")) CHECK(line["duration_ns"].is_number_integer());
  for (const auto& item : line["fields"].items()) {
    INFO("field " << item.key());
    const schema::FieldSpec* documented = field_spec(*spec, item.key());
    REQUIRE(documented != nullptr);
    CHECK(kind_matches(documented->kind, item.value()));
  }
  for (const auto& f : spec->fields)
    if (f.presence == schema::Presence::always) CHECK(line["fields"].contains(std::string(f.key)));
}

// ---- the runs that trigger every event type ---------------------------------------------------

/// Every event to both a collecting sink and a JSON Lines sink.
struct Recorder {
  CollectingSink events;
  std::shared_ptr<std::ostringstream> out = std::make_shared<std::ostringstream>();
  JsonLinesSink<> lines{*out};
  void emit(const Event& e) const {
    events.emit(e);
    lines.emit(e);
  }
};

/// The input names the stage's outcome: "skip", "cancel", "fail", "mutate" (a violation), else ok.
struct Parse {
  static constexpr std::string_view name = "parse";
  StageOutput<std::string> execute(const auto& ctx) const {
    const std::string& input = ctx.snapshot().input_text;
    const std::pair<std::string_view, StageStatus> verdicts[] = {
        {"skip", StageStatus::skip}, {"cancel", StageStatus::cancel}, {"fail", StageStatus::fail}};
    for (const auto& [word, status] : verdicts)
      if (input == word) return StageVerdict{status, "because the input said " + input};
    if (input == "mutate") const_cast<ContextSnapshot&>(ctx.snapshot()).input_text += "!";
    return std::string(4096, 'x');  // outputs that grow the context
  }
};
struct Answer {
  static constexpr std::string_view name = "answer";
  using depends_on = after<Parse>;
  std::string execute(const auto&) const { return "re"; }
};
using Chat = Pipeline<Parse, Answer>;

/// An output the immutability check cannot walk, opted out of it: immutability.unchecked.
struct Handle {
  int fd = 3;
};
struct Open {
  static constexpr std::string_view name = "open";
  Handle execute(const auto&) const { return {}; }
};
struct Use {
  static constexpr std::string_view name = "use";
  using depends_on = after<Open>;
  int execute(const auto& ctx) const { return input<Open>(ctx)->fd; }
};
}  // namespace
template <>
struct stageflow::pipeline::unchecked_output<Handle> : std::true_type {};
namespace {

struct Slow {
  static constexpr std::string_view name = "slow";
  static constexpr auto timeout = 5ms;
  int execute(const auto&) const {
    std::this_thread::sleep_for(30ms);  // past its timeout, ignoring the stop request
    return 1;
  }
};
/// Fails its first attempt: stage.retrying.
struct Retried {
  static constexpr std::string_view name = "retried";
  static constexpr stageflow::Retry retry{.max_attempts = 2, .initial_backoff = std::chrono::microseconds(10)};
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  stageflow::StageOutput<int> execute(const auto&) const {
    if (++*calls == 1) return stageflow::fail("once");
    return 1;
  }
};
/// Its first copy stalls until stopped: stage.hedged.
struct Hedged {
  static constexpr std::string_view name = "hedged";
  static constexpr stageflow::Hedge hedge{.after = std::chrono::milliseconds(1), .max_extra = 1};
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  boost::asio::awaitable<int> execute(const auto& ctx) const {
    if (++*calls == 1) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::seconds(30));
      stageflow::cancel_on_stop guard(ctx.stop_token(), timer);
      boost::system::error_code ec;
      co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    co_return 1;
  }
};
template <class R>
boost::asio::awaitable<void> run_hedged(const R* runner) {
  const ContextSnapshot snapshot;
  const Pipeline<Hedged> pipeline;
  co_await runner->async_run(pipeline, snapshot);
}
struct Stubborn {
  static constexpr std::string_view name = "stubborn";
  int execute(const auto&) const {
    std::this_thread::sleep_for(200ms);  // past the run's deadline
    return 1;
  }
};

/// A heap that grows 2 MiB per reading: the tracker's absolute threshold (1 MiB) warns.
helpers::MemoryTrackerOptions growing_heap() {
  auto heap = std::make_shared<std::size_t>(0);
  return {.heap_growth_threshold_bytes = std::size_t{1} << 20,
          .sustained_growth_window = 0,
          .reader = [heap] {
            helpers::MemoryReading reading;
            reading.heap_bytes = (*heap += std::size_t{2} << 20);
            return reading;
          }};
}

/// Holds the AsyncSink's writer on its first event so that the queue fills.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
};
struct GatedRecorder {
  Recorder recorder;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  void emit(const Event& e) const {
    std::unique_lock lock(gate->mutex);
    gate->cv.wait(lock, [&] { return gate->open; });
    recorder.emit(e);
  }
};

void run_everything(const Recorder& recorder) {
  {  // the lifecycle, every outcome, and every hardening policy's events
    Runner<Recorder, pl::UuidTelemetry<>, pl::ImmutabilityInterceptor, pl::ContextSizeInterceptor, pl::MemoryTracking>
        runner(recorder, pl::UuidTelemetry<>({.monitor = {.category = "pipeline", .check_skew = true}}),
               pl::ImmutabilityInterceptor({.crash_on_violation = false}),
               pl::ContextSizeInterceptor({.max_size_bytes = 1024, .warn_on_growth_bytes = 1024}),
               pl::MemoryTracking(growing_heap()));
    for (const char* input : {"hi", "skip", "cancel", "fail", "mutate"})
      runner.run(Chat{}, ContextSnapshot{.run = RunIdentity::generate(), .input_text = input});
    ContextSnapshot twice{.run = RunIdentity::generate()};
    runner.run(Chat{}, twice);
    runner.run(Chat{}, twice);  // uuid.collision
    ContextSnapshot stale{.run = RunIdentity::generate()};
    stale.run.pipeline_run_id = helpers::generate_uuid7();
    // An id an hour old: the clock-skew check flags it.
    const auto hour_ago = std::chrono::duration_cast<std::chrono::milliseconds>(
                              (std::chrono::system_clock::now() - 1h).time_since_epoch())
                              .count();
    for (int i = 0; i < 6; ++i)
      stale.run.pipeline_run_id.data[static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>(static_cast<std::uint64_t>(hour_ago) >> (40 - 8 * i));
    runner.run(Chat{}, stale);  // uuid.clock_skew
  }
  {  // the fleet window's reports, outside any run: an id another instance claimed, a backend down
    auto fake = std::make_shared<stageflow::testing::FakeSharedWindow>();
    helpers::UuidCollisionMonitor monitor({.category = "pipeline", .shared_window = helpers::SharedWindow(fake)});
    fleet::forward_fleet_events(monitor, recorder);
    fake->report_collision(helpers::generate_uuid7(), "host/42/abcd1234");  // uuid.collision, scope fleet
    fake->report_unavailable("cannot connect to Redis at 127.0.0.1:1");     // uuid.backend_unavailable
  }
  {  // a breaker that opens, lets a probe through after open_for and closes (an injected clock)
    const stageflow::testing::ManualSteadyClock clock;
    Runner<Recorder, BasicCircuitBreakers<stageflow::testing::ManualSteadyClock>> runner(
        recorder, BasicCircuitBreakers<stageflow::testing::ManualSteadyClock>(
                      {.failure_threshold = 1, .open_for = 1s, .half_open_probes = 1}, clock));
    runner.run(Chat{}, ContextSnapshot{.input_text = "fail"});  // circuit.opened
    clock.advance(2s);
    runner.run(Chat{}, ContextSnapshot{.input_text = "hi"});  // circuit.half_opened, circuit.closed
  }
  {  // an output the immutability check was told not to walk
    Runner<Recorder, pl::ImmutabilityInterceptor> runner(recorder, pl::ImmutabilityInterceptor{});
    runner.run(Pipeline<Open, Use>{}, ContextSnapshot{});
  }
  {  // a stage past its timeout
    Runner<Recorder> runner(recorder);
    runner.run(Pipeline<Slow>{}, ContextSnapshot{});
  }
  {  // a stage retried once
    Runner<Recorder> runner(recorder);
    runner.run(Pipeline<Retried>{}, ContextSnapshot{});
  }
  {  // a hedged stage
    Runner<Recorder> runner(recorder);
    boost::asio::io_context io;
    boost::asio::co_spawn(io, run_hedged(&runner), boost::asio::detached);
    io.run();
  }
  {  // a run abandoned at its deadline
    const Runner<use_executor<ParallelExecutor>, Recorder> runner(ParallelExecutor(2), recorder);
    runner.run(Pipeline<Stubborn>{}, std::make_shared<const ContextSnapshot>(),
               RunOptions{.deadline = std::chrono::steady_clock::now() + 10ms,
                          .on_deadline = DeadlineMode::abandon});
    std::this_thread::sleep_for(250ms);  // let the abandoned stage finish before the sinks go away
  }
  {  // an AsyncSink whose queue overflows: sink.events_dropped
    GatedRecorder gated{recorder};
    AsyncSink<GatedRecorder> async(gated, {.capacity = 4});
    Runner<AsyncSink<GatedRecorder>> runner(async);
    runner.run(Chat{}, ContextSnapshot{});  // 6 events, at most 4 queued plus 1 held
    REQUIRE(async.dropped() >= 1);
    {
      std::lock_guard lock(gated.gate->mutex);
      gated.gate->open = true;
    }
    gated.gate->cv.notify_all();
    async.flush();
  }
}

}  // namespace

TEST_CASE("the event table of docs/events.md is the schema's list", "[event_schema]") {
  std::ifstream doc(STAGEFLOW_EVENTS_DOC_PATH);
  REQUIRE(doc.good());
  std::set<std::string> documented;
  const std::regex row(R"(^\| `[a-z_]+\.[a-z_]+` \|.*)");
  for (std::string line; std::getline(doc, line);)
    if (std::regex_match(line, row)) documented.insert(line);
  std::set<std::string> expected;
  for (const auto& spec : schema::catalog) expected.insert(doc_row(spec));
  for (const auto& line : expected) {
    INFO("missing from docs/events.md (or different): " << line);
    CHECK(documented.count(line) == 1);
  }
  for (const auto& line : documented) {
    INFO("in docs/events.md but not in the schema: " << line);
    CHECK(expected.count(line) == 1);
  }
}

TEST_CASE("every event the library emits matches its documented entry", "[event_schema]") {
  Recorder recorder;
  run_everything(recorder);

  std::set<std::string> seen;
  const auto events = recorder.events.events();
  for (const auto& e : events) {
    check_event(e);
    seen.insert(e.type);
  }
  const auto lines = parse_json_lines(recorder.out->str());
  for (const auto& line : lines) check_line(line);
  REQUIRE(lines.size() == events.size());
  // The trace ids: in every line of a traced run, as the event's typed members say, in lower-case hex.
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceIds& ids = events[i].trace;
    INFO(events[i].type);
    // Every run here has a sink, so every run's events are traced; a sink's own events are not, nor
    // the fleet window's (found outside any run).
    const bool outside_runs = events[i].type == "sink.events_dropped" || events[i].text("scope") == "fleet" ||
                              events[i].type == "uuid.backend_unavailable";
    CHECK(ids.trace_id.is_valid() == !outside_runs);
    if (!ids.trace_id.is_valid()) {
      CHECK_FALSE(lines[i].contains("trace_id"));
      continue;
    }
    CHECK(lines[i]["trace_id"] == to_hex(ids.trace_id));
    CHECK(lines[i]["span_id"] == to_hex(ids.span_id));
    if (ids.parent_span_id.is_valid())
      CHECK(lines[i]["parent_span_id"] == to_hex(ids.parent_span_id));
    else
      CHECK_FALSE(lines[i].contains("parent_span_id"));
  }

  for (const auto& spec : schema::catalog) {
    INFO("no run emitted " << spec.type);
    CHECK(seen.count(std::string(spec.type)) == 1);
  }
}

namespace {
/// A policy event whose fields are named like every envelope key.
struct Loud {
  void on_run_start(auto& run) const {
    const auto& k = schema::envelope_keys;
    run.emit("test.loud", {}, {{k[0], "mine"}, {k[1], "mine"}, {k[2], "mine"}, {k[3], "mine"}, {k[4], "mine"},
                               {k[5], "mine"}, {k[6], "mine"}, {k[7], "mine"}, {k[8], "mine"}, {k[9], "mine"},
                               {k[10], "mine"}});
  }
};
}  // namespace

TEST_CASE("the envelope's keys are reserved: a policy's fields of those names stay nested", "[event_schema]") {
  STATIC_REQUIRE(schema::envelope_keys.size() == 11);
  std::ostringstream out;
  Runner<JsonLinesSink<>, Loud> runner(JsonLinesSink<>{out});
  runner.run(Chat{}, ContextSnapshot{});
  const auto line = parse_json_lines(out.str()).at(1);  // after pipeline.started
  REQUIRE(line["type"] == "test.loud");
  CHECK(line["pipeline_run_id"] != "mine");
  CHECK(line["timestamp"] != "mine");
  CHECK_FALSE(line.contains("stage"));
  CHECK_FALSE(line.contains("status"));
  REQUIRE(line["fields"].size() == schema::envelope_keys.size());
  for (auto key : schema::envelope_keys) CHECK(line["fields"][std::string(key)] == "mine");
}
