// SPDX-License-Identifier: BSL-1.0
// A main() for stageflow's benchmark programs: runs Google Benchmark as usual, then prints each
// declared pair "ours vs baseline" as a ratio of CPU time per iteration (wall time for benchmarks
// declared ->UseRealTime() or ->UseManualTime(), whose names end in "/real_time" or "/manual_time":
// work on other threads, waiting, or a timed part of each iteration), with
// the goal it should meet.
//
//   STAGEFLOW_BENCHMARK_RATIO("Runner<> vs by hand", "BM_runner_empty", "BM_by_hand", 1.05);
//   STAGEFLOW_BENCHMARK_COST("policy, per stage", "BM_with_policy", "BM_runner_empty", 8, 50);  // ns per unit
//   STAGEFLOW_BENCHMARK_MAIN();
//
// A pair may name a counter of each benchmark instead of its time: "BM_x/real_time:p99_ns".
// A ratio below 1 means ours is faster. When repetitions are used, the median is compared.
// Goals are reported, not enforced: timing is not a pass/fail test on a shared machine.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace stageflow::bench {

struct RatioGoal {
  std::string title;
  std::string ours;
  std::string baseline;
  double max_ratio;  // the goal: ours / baseline at most this; 0 means "report only"
};

inline std::vector<RatioGoal>& ratio_goals() {
  static std::vector<RatioGoal> goals;
  return goals;
}

/// An added cost per unit: (ours - baseline) / units, in ns, against a goal in ns (e.g. per stage).
struct CostGoal {
  std::string title;
  std::string ours;
  std::string baseline;
  double units;
  double max_ns;  // 0 means "report only"
};

inline std::vector<CostGoal>& cost_goals() {
  static std::vector<CostGoal> goals;
  return goals;
}

struct RegisterCost {
  RegisterCost(std::string title, std::string ours, std::string baseline, double units, double max_ns) {
    cost_goals().push_back({std::move(title), std::move(ours), std::move(baseline), units, max_ns});
  }
};

struct RegisterRatio {
  RegisterRatio(std::string title, std::string ours, std::string baseline, double max_ratio) {
    ratio_goals().push_back({std::move(title), std::move(ours), std::move(baseline), max_ratio});
  }
};

/// Console output as usual, and the CPU time per iteration of every run kept by name.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Iteration || median) {
        // Strip the aggregate suffix so a median replaces the individual repetitions.
        std::string name = run.run_name.str();
        const bool wall = run.run_name.time_type == "real_time" || run.run_name.time_type == "manual_time";
        const double t = wall ? run.GetAdjustedRealTime() : run.GetAdjustedCPUTime();
        if (median || !cpu_ns_.count(name)) {
          cpu_ns_[name] = t * to_ns(run.time_unit);
          // Counters too, as "name:counter" (a benchmark's own percentiles in ns, say).
          for (const auto& [counter, value] : run.counters) cpu_ns_[name + ":" + counter] = value.value;
        }
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    print_costs();
    if (ratio_goals().empty()) return;
    std::printf("\n%-52s %12s %12s %8s %8s\n", "ours vs baseline", "ours ns", "base ns", "ratio", "goal");
    for (const auto& goal : ratio_goals()) {
      auto ours = cpu_ns_.find(goal.ours);
      auto base = cpu_ns_.find(goal.baseline);
      if (ours == cpu_ns_.end() || base == cpu_ns_.end() || base->second <= 0) continue;  // filtered out
      const double ratio = ours->second / base->second;
      char goal_text[32] = "-";
      if (goal.max_ratio > 0)
        std::snprintf(goal_text, sizeof goal_text, "%s%.2f", ratio <= goal.max_ratio ? "<=" : "MISS>", goal.max_ratio);
      std::printf("%-52s %12.1f %12.1f %8.3f %8s\n", goal.title.c_str(), ours->second, base->second, ratio, goal_text);
    }
    std::fflush(stdout);
  }

 private:
  void print_costs() {
    if (cost_goals().empty()) return;
    std::printf("\n%-52s %12s %12s %8s %8s\n", "added cost per unit", "ours ns", "base ns", "ns/unit", "goal");
    for (const auto& goal : cost_goals()) {
      auto ours = cpu_ns_.find(goal.ours);
      auto base = cpu_ns_.find(goal.baseline);
      if (ours == cpu_ns_.end() || base == cpu_ns_.end() || goal.units <= 0) continue;  // filtered out
      const double cost = (ours->second - base->second) / goal.units;
      char goal_text[32] = "-";
      if (goal.max_ns > 0)
        std::snprintf(goal_text, sizeof goal_text, "%s%.0f", cost <= goal.max_ns ? "<=" : "MISS>", goal.max_ns);
      std::printf("%-52s %12.1f %12.1f %8.1f %8s\n", goal.title.c_str(), ours->second, base->second, cost, goal_text);
    }
    std::fflush(stdout);
  }

  static double to_ns(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kNanosecond: return 1.0;
      case benchmark::kMicrosecond: return 1e3;
      case benchmark::kMillisecond: return 1e6;
      case benchmark::kSecond: return 1e9;
    }
    return 1.0;
  }
  std::map<std::string, double> cpu_ns_;
};

inline int run_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace stageflow::bench

#define STAGEFLOW_BENCH_CONCAT_(a, b) a##b
#define STAGEFLOW_BENCH_CONCAT(a, b) STAGEFLOW_BENCH_CONCAT_(a, b)
/// Declares a pair to compare after the run: title, our benchmark's full name, the baseline's, the goal.
#define STAGEFLOW_BENCHMARK_RATIO(title, ours, baseline, max_ratio)                                  \
  static const ::stageflow::bench::RegisterRatio STAGEFLOW_BENCH_CONCAT(stageflow_ratio_, __COUNTER__)( \
      title, ours, baseline, max_ratio)
/// Declares an added cost to report: title, ours, baseline, units per iteration, the goal in ns per unit.
#define STAGEFLOW_BENCHMARK_COST(title, ours, baseline, units, max_ns)                              \
  static const ::stageflow::bench::RegisterCost STAGEFLOW_BENCH_CONCAT(stageflow_cost_, __COUNTER__)( \
      title, ours, baseline, units, max_ns)
#define STAGEFLOW_BENCHMARK_MAIN() \
  int main(int argc, char** argv) { return ::stageflow::bench::run_benchmarks(argc, argv); }
