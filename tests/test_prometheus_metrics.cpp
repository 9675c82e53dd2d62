// SPDX-License-Identifier: BSL-1.0
// PrometheusMetrics, as an operator sees it: runs go through a runner with the policy, prometheus-cpp's
// Exposer serves the registry on a loopback port, the test scrapes /metrics over HTTP and reads the
// values back from the text format.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/observability/prometheus_metrics.hpp>
#include <stageflow/hardening/context_size_interceptor.hpp>
#include <stageflow/hardening/immutability_interceptor.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/resilience/circuit_breakers.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/async_sink.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/sinks/tee_sink.hpp>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"
#include "fan_out_pipeline.hpp"

using namespace stageflow;

namespace {

using test::FanOut;


struct Other {
  static constexpr std::string_view name = "other";
  int execute(const auto&) const { return 1; }
};
using Single = Pipeline<Other>;

/// A stage that overruns its timeout (it does not check ctx.stop_requested()).
struct Slow {
  static constexpr std::string_view name = "slow";
  static constexpr auto timeout = std::chrono::milliseconds(1);
  int execute(const auto&) const {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return 0;
  }
};

/// A policy that refuses to let `check` start.
struct RefuseCheck {
  template <class Run, class Stage>
  void before_stage(Run&, Stage& stage) const {
    if constexpr (Stage::name == "check") stage.fail("check refused");
  }
};

ContextSnapshot request(std::string text) {
  ContextSnapshot snapshot;
  snapshot.run = RunIdentity::generate();
  snapshot.input_text = std::move(text);
  return snapshot;
}

/// GET http://127.0.0.1:port/metrics, the body.
std::string scrape(int port) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  http::request<http::empty_body> get{http::verb::get, "/metrics", 11};
  get.set(http::field::host, "127.0.0.1");
  http::write(socket, get);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  REQUIRE(response.result() == http::status::ok);
  return response.body();
}

/// The value of one series of the text exposition format, found by name and exact label set;
/// -1 when the scrape has no such series.
double value(const std::string& scraped, const std::string& name, const std::map<std::string, std::string>& labels) {
  std::istringstream lines(scraped);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto brace = line.find('{');
    const auto space = line.rfind(' ');
    const std::string series = line.substr(0, brace == std::string::npos ? space : brace);
    if (series != name) continue;
    std::map<std::string, std::string> found;
    if (brace != std::string::npos) {
      const auto close = line.find('}', brace);
      std::string inside = line.substr(brace + 1, close - brace - 1);
      std::size_t at = 0;
      while (at < inside.size()) {
        const auto eq = inside.find('=', at);
        const auto end_quote = inside.find('"', eq + 2);
        found[inside.substr(at, eq - at)] = inside.substr(eq + 2, end_quote - eq - 2);
        at = end_quote + 2;  // past '",'
      }
    }
    if (found == labels) return std::stod(line.substr(space + 1));
  }
  return -1;
}

struct Served {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Exposer exposer{"127.0.0.1:0"};
  int port = 0;
  Served() {
    exposer.RegisterCollectable(registry);
    const auto ports = exposer.GetListeningPorts();
    REQUIRE(ports.size() == 1);
    port = ports.front();
  }
};

}  // namespace

// The names the policy counts are the names the hardening policies emit.
static_assert(detail::counted_hardening_events[0] == events::uuid_collision);
static_assert(detail::counted_hardening_events[1] == events::immutability_violation);
static_assert(detail::counted_hardening_events[2] == events::context_size_exceeded);
static_assert(detail::counted_hardening_events[3] == events::context_growth_warning);
static_assert(detail::counted_hardening_events[4] == events::memory_growth_warning);
static_assert(detail::counted_resilience_events[0] == events::circuit_opened);
static_assert(detail::counted_resilience_events[1] == events::circuit_half_opened);
static_assert(detail::counted_resilience_events[2] == events::circuit_closed);
static_assert(detail::counted_resilience_events[3] == events::stage_retrying);
static_assert(detail::counted_resilience_events[4] == events::stage_hedged);
// The run and stage metrics cost no event: PrometheusMetrics is not a sink; its counter is.
static_assert(!EventSink<PrometheusMetrics>);
static_assert(EventSink<PrometheusEventCounter>);

TEST_CASE("PrometheusMetrics: runs and stages by status, durations, scraped over HTTP") {
  Served served;
  Runner<PrometheusMetrics> runner(PrometheusMetrics(served.registry, {.pipeline = "chat"}));
  for (const char* text : {"hello", "hi", "skip", "fail", "throw", "cancel"}) {
    auto snapshot = request(text);
    (void)runner.run(FanOut{}, snapshot);
  }
  const std::string text = scrape(served.port);
  INFO(text);

  const auto runs = [&](const char* status) {
    return value(text, "stageflow_runs_total", {{"pipeline", "chat"}, {"status", status}});
  };
  CHECK(runs("completed") == 3);  // hello, hi, skip (a skip does not fail the run)
  CHECK(runs("failed") == 2);
  CHECK(runs("cancelled") == 1);
  CHECK(runs("timed_out") == 0);

  const auto stages = [&](const char* stage, const char* status) {
    return value(text, "stageflow_stages_total", {{"pipeline", "chat"}, {"stage", stage}, {"status", status}});
  };
  CHECK(stages("load", "completed") == 6);
  CHECK(stages("check", "completed") == 2);
  CHECK(stages("check", "skipped") == 1);
  CHECK(stages("check", "failed") == 2);
  CHECK(stages("check", "cancelled") == 1);
  CHECK(stages("check", "timed_out") == 0);
  CHECK(stages("enrich", "completed") == 3);  // after the two oks and the skip; not after a failure or cancel
  CHECK(stages("enrich", "failed") == 0);

  // Histograms: one observation per run and per stage that ran; the +Inf bucket holds them all.
  CHECK(value(text, "stageflow_run_duration_seconds_count", {{"pipeline", "chat"}}) == 6);
  CHECK(value(text, "stageflow_run_duration_seconds_bucket", {{"pipeline", "chat"}, {"le", "+Inf"}}) == 6);
  CHECK(value(text, "stageflow_run_duration_seconds_sum", {{"pipeline", "chat"}}) > 0);  // RunContext::duration()
  CHECK(value(text, "stageflow_run_duration_seconds_sum", {{"pipeline", "chat"}}) < 1);
  CHECK(value(text, "stageflow_stage_duration_seconds_count", {{"pipeline", "chat"}, {"stage", "check"}}) == 6);
  CHECK(value(text, "stageflow_stage_duration_seconds_count", {{"pipeline", "chat"}, {"stage", "enrich"}}) == 3);
  CHECK(value(text, "stageflow_stage_duration_seconds_sum", {{"pipeline", "chat"}, {"stage", "enrich"}}) > 0);
  CHECK(value(text, "stageflow_stage_duration_seconds_sum", {{"pipeline", "chat"}, {"stage", "enrich"}}) < 1);
  // Trivial stages land in the first bucket (10 µs) or close to it; the bucket counts are cumulative.
  CHECK(value(text, "stageflow_stage_duration_seconds_bucket",
              {{"pipeline", "chat"}, {"stage", "enrich"}, {"le", "10"}}) == 3);

  // The hardening counters exist from the start, at zero.
  CHECK(value(text, "stageflow_hardening_events_total",
              {{"pipeline", "chat"}, {"stage", ""}, {"event", "uuid.collision"}}) == 0);
}

TEST_CASE("PrometheusMetrics: timeouts, and stages another policy failed before they ran") {
  Served served;
  Runner<PrometheusMetrics, RefuseCheck> runner(PrometheusMetrics(served.registry));
  auto snapshot = request("hello");
  CHECK(runner.run(Pipeline<Slow>{}, snapshot).status == RunStatus::timed_out);
  CHECK(runner.run(FanOut{}, snapshot).status == RunStatus::failed);
  const std::string text = scrape(served.port);
  INFO(text);
  CHECK(value(text, "stageflow_runs_total", {{"pipeline", "default"}, {"status", "timed_out"}}) == 1);
  CHECK(value(text, "stageflow_stages_total", {{"pipeline", "default"}, {"stage", "slow"}, {"status", "timed_out"}}) ==
        1);
  CHECK(value(text, "stageflow_stage_duration_seconds_sum", {{"pipeline", "default"}, {"stage", "slow"}}) >= 0.02);
  // Declared first, PrometheusMetrics still sees the stage RefuseCheck failed.
  CHECK(value(text, "stageflow_stages_total", {{"pipeline", "default"}, {"stage", "check"}, {"status", "failed"}}) ==
        1);
  CHECK(value(text, "stageflow_runs_total", {{"pipeline", "default"}, {"status", "failed"}}) == 1);
}

TEST_CASE("PrometheusMetrics: configurable buckets and prefix; two pipelines on one registry") {
  Served served;
  PrometheusMetrics chat(served.registry, {.pipeline = "chat", .stage_duration_buckets = {0.5, 1.0}, .prefix = "svc"});
  PrometheusMetrics other(served.registry, {.pipeline = "other", .prefix = "svc"});
  Runner<PrometheusMetrics> chat_runner(chat);
  Runner<PrometheusMetrics> other_runner(other);
  auto snapshot = request("hello");
  (void)chat_runner.run(FanOut{}, snapshot);
  (void)chat_runner.run(Single{}, snapshot);  // a second pipeline type through the same policy
  (void)other_runner.run(Single{}, snapshot);
  const std::string text = scrape(served.port);
  INFO(text);
  CHECK(value(text, "svc_stage_duration_seconds_bucket", {{"pipeline", "chat"}, {"stage", "check"}, {"le", "0.5"}}) ==
        1);
  CHECK(value(text, "svc_stage_duration_seconds_bucket", {{"pipeline", "chat"}, {"stage", "check"}, {"le", "1"}}) ==
        1);
  // Only the configured bounds (and +Inf): no default 10 µs bucket for this pipeline.
  CHECK(value(text, "svc_stage_duration_seconds_bucket", {{"pipeline", "chat"}, {"stage", "check"}, {"le", "1e-05"}}) ==
        -1);
  CHECK(value(text, "svc_runs_total", {{"pipeline", "chat"}, {"status", "completed"}}) == 2);
  CHECK(value(text, "svc_runs_total", {{"pipeline", "other"}, {"status", "completed"}}) == 1);
  CHECK(value(text, "svc_stages_total", {{"pipeline", "chat"}, {"stage", "other"}, {"status", "completed"}}) == 1);
  CHECK(value(text, "svc_stages_total", {{"pipeline", "chat"}, {"stage", "load"}, {"status", "completed"}}) == 1);
  CHECK(value(text, "svc_stages_total", {{"pipeline", "other"}, {"stage", "other"}, {"status", "completed"}}) == 1);
  CHECK(value(text, "stageflow_runs_total", {{"pipeline", "chat"}, {"status", "completed"}}) == -1);
}

TEST_CASE("PrometheusMetrics: hardening events are counted by pipeline, stage and event") {
  Served served;
  using Hardened =
      Runner<PrometheusMetrics, PrometheusEventCounter, pipeline::UuidTelemetry<>, pipeline::ContextSizeInterceptor>;
  PrometheusMetrics metrics(served.registry, {.pipeline = "chat"});
  Hardened runner(metrics, metrics.event_counter(),
                  pipeline::ContextSizeInterceptor({.max_size_bytes = 64, .warn_on_growth_bytes = 0}));
  auto retry = request("a request long enough to go over a limit of sixty-four bytes, once serialized");
  (void)runner.run(FanOut{}, retry);
  (void)runner.run(FanOut{}, retry);  // the same ids again: collisions
  const std::string text = scrape(served.port);
  INFO(text);
  // The retried run id and its two correlation ids (request_id, interaction_id) collide.
  CHECK(value(text, "stageflow_hardening_events_total",
              {{"pipeline", "chat"}, {"stage", ""}, {"event", "uuid.collision"}}) == 3);
  // Every stage's output grows the context (by more than the 0 bytes allowed), in both runs.
  for (const char* stage : {"load", "check", "enrich"}) {
    INFO(stage);
    CHECK(value(text, "stageflow_hardening_events_total",
                {{"pipeline", "chat"}, {"stage", stage}, {"event", "context.growth_warning"}}) == 2);
  }
  // The snapshot alone (ids, text) is over 64 bytes: reported at run start, naming no stage.
  CHECK(value(text, "stageflow_hardening_events_total",
              {{"pipeline", "chat"}, {"stage", ""}, {"event", "context.size_exceeded"}}) == 2);
}

namespace {
/// A clock the test moves: the breaker's open_for passes without sleeping.
struct StepClock {
  using time_point = std::chrono::steady_clock::time_point;
  std::shared_ptr<std::chrono::nanoseconds> at = std::make_shared<std::chrono::nanoseconds>(0);
  time_point now() const { return time_point(*at); }
};
/// Fails while the input says "fail".
struct Flaky {
  static constexpr std::string_view name = "flaky";
  StageOutput<int> execute(const auto& ctx) const {
    if (ctx.snapshot().input_text == "fail") return stageflow::fail("down");
    return 1;
  }
};
}  // namespace

TEST_CASE("PrometheusEventCounter: circuit breaker and retry events are counted by stage and event") {
  Served served;
  PrometheusMetrics metrics(served.registry, {.pipeline = "chat"});
  const StepClock clock;
  using Breakers = BasicCircuitBreakers<StepClock>;
  Runner<PrometheusMetrics, PrometheusEventCounter, Breakers> runner(
      metrics, metrics.event_counter(), Breakers({.failure_threshold = 2, .open_for = std::chrono::seconds(1)}, clock));
  for (const char* text : {"fail", "fail", "ok", "ok"}) (void)runner.run(Pipeline<Flaky>{}, request(text));
  *clock.at += std::chrono::seconds(1);
  (void)runner.run(Pipeline<Flaky>{}, request("fail"));  // a failed probe: opened again
  *clock.at += std::chrono::seconds(1);
  (void)runner.run(Pipeline<Flaky>{}, request("ok"));  // a good probe: closed
  // stage.retrying comes from a stage's Retry (<stageflow/resilience/retry.hpp>); an event stands in.
  Event retrying;
  retrying.type = "stage.retrying";
  retrying.stage = "flaky";
  metrics.event_counter().emit(retrying);
  const std::string text = scrape(served.port);
  INFO(text);
  auto count = [&](const char* event) {
    return value(text, "stageflow_resilience_events_total", {{"pipeline", "chat"}, {"stage", "flaky"}, {"event", event}});
  };
  CHECK(count("circuit.opened") == 2);
  CHECK(count("circuit.half_opened") == 2);
  CHECK(count("circuit.closed") == 1);
  CHECK(count("stage.retrying") == 1);
  CHECK(count("stage.hedged") == -1);  // none emitted: no series
  // The two rejected runs failed the stage without running it: counted as failed stages.
  CHECK(value(text, "stageflow_stages_total", {{"pipeline", "chat"}, {"stage", "flaky"}, {"status", "failed"}}) == 5);
  // Resilience events are not hardening events.
  CHECK(value(text, "stageflow_hardening_events_total",
              {{"pipeline", "chat"}, {"stage", "flaky"}, {"event", "circuit.opened"}}) == -1);
}

TEST_CASE("PrometheusMetrics: counts add up under ParallelExecutor and concurrent runs", "[threads]") {
  Served served;
  Runner<use_executor<ParallelExecutor>, PrometheusMetrics> runner(ParallelExecutor(2),
                                                                   PrometheusMetrics(served.registry));
  constexpr int threads = 4, runs_each = 50;
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < runs_each; ++i) {
        auto snapshot = request((i + t) % 5 == 0 ? "fail" : "hello");
        (void)runner.run(FanOut{}, snapshot);
      }
    });
  for (auto& caller : callers) caller.join();
  const std::string text = scrape(served.port);
  const double failed = value(text, "stageflow_runs_total", {{"pipeline", "default"}, {"status", "failed"}});
  const double completed = value(text, "stageflow_runs_total", {{"pipeline", "default"}, {"status", "completed"}});
  CHECK(failed == threads * runs_each / 5);
  CHECK(failed + completed == threads * runs_each);
  // enrich runs beside check, so in a failed run it may have finished first, or never started.
  const double enriched =
      value(text, "stageflow_stages_total", {{"pipeline", "default"}, {"stage", "enrich"}, {"status", "completed"}});
  CHECK(enriched >= completed);
  CHECK(enriched <= threads * runs_each);
  CHECK(value(text, "stageflow_stages_total", {{"pipeline", "default"}, {"stage", "check"}, {"status", "failed"}}) ==
        failed);
  CHECK(value(text, "stageflow_stage_duration_seconds_count", {{"pipeline", "default"}, {"stage", "check"}}) ==
        threads * runs_each);
}

namespace {
/// Holds AsyncSink's writer in its first event until opened, so that the queue fills.
struct HeldSink {
  struct Gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool entered = false, open = false;
  };
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  void emit(const Event&) const {
    std::unique_lock lock(gate->mutex);
    gate->entered = true;
    gate->cv.notify_all();
    gate->cv.wait(lock, [&] { return gate->open; });
  }
};
}  // namespace

TEST_CASE("PrometheusEventCounter: an AsyncSink's dropped events are a counter", "[threads]") {
  STATIC_REQUIRE(detail::sink_events_dropped_event == events::sink_events_dropped);
  Served served;
  PrometheusMetrics metrics(served.registry, {.pipeline = "chat"});
  CHECK(value(scrape(served.port), "stageflow_sink_events_dropped_total", {{"pipeline", "chat"}}) == 0);
  using Tee = TeeSink<HeldSink, collecting_sink_st, PrometheusEventCounter>;
  HeldSink held;
  collecting_sink_st kept;
  std::uint64_t dropped = 0;
  {
    AsyncSink<Tee> sink(Tee(held, kept, metrics.event_counter()), {.capacity = 4});
    Event event;
    event.type = "test.event";
    sink.emit(event);
    {
      std::unique_lock lock(held.gate->mutex);
      held.gate->cv.wait(lock, [&] { return held.gate->entered; });
    }
    for (int i = 0; i < 10; ++i) sink.emit(event);  // 4 fit, 6 dropped
    {
      std::lock_guard lock(held.gate->mutex);
      held.gate->open = true;
    }
    held.gate->cv.notify_all();
    sink.flush();
    dropped = sink.dropped();
  }
  CHECK(dropped == 6);
  CHECK(kept.count("sink.events_dropped") == 1);
  CHECK(value(scrape(served.port), "stageflow_sink_events_dropped_total", {{"pipeline", "chat"}}) == 6);
}
