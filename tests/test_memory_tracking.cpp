// SPDX-License-Identifier: BSL-1.0
// MemoryTracking: the runner policy over MemoryTracker (heap from the allocator; the exact
// figures with the allocation counter are in test_memory_tracking_counted.cpp).
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include "catch2_shim.hpp"

using namespace stageflow;
using stageflow::pipeline::MemoryTracking;

namespace {

struct Prepare {
  static constexpr std::string_view name = "prepare";
  int execute() const { return 1; }
};
/// Allocates and keeps 8 MiB (its output holds it).
struct Heavy {
  static constexpr std::string_view name = "heavy";
  using depends_on = after<Prepare>;
  StageOutput<std::vector<char>> execute(const auto& ctx) const {
    if (ctx.snapshot().input_text == "fail") return fail("heavy failed");
    if (ctx.snapshot().input_text == "cancel") return cancel("heavy cancelled");
    return std::vector<char>(std::size_t{8} << 20, 'x');
  }
};
using P = Pipeline<Prepare, Heavy>;

std::vector<std::string> labels(const helpers::MemoryTracker& tracker) {
  std::vector<std::string> out;
  for (const auto& s : tracker.samples()) out.push_back(s.label);
  return out;
}

}  // namespace

TEST_CASE("samples around the run and each stage, labelled as documented", "[memory_tracking]") {
  auto tracker = std::make_shared<helpers::MemoryTracker>(helpers::MemoryTrackerOptions{.read_rss = false});
  Runner<MemoryTracking> runner{MemoryTracking(tracker)};
  REQUIRE(runner.run(P{}, ContextSnapshot{}).ok());
  CHECK(labels(*tracker) == std::vector<std::string>{"pipeline:start", "prepare:start", "prepare:end", "heavy:start",
                                                     "heavy:end", "pipeline:end"});
  tracker->stop();
  tracker->start();
  runner.run(P{}, ContextSnapshot{.input_text = "fail"});
  CHECK(labels(*tracker).back() == "pipeline:error");
  runner.run(P{}, ContextSnapshot{.input_text = "cancel"});
  CHECK(labels(*tracker).back() == "pipeline:cancelled");
}

TEST_CASE("a stage that keeps 8 MiB shows as that stage's heap growth", "[memory_tracking]") {
  Runner<MemoryTracking> runner;
  const auto r = runner.run(P{}, ContextSnapshot{});
  REQUIRE(r.ok());
  const auto heavy = r.metric("heavy", "heap_delta_bytes");
  const auto prepare = r.metric("prepare", "heap_delta_bytes");
  if (!heavy) STAGEFLOW_SKIP("no heap figures on this platform");
  CHECK(*heavy >= 8.0 * 1024 * 1024);
  CHECK(*heavy < 8.5 * 1024 * 1024);
  CHECK(*prepare < 64.0 * 1024);
}

TEST_CASE("auto_start = false: the runner records nothing and does not crash, until start()", "[memory_tracking]") {
  auto tracker = std::make_shared<helpers::MemoryTracker>(helpers::MemoryTrackerOptions{.auto_start = false});
  CollectingSink sink;
  Runner<CollectingSink, MemoryTracking> runner(sink, MemoryTracking(tracker));
  const auto r = runner.run(P{}, ContextSnapshot{});
  CHECK(r.ok());
  CHECK(tracker->samples().empty());
  CHECK(r.metrics.empty());
  CHECK(sink.count("memory.sample") == 0);
  tracker->start();
  CHECK(runner.run(P{}, ContextSnapshot{}).ok());
  CHECK(tracker->samples().size() == 6);
  CHECK(sink.count("memory.sample") == 6);
}

namespace {

/// Leaks 256 KiB per run, as a cache that never evicts would.
struct Leaky {
  static constexpr std::string_view name = "leaky";
  static inline std::vector<std::unique_ptr<char[]>> kept;
  void execute() const {
    kept.push_back(std::make_unique<char[]>(256 * 1024));
    std::fill_n(kept.back().get(), 256 * 1024, 'x');  // touch it: RSS grows too
  }
};
struct Flat {
  static constexpr std::string_view name = "flat";
  std::size_t execute() const { return std::vector<char>(256 * 1024, 'y').size(); }  // freed at once
};

helpers::MemoryTrackerOptions leak_detection() {
  return {.heap_growth_threshold_bytes = 0, .rss_growth_threshold_bytes = 0, .sustained_growth_window = 16,
          .sustained_growth_slope_bytes = 64 * 1024, .sustained_growth_warmup_samples = 0};
}

}  // namespace

TEST_CASE("a steady leak across runs raises memory.growth_warning; a flat workload none", "[memory_tracking]") {
  SECTION("leak") {
    CollectingSink sink;
    Runner<CollectingSink, MemoryTracking> runner(sink, MemoryTracking(leak_detection()));
    for (int i = 0; i < 40; ++i) runner.run(Pipeline<Leaky>{}, ContextSnapshot{});
    Leaky::kept.clear();
    if (!runner.policy<MemoryTracking>().tracker().latest()->heap_bytes) STAGEFLOW_SKIP("no heap figures here");
    REQUIRE(sink.count("memory.growth_warning") >= 1);
    const auto events = sink.events();
    const auto warning =
        *std::find_if(events.begin(), events.end(), [](auto& e) { return e.type == "memory.growth_warning"; });
    CHECK(warning.text("kind") == "sustained");
    CHECK(warning.text("label") == "pipeline:end");
    CHECK(warning.text("message")->find("grew steadily") != std::string::npos);
  }
  SECTION("flat") {
    CollectingSink sink;
    Runner<CollectingSink, MemoryTracking> runner(sink, MemoryTracking(leak_detection()));
    for (int i = 0; i < 40; ++i) runner.run(Pipeline<Flat>{}, ContextSnapshot{});
    CHECK(sink.count("memory.growth_warning") == 0);
    CHECK(sink.count("memory.sample") == 40 * 4);
  }
}
