// SPDX-License-Identifier: BSL-1.0
// The main demo: a chat request going through normalize -> (enrich | route) -> reply -> guard,
// run many times by a production runner (on ParallelExecutor, so enrich and route run at the same
// time; UUID telemetry; deep checks debug_only, so gone in this release build) and by an audit
// runner with every hardening check on, then a short summary of what each saw, and a deadline at
// work on a request whose profile lookup stalls, and a timeline of a few runs (Chrome trace). The request mix has planted problems: a client retry that reuses its ids, a
// stage with a bug that edits the shared snapshot for "legacy" users, and a 120 KB attachment.
//
//   build/release/examples/hardened_pipeline [--runs N]
//
// With STAGEFLOW_DEMO_OUT set to a folder, it also draws the pipeline there with stageflow::to_dot:
// pipeline.dot (the DAG) and deadline-run.dot (the deadline's run, each stage coloured by its status).
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/stageflow.hpp>
#include <stageflow/visual/dot.hpp>

#include <boost/hana/adapt_struct.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace chat {

using stageflow::after;
using stageflow::StageOutput;

struct Normalized {
  std::string text;
  std::size_t words = 0;
};
struct Profile {
  std::string tier;
  std::string locale;
};
struct Route {
  std::string intent;
  double confidence = 0;
};

}  // namespace chat

// Reflected, so the ImmutabilityInterceptor checks the outputs too (an output it cannot walk is a
// compile error, unless its type is opted out with stageflow::pipeline::unchecked_output).
BOOST_HANA_ADAPT_STRUCT(chat::Normalized, text, words);
BOOST_HANA_ADAPT_STRUCT(chat::Profile, tier, locale);
BOOST_HANA_ADAPT_STRUCT(chat::Route, intent, confidence);

namespace chat {

struct Normalize {
  static constexpr std::string_view name = "normalize";
  StageOutput<Normalized> execute(const auto& ctx) const {
    Normalized out;
    bool space = true;
    for (const char raw : ctx.snapshot().input_text) {
      const auto c = static_cast<unsigned char>(raw);
      if (std::isspace(c)) {
        space = true;
        continue;
      }
      if (space && !out.text.empty()) out.text.push_back(' ');
      if (space) ++out.words;
      space = false;
      out.text.push_back(static_cast<char>(std::tolower(c)));
    }
    if (out.text.empty()) return stageflow::fail("empty request");
    return out;
  }
};

struct Enrich {
  static constexpr std::string_view name = "enrich";
  using depends_on = after<Normalize>;
  Profile execute(const auto& ctx) const {
    const auto& metadata = ctx.snapshot().metadata;
    Profile profile{"free", "en"};
    if (const auto* user = metadata.find("user")) {
      if (const auto* tier = user->find("tier")) profile.tier = tier->as_string();
      if (const auto* locale = user->find("locale")) profile.locale = locale->as_string();
    }
    if (profile.tier == "stalled") {
      // The profile service hangs: wait for it, but give up when the run is asked to stop.
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (!ctx.stop_requested() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (profile.tier == "legacy") {
      // A bug planted for the demo: a migration shim "fixes" the tier in the shared snapshot.
      // Nothing fails; the immutability check is what catches it.
      const_cast<stageflow::JsonValue&>(metadata)["user"]["tier"] = "free";
      profile.tier = "free";
    }
    return profile;
  }
};

struct RouteIntent {
  static constexpr std::string_view name = "route";
  using depends_on = after<Normalize>;
  StageOutput<Route> execute(const auto& ctx) const {
    const std::string& text = stageflow::input<Normalize>(ctx)->text;
    if (text.find("invoice") != std::string::npos || text.find("refund") != std::string::npos)
      return Route{"billing", 0.92};
    if (text.find("error") != std::string::npos || text.find("crash") != std::string::npos)
      return Route{"support", 0.85};
    if (text.find("transcript") != std::string::npos) return Route{"export", 0.99};
    if (text.find("bye") != std::string::npos) return stageflow::cancel("user left");
    return stageflow::skip("no intent");  // the reply stage answers generically
  }
};

/// The reply's text, then any attachments.
using Message = std::vector<std::string>;

struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = after<Enrich, RouteIntent>;
  Message execute(const auto& ctx) const {
    const Profile& profile = *stageflow::input<Enrich>(ctx);
    const Route* route = stageflow::input<RouteIntent>(ctx);
    std::string reply = profile.tier == "pro" ? "Thanks for being a Pro member. " : "Thanks for writing. ";
    if (route == nullptr)
      reply += "How can I help?";
    else if (route->intent == "billing")
      reply += "I have opened a billing case; card on file 4111 1111 1111 1111.";
    else if (route->intent == "export")
      return {reply + "Your transcript is attached.", std::string(120 * 1024, 't')};
    else
      reply += "Support is on it.";
    return {reply};
  }
};

struct Guard {
  static constexpr std::string_view name = "guard";
  using depends_on = after<Reply>;
  StageOutput<std::string> execute(const auto& ctx) const {
    std::string reply = stageflow::input<Reply>(ctx)->front();
    // A card number must never reach the user: in a run of digits (spaces allowed) longer than
    // four digits, mask all but the last four.
    auto is_digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(reply[i])) != 0; };
    for (std::size_t start = 0; start < reply.size(); ++start) {
      if (!is_digit(start)) continue;
      std::size_t end = start, digits = 0;
      for (std::size_t i = start; i < reply.size() && (is_digit(i) || reply[i] == ' '); ++i)
        if (is_digit(i)) end = i + 1, ++digits;
      for (std::size_t i = start, seen = 0; i < end && digits > 4; ++i)
        if (is_digit(i) && ++seen <= digits - 4) reply[i] = '*';
      start = end;
    }
    if (reply.size() > 200) return stageflow::fail("reply too long");
    return reply;
  }
};

using Pipeline = stageflow::Pipeline<Normalize, Enrich, RouteIntent, Reply, Guard>;

}  // namespace chat

/// Counts events by type and keeps the first one's message, as a metrics exporter would.
struct EventCounter {
  struct Counts {
    std::mutex mutex;
    std::map<std::string, std::pair<long, std::string>, std::less<>> by_type;
  };
  std::shared_ptr<Counts> counts = std::make_shared<Counts>();
  void emit(const stageflow::Event& event) const {
    std::lock_guard lock(counts->mutex);
    auto it = counts->by_type.find(event.type);
    if (it == counts->by_type.end())
      it = counts->by_type.emplace(std::string(event.type), std::pair{0L, describe(event)}).first;
    ++it->second.first;
  }
  /// The event's message when it has one, else its stage and fields: "reply: growth_bytes=122885 ...".
  static std::string describe(const stageflow::Event& event) {
    if (const auto* message = event.field("message")) return std::string(std::get<std::string_view>(*message));
    std::string text(event.stage);
    for (const auto& field : event.fields) {
      text += text.empty() ? "" : " ";
      text += std::string(field.key) + "=";
      std::visit(
          [&](const auto& value) {
            using V = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<V, std::string_view>)
              text += value;
            else if constexpr (std::is_same_v<V, std::span<const std::string_view>>)
              for (std::size_t i = 0; i < value.size(); ++i) (text += i == 0 ? "" : ",") += value[i];
            else
              text += std::to_string(value);
          },
          field.value);
    }
    return text;
  }
  long count(std::string_view type) const {
    std::lock_guard lock(counts->mutex);
    auto it = counts->by_type.find(type);
    return it == counts->by_type.end() ? 0 : it->second.first;
  }
};

/// Flags stages slower than a budget with a "stage.slow" event.
struct SlowStageAlarm {
  std::chrono::microseconds budget{500};
  void after_stage(auto& run, auto& stage) const {
    if (stage.duration() > budget)
      run.emit("stage.slow", stage.name, {{"budget_ns", std::chrono::nanoseconds(budget).count()}}, stage.duration());
  }
};

namespace {

struct Request {
  std::string text;
  std::string tier;
  bool retry = false;  // a client retry: the same request and ids as last time
};

const std::vector<Request> requests = {
    {"  Where is my INVOICE for March?  ", "pro"}, {"The app shows an error on login", "free"},
    {"hello there", "free"},                       {"I want a refund", "legacy"},
    {"ok bye", "pro"},                             {"   ", "free"},
    {"please send me the transcript", "pro"},      {"Where is my invoice?", "pro", true},
};

stageflow::ContextSnapshot snapshot_for(const Request& request, const stageflow::RunIdentity& retry_ids) {
  return {.run = request.retry ? retry_ids : stageflow::RunIdentity::generate(),
          .input_text = request.text,
          .metadata = stageflow::JsonValue::object({{"user", stageflow::JsonValue::object({{"tier", request.tier}})}}),
          .topology = "chat",
          .execution_mode = "demo"};
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

struct Tally {
  std::map<stageflow::RunStatus, long> by_status;
  std::vector<double> run_us;
  std::vector<std::vector<double>> stage_us = std::vector<std::vector<double>>(chat::Pipeline::size);
  std::string sample_reply;

  template <class Result>
  void add(const Result& result, const Request& request) {
    ++by_status[result.status];
    run_us.push_back(std::chrono::duration<double, std::micro>(result.duration).count());
    for (std::size_t s = 0; s < result.stages.size(); ++s)
      if (result.stages[s].status != stageflow::StageStatus::not_run)
        stage_us[s].push_back(std::chrono::duration<double, std::micro>(result.stages[s].duration).count());
    if (const auto* reply = result.template output<chat::Guard>(); reply && sample_reply.empty() && request.tier == "pro")
      sample_reply = *reply;
  }
  void print(long runs, double seconds) const {
    auto status = [&](stageflow::RunStatus s) {
      auto it = by_status.find(s);
      return it == by_status.end() ? 0L : it->second;
    };
    std::printf("  %ld runs in %.3f s (%.0f runs/s): completed %ld, failed %ld, cancelled %ld\n", runs, seconds,
                static_cast<double>(runs) / seconds, status(stageflow::RunStatus::completed),
                status(stageflow::RunStatus::failed), status(stageflow::RunStatus::cancelled));
    std::printf("  run latency p50 %.2f us, p99 %.2f us; per stage p50:", percentile(run_us, 0.5),
                percentile(run_us, 0.99));
    for (std::size_t s = 0; s < chat::Pipeline::size; ++s)
      std::printf(" %s %.2f", std::string(chat::Pipeline::names[s]).c_str(), percentile(stage_us[s], 0.5));
    std::printf(" us\n");
  }
};

/// How many of the first `runs` runs carry each planted problem (the request mix is cycled).
struct Planted {
  long retries = 0, mutations = 0, attachments = 0, empty = 0, goodbyes = 0;
  explicit Planted(long runs) {
    for (long i = 0; i < runs; ++i) {
      const auto& request = requests[static_cast<std::size_t>(i) % requests.size()];
      retries += request.retry;
      mutations += request.tier == "legacy";
      attachments += request.text.find("transcript") != std::string::npos;
      empty += request.text.find_first_not_of(' ') == std::string::npos;
      goodbyes += request.text.find("bye") != std::string::npos;
    }
  }
};

std::string first_of(const EventCounter& counter, std::string_view type) {
  std::lock_guard lock(counter.counts->mutex);
  auto it = counter.counts->by_type.find(type);
  std::string first = it == counter.counts->by_type.end() ? "" : it->second.second;
  return first.size() > 80 ? first.substr(0, 77) + "..." : first;
}

/// One line per planted problem: did this runner catch it, with which events, and if not, why not.
void report_planted(const EventCounter& counter, const Planted& planted, bool deep_checks_compiled_in) {
  const long collisions = counter.count("uuid.collision");
  std::printf("  %-11s %s: %ld retried runs reused earlier ids; each reused id (run, request, interaction)\n"
              "  %-11s   was reported as a uuid.collision event: %ld events\n",
              "retry:", collisions > 0 ? "caught" : "missed", planted.retries, "", collisions);
  const long violations = counter.count("immutability.violation");
  const long growth = counter.count("context.growth_warning"), exceeded = counter.count("context.size_exceeded");
  if (!deep_checks_compiled_in) {
    std::printf("  %-11s not seen: the immutability check is compiled out; the %ld edited runs completed\n",
                "mutation:", planted.mutations);
    std::printf("  %-11s not seen: the context size check is compiled out (%ld runs carried it)\n", "attachment:",
                planted.attachments);
    return;
  }
  std::printf("  %-11s %s: immutability.violation x%ld of %ld edited runs, each run failed\n", "mutation:",
              violations >= planted.mutations ? "caught" : "missed", violations, planted.mutations);
  if (violations > 0) std::printf("  %-11s   \"%s\"\n", "", first_of(counter, "immutability.violation").c_str());
  std::printf("  %-11s %s: context.growth_warning x%ld, context.size_exceeded x%ld, %ld runs carried it\n",
              "attachment:", growth >= planted.attachments ? "caught" : "missed", growth, exceeded,
              planted.attachments);
  if (growth > 0) std::printf("  %-11s   %s\n", "", first_of(counter, "context.growth_warning").c_str());
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 20'000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(16L, std::atol(argv[i + 1]));
  const long audit_runs = std::max(16L, runs / 10);
  const auto retry_ids = stageflow::RunIdentity::generate();
  const chat::Pipeline pipeline;
  namespace sp = stageflow::pipeline;

  // 1. The production runner: enrich and route, independent of each other, run at the same time
  //    on a pool of 2 workers (and the calling thread); UUID telemetry on; the deep checks are
  //    debug_only, so a release build (this demo's) compiles them out entirely.
  EventCounter production_events;
  stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, EventCounter, SlowStageAlarm,
                    sp::UuidTelemetry<>, stageflow::debug_only<sp::ImmutabilityInterceptor>,
                    stageflow::debug_only<sp::ContextSizeInterceptor>>
      production(stageflow::ParallelExecutor(2), production_events);
  Tally production_tally;
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < runs; ++i) {
    const auto& request = requests[static_cast<std::size_t>(i) % requests.size()];
    production_tally.add(production.run(pipeline, snapshot_for(request, retry_ids)), request);
  }
  const double production_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // 2. The audit runner, as a debug or CI build runs it: every check on.
  EventCounter audit_events;
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(
      stageflow::helpers::MemoryTrackerOptions{.heap_source = stageflow::helpers::HeapSource::automatic, .read_rss = false});
  stageflow::Runner<EventCounter, sp::UuidTelemetry<>, sp::ImmutabilityInterceptor, sp::ContextSizeInterceptor,
                    sp::MemoryTracking>
      audit(audit_events, sp::ContextSizeInterceptor({.max_size_bytes = 64 * 1024, .warn_on_growth_bytes = 32 * 1024}),
            sp::MemoryTracking(tracker));
  Tally audit_tally;
  std::vector<double> reply_heap;
  start = std::chrono::steady_clock::now();
  for (long i = 0; i < audit_runs; ++i) {
    const auto& request = requests[static_cast<std::size_t>(i) % requests.size()];
    const auto result = audit.run(pipeline, snapshot_for(request, retry_ids));
    audit_tally.add(result, request);
    if (auto heap = result.metric("reply", "heap_delta_bytes")) reply_heap.push_back(*heap);
  }
  const double audit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const Planted production_planted(runs), audit_planted(audit_runs);
  std::printf("stageflow demo: a chat pipeline (normalize -> enrich | route -> reply -> guard)\n\n");
  std::printf("The %zu requests, cycled, carry three planted problems:\n", requests.size());
  std::printf("  retry:      a client retry that reuses an earlier run's ids           (1 run in %zu)\n", requests.size());
  std::printf("  mutation:   a bug in 'enrich' that edits the shared snapshot of \"legacy\" users (1 run in %zu)\n",
              requests.size());
  std::printf("  attachment: a 120 KB transcript attached to the reply                 (1 run in %zu)\n", requests.size());
  std::printf("and two that end early by design: an empty request fails, a \"bye\" cancels.\n");
  std::printf("Below, \"caught\" means a check reported a planted problem, as it should: these are\n"
              "the checks working, not errors of the demo.\n\n");

  std::printf("production runner: UUID telemetry on; immutability and size checks debug_only, so %s\n",
              stageflow::hardening_enabled ? "compiled IN here (a debug build: hardening on)"
                                           : "compiled OUT of this release build (no code, no cost)");
  production_tally.print(runs, production_s);
  std::printf("  failed: the %ld empty requests%s; cancelled: the %ld goodbyes\n", production_planted.empty,
              stageflow::hardening_enabled ? " and the edited runs" : "", production_planted.goodbyes);
  report_planted(production_events, production_planted, stageflow::hardening_enabled);
  if (const long slow = production_events.count("stage.slow"))
    std::printf("  also:       stage.slow x%ld (a stage over the alarm's budget: %s)\n", slow,
                first_of(production_events, "stage.slow").c_str());

  std::printf("\naudit runner (as a debug or CI build runs it): every check on (uuid, immutability, context size, memory)\n");
  audit_tally.print(audit_runs, audit_s);
  std::printf("  failed: the %ld empty requests and the %ld edited runs; cancelled: the %ld goodbyes\n", audit_planted.empty,
              audit_planted.mutations, audit_planted.goodbyes);
  report_planted(audit_events, audit_planted, true);
  std::printf("  memory:     reply stage heap delta p50 %.0f B, p99 %.0f B (%zu samples kept of %llu taken)\n",
              percentile(reply_heap, 0.5), percentile(reply_heap, 0.99), tracker->samples().size(),
              static_cast<unsigned long long>(tracker->observation_count()));
  std::printf("\nsample reply (the guard stage masks the card number): \"%s\"\n",
              production_tally.sample_reply.c_str());

  // 3. A deadline at work: this request's profile lookup hangs. The production runner is given
  //    20 ms; the stalled stage is asked to stop, nothing after it starts, and the run answers.
  const Request stalled{"where is my invoice?", "stalled"};
  const auto asked = std::chrono::steady_clock::now();
  const auto late = production.run(pipeline, snapshot_for(stalled, stageflow::RunIdentity::generate()),
                                   stageflow::RunOptions{.deadline = asked + std::chrono::milliseconds(20)});
  const double answered_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked).count();
  std::printf("\ndeadline: a request whose profile lookup hangs, with a 20 ms deadline: %s after %.1f ms (%s)\n",
              std::string(stageflow::to_string(late.status)).c_str(), answered_ms, late.error.c_str());
  for (const auto& stage : late.stages)
    std::printf("  %-10s %s\n", std::string(stage.name).c_str(), std::string(stageflow::to_string(stage.status)).c_str());

  // 4. A timeline to look at: a few runs of the production setup (on ParallelExecutor) written as a
  //    Chrome trace, each stage a slice on the thread that ran it. $STAGEFLOW_DEMO_OUT says where.
  const char* out_dir = std::getenv("STAGEFLOW_DEMO_OUT");
  const std::string trace_path =
      (out_dir != nullptr && *out_dir != '\0' ? std::string(out_dir) + "/" : std::string()) + "stageflow-trace.json";
  bool traced_ok = false;
  {
    std::ofstream trace_file(trace_path);
    {
      const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::chrome_trace_sink_mt>
          traced(stageflow::ParallelExecutor(2), stageflow::chrome_trace_sink_mt(trace_file));
      for (std::size_t i = 0; i < 2 * requests.size(); ++i)
        (void)traced.run(pipeline, snapshot_for(requests[i % requests.size()], stageflow::RunIdentity::generate()));
    }  // the sink's last copy closes the trace
    traced_ok = static_cast<bool>(trace_file);
  }
  std::printf("\ntimeline: %zu runs on 2 worker threads written to %s (%s)\n", 2 * requests.size(),
              trace_path.c_str(), traced_ok ? "open it in https://ui.perfetto.dev or chrome://tracing" : "could not write it");

  // Pictures of the pipeline, made by the library (scripts/demo renders them with Graphviz).
  if (out_dir != nullptr && *out_dir != '\0') {
    const std::string dag = std::string(out_dir) + "/pipeline.dot", run = std::string(out_dir) + "/deadline-run.dot";
    std::ofstream(dag) << stageflow::to_dot<chat::Pipeline>({.graph_name = "chat"});
    std::ofstream(run) << stageflow::to_dot(late, {.graph_name = "chat: the deadline's run"});
    std::printf("pictures (Graphviz DOT): %s, %s\n", dag.c_str(), run.c_str());
  }

  // The demo doubles as a test: the request mix has a known outcome.
  const long cycles_audit = audit_runs / static_cast<long>(requests.size());
  const bool ok = audit_events.count("immutability.violation") >= cycles_audit &&
                  audit_events.count("context.growth_warning") >= cycles_audit &&
                  production_events.count("uuid.collision") >= 3 * (runs / static_cast<long>(requests.size()) - 1) &&
                  (production_events.count("immutability.violation") > 0) == stageflow::hardening_enabled &&
                  production_tally.sample_reply.find("4111") == std::string::npos && !production_tally.sample_reply.empty() &&
                  late.status == stageflow::RunStatus::timed_out && answered_ms < 1000 && traced_ok;
  return ok ? 0 : 1;
}
