// SPDX-License-Identifier: BSL-1.0
// Every shipped policy and sink under ParallelExecutor: exact counts from four threads, immutability
// blame that never pins a change on one of several running stages, context growth attributed to the
// stage whose output grew it, memory figures that say how they were attributed. Runs under TSan in CI.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/helpers/run_utils.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/optional_policy.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include "catch2_shim.hpp"

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

using stageflow::after;
using stageflow::ContextSnapshot;
using stageflow::RunStatus;
using stageflow::StageStatus;
namespace pl = stageflow::pipeline;

namespace {

struct Normalize {
  static constexpr std::string_view name = "normalize";
  std::string execute(const auto& ctx) const { return ctx.snapshot().input_text + "!"; }
};
struct Short {
  static constexpr std::string_view name = "short";
  using depends_on = after<Normalize>;
  std::string execute(const auto& ctx) const { return *stageflow::input<Normalize>(ctx); }
};
struct Long {
  static constexpr std::string_view name = "long";
  using depends_on = after<Normalize>;
  std::vector<std::string> execute(const auto& ctx) const {
    return std::vector<std::string>(50, *stageflow::input<Normalize>(ctx));
  }
};
struct Join {
  static constexpr std::string_view name = "join";
  using depends_on = after<Short, Long>;
  std::size_t execute(const auto& ctx) const {
    return stageflow::input<Short>(ctx)->size() + stageflow::input<Long>(ctx)->size();
  }
};
using Diamond = stageflow::Pipeline<Normalize, Short, Long, Join>;

ContextSnapshot snapshot(const std::string& text) {
  return ContextSnapshot{.run = stageflow::RunIdentity::generate(), .input_text = text};
}

}  // namespace

TEST_CASE("all policies on ParallelExecutor, one runner run from four threads: counts exact") {
  stageflow::CollectingSink sink;
  auto tracker = std::make_shared<stageflow::helpers::MemoryTracker>(stageflow::helpers::MemoryTrackerOptions{});
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::CollectingSink,
                          pl::UuidTelemetry<>, pl::ImmutabilityInterceptor, pl::ContextSizeInterceptor,
                          pl::MemoryTracking>
      runner{stageflow::ParallelExecutor(2), sink, pl::MemoryTracking(tracker)};
  constexpr int per_thread = 100;
  std::atomic<int> exact{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          const auto result = runner.run(Diamond{}, snapshot("t" + std::to_string(t)));
          if (result.ok() && *result.output<Join>() == 3 + 50 && result.metric("pipeline", "memory_per_stage") == 0.0)
            ++exact;
        }
      });
  }
  const int runs = 4 * per_thread;
  CHECK(exact.load() == runs);
  CHECK(sink.count("pipeline.completed") == static_cast<std::size_t>(runs));
  CHECK(sink.count("stage.completed") == static_cast<std::size_t>(4 * runs));
  CHECK(sink.count("uuid.collision") == 0);
  CHECK(sink.count("immutability.violation") == 0);
  CHECK(runner.policy<pl::UuidTelemetry<>>().monitor().counters().distinct_ids >= static_cast<std::size_t>(runs));
}

TEST_CASE("context growth is attributed to the stage whose output grew it, under concurrency") {
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, pl::ContextSizeInterceptor> runner{
      stageflow::ParallelExecutor(2)};
  const auto result = runner.run(Diamond{}, snapshot("hello"));
  REQUIRE(result.ok());
  CHECK(result.metric("short", "context_growth_bytes") ==
        static_cast<double>(stageflow::serialization::byte_count(*result.output<Short>())));
  CHECK(result.metric("long", "context_growth_bytes") ==
        static_cast<double>(stageflow::serialization::byte_count(*result.output<Long>())));
}

namespace {
// Two branches running at the same time; one writes into the const snapshot while the other runs.
struct Rendezvous {
  std::shared_ptr<std::latch> both_running = std::make_shared<std::latch>(2);
  std::shared_ptr<std::latch> written = std::make_shared<std::latch>(1);
};
struct Tamper {
  static constexpr std::string_view name = "tamper";
  using depends_on = after<Normalize>;
  int execute(const auto& ctx) const {
    const auto& r = *rendezvous;
    r.both_running->arrive_and_wait();
    const_cast<ContextSnapshot&>(ctx.snapshot()).input_text += "?";
    r.written->count_down();
    return 1;
  }
  const Rendezvous* rendezvous;
};
struct Bystander {
  static constexpr std::string_view name = "bystander";
  using depends_on = after<Normalize>;
  int execute() const {
    rendezvous->both_running->arrive_and_wait();
    rendezvous->written->wait();
    return 2;
  }
  const Rendezvous* rendezvous;
};
}  // namespace

TEST_CASE("a change seen while two stages ran names both and blames neither alone") {
  stageflow::CollectingSink sink;
  const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>, stageflow::CollectingSink,
                          pl::ImmutabilityInterceptor>
      runner{stageflow::ParallelExecutor(2), sink};
  const Rendezvous rendezvous;
  const stageflow::Pipeline<Normalize, Tamper, Bystander> pipeline(Normalize{}, Tamper{.rendezvous = &rendezvous},
                                                                   Bystander{.rendezvous = &rendezvous});
  const auto result = runner.run(pipeline, snapshot("x"));
  CHECK(result.status == RunStatus::failed);
  CHECK(result.error_stage.empty());  // no single stage is blamed
  CHECK(result.error.find("input_text") != std::string::npos);
  CHECK(result.error.find("changed while these stages ran at the same time") != std::string::npos);
  CHECK(result.report<Tamper>().status == StageStatus::ok);
  CHECK(result.report<Bystander>().status == StageStatus::ok);
  const auto events = sink.events();
  int violations = 0;
  for (const auto& e : events)
    if (e.type == "immutability.violation") {
      ++violations;
      const auto stages = e.text("stages").value_or("");
      CHECK(stages.find("tamper") != std::string::npos);
      CHECK(stages.find("bystander") != std::string::npos);
    }
  CHECK(violations == 1);  // reported once
}

TEST_CASE("OptionalPolicy and PipelineRunner run on ParallelExecutor") {
  std::atomic<int> events{0};
  const stageflow::helpers::PipelineRunner runner({.enable_uuid_monitor = true,
                                                    .enable_memory_tracker = true,
                                                    .enable_immutability_check = true,
                                                    .enable_context_size_monitor = true,
                                                    .on_event = [&](const stageflow::Event&) { ++events; },
                                                    .executor = stageflow::ParallelExecutor(2)});
  std::atomic<int> exact{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          const auto result = runner.run(Diamond{}, runner.create_snapshot({.input_text = "hi"}));
          if (result.ok() && *result.output<Join>() == 53) ++exact;
        }
      });
  }
  CHECK(exact.load() == 200);
  CHECK(events.load() > 200 * 10);  // lifecycle and memory.sample events, delivered one at a time
  REQUIRE(runner.uuid_monitor() != nullptr);
  CHECK(runner.uuid_monitor()->counters().distinct_ids >= 200u);
}
