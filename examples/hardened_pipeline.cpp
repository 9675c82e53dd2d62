// The main demo: a chat request going through normalize -> (enrich | route) -> reply -> guard,
// run many times under a Runner with policies, then a short summary.
//
//   build/release/examples/hardened_pipeline [--runs N]
#include <stageflow/stageflow.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
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
    if (text.find("bye") != std::string::npos) return stageflow::cancel("user left");
    return stageflow::skip("no intent");  // the reply stage answers generically
  }
};

struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = after<Enrich, RouteIntent>;
  std::string execute(const auto& ctx) const {
    const Profile& profile = *stageflow::input<Enrich>(ctx);
    const Route* route = stageflow::input<RouteIntent>(ctx);
    std::string reply = profile.tier == "pro" ? "Thanks for being a Pro member. " : "Thanks for writing. ";
    if (route == nullptr)
      reply += "How can I help?";
    else if (route->intent == "billing")
      reply += "I have opened a billing case; card on file 4111 1111 1111 1111.";
    else
      reply += "Support is on it.";
    return reply;
  }
};

struct Guard {
  static constexpr std::string_view name = "guard";
  using depends_on = after<Reply>;
  StageOutput<std::string> execute(const auto& ctx) const {
    std::string reply = *stageflow::input<Reply>(ctx);
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

/// A small policy of the demo's own: counts events by type, as a metrics exporter would.
struct EventCounter {
  struct Counts {
    std::mutex mutex;
    std::map<std::string, long, std::less<>> by_type;
  };
  std::shared_ptr<Counts> counts = std::make_shared<Counts>();
  void emit(const stageflow::Event& event) const {
    std::lock_guard lock(counts->mutex);
    auto it = counts->by_type.find(event.type);
    if (it == counts->by_type.end()) it = counts->by_type.emplace(std::string(event.type), 0).first;
    ++it->second;
  }
};

/// Flags stages slower than a budget with a "stage.slow" event.
struct SlowStageAlarm {
  std::chrono::microseconds budget{200};
  void after_stage(auto& run, auto& stage) const {
    if (stage.duration() > budget)
      run.emit("stage.slow", stage.name, {{"budget_us", budget.count()}}, stage.duration());
  }
};

int main(int argc, char** argv) {
  long runs = 20'000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1L, std::atol(argv[i + 1]));

  const std::vector<std::pair<std::string, std::string>> requests = {
      {"  Where is my INVOICE for March?  ", "pro"}, {"The app shows an error on login", "free"},
      {"hello there", "free"},                       {"I want a refund", "free"},
      {"ok bye", "pro"},                             {"   ", "free"},
  };

  EventCounter counter;
  stageflow::Runner<EventCounter, SlowStageAlarm> runner(counter);
  const chat::Pipeline pipeline;

  std::map<stageflow::RunStatus, long> by_status;
  std::vector<std::vector<double>> stage_us(chat::Pipeline::size);
  std::vector<double> run_us;
  run_us.reserve(static_cast<std::size_t>(runs));
  std::string sample_reply, last_failure;

  const auto wall_start = std::chrono::steady_clock::now();
  for (long i = 0; i < runs; ++i) {
    const auto& [text, tier] = requests[static_cast<std::size_t>(i) % requests.size()];
    stageflow::ContextSnapshot snapshot{
        .run = stageflow::RunIdentity::generate(),
        .input_text = text,
        .metadata = stageflow::JsonValue::object({{"user", stageflow::JsonValue::object({{"tier", tier}})}}),
        .topology = "chat",
        .execution_mode = "demo"};
    const auto result = runner.run(pipeline, snapshot);
    ++by_status[result.status];
    run_us.push_back(std::chrono::duration<double, std::micro>(result.duration).count());
    for (std::size_t s = 0; s < result.stages.size(); ++s)
      if (result.stages[s].status != stageflow::StageStatus::not_run)
        stage_us[s].push_back(std::chrono::duration<double, std::micro>(result.stages[s].duration).count());
    if (const auto* reply = result.output<chat::Guard>(); reply && sample_reply.empty() && tier == "pro")
      sample_reply = *reply;
    if (result.status == stageflow::RunStatus::failed)
      last_failure = std::string(result.error_stage) + ": " + result.error;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  auto percentile = [](std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };

  std::printf("stageflow demo: chat pipeline (normalize -> enrich | route -> reply -> guard)\n");
  std::printf("runs: %ld in %.3f s (%.0f runs/s); completed %ld, failed %ld, cancelled %ld\n", runs, wall_s,
              static_cast<double>(runs) / wall_s, by_status[stageflow::RunStatus::completed],
              by_status[stageflow::RunStatus::failed], by_status[stageflow::RunStatus::cancelled]);
  std::printf("run latency: p50 %.2f us, p99 %.2f us\n", percentile(run_us, 0.5), percentile(run_us, 0.99));
  for (std::size_t s = 0; s < chat::Pipeline::size; ++s)
    std::printf("  %-10s p50 %6.2f us  p99 %6.2f us  (%zu runs)\n", std::string(chat::Pipeline::names[s]).c_str(),
                percentile(stage_us[s], 0.5), percentile(stage_us[s], 0.99), stage_us[s].size());
  std::printf("events:");
  for (const auto& [type, count] : counter.counts->by_type) std::printf(" %s=%ld", type.c_str(), count);
  std::printf("\nsample reply: \"%s\"\nlast failure: %s\n", sample_reply.c_str(), last_failure.c_str());

  // The demo doubles as a test: the mix of requests has a known outcome.
  const long per_cycle = static_cast<long>(requests.size());
  const bool expected = by_status[stageflow::RunStatus::failed] == (runs + per_cycle - 6) / per_cycle &&
                        sample_reply.find("4111") == std::string::npos && !sample_reply.empty();
  return expected ? 0 : 1;
}
