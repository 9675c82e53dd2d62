// SPDX-License-Identifier: BSL-1.0
// PipelineRunner: the seed's runtime flags over Runner<OptionalPolicy<...>...>.
#include <stageflow/helpers/run_utils.hpp>

#include "catch2_shim.hpp"

using namespace stageflow;
using stageflow::helpers::PipelineRunner;

namespace {

struct Reply {
  static constexpr std::string_view name = "reply";
  std::string execute(const auto& ctx) const {
    if (ctx.snapshot().input_text == "mutate")
      const_cast<ContextSnapshot&>(ctx.snapshot()).metadata["channel"] = "tampered";
    return "re: " + ctx.snapshot().input_text;
  }
};
using P = Pipeline<Reply>;

std::vector<std::string> labels(const helpers::MemoryTracker& tracker) {
  std::vector<std::string> out;
  for (const auto& s : tracker.samples()) out.push_back(s.label);
  return out;
}

}  // namespace

TEST_CASE("the seed's snippets compile and every flag is off by default", "[run_utils]") {
  PipelineRunner memory({.enable_memory_tracker = true, .memory_tracker_auto_start = true});
  PipelineRunner immutability({.enable_immutability_check = true});
  PipelineRunner size({.enable_context_size_monitor = true});
  PipelineRunner plain;
  CHECK(plain.uuid_monitor() == nullptr);
  CHECK(plain.memory_tracker() == nullptr);
  CHECK(memory.memory_tracker() != nullptr);
  const auto r = plain.run(P{}, PipelineRunner::create_snapshot({.input_text = "mutate"}));
  CHECK(r.ok());  // no check on: the mutation goes unnoticed
  CHECK(r.metrics.empty());
}

TEST_CASE("create_snapshot: fresh v7 ids, the channel in the metadata with the caller's", "[run_utils]") {
  const auto a = PipelineRunner::create_snapshot({.input_text = "hi", .metadata = JsonValue::object({{"k", 1}})});
  const auto b = PipelineRunner::create_snapshot();
  CHECK(helpers::is_uuid7(a.run.pipeline_run_id));
  CHECK(a.run.pipeline_run_id != b.run.pipeline_run_id);
  CHECK(a.run.org_id.is_nil());
  CHECK(a.metadata.at("channel").as_string() == "cli");
  CHECK(a.metadata.at("k").as_int() == 1);
  CHECK(a.execution_mode == "practice");
}

TEST_CASE("enable_uuid_monitor observes each run's ids; a reused snapshot collides", "[run_utils]") {
  std::vector<std::string> events;
  PipelineRunner runner({.enable_uuid_monitor = true, .uuid_monitor_ttl_seconds = 60,
                         .on_event = [&](const Event& e) { events.emplace_back(e.type); }});
  const auto snapshot = PipelineRunner::create_snapshot({.input_text = "hi"});
  runner.run(P{}, snapshot);
  runner.run(P{}, snapshot);
  REQUIRE(runner.uuid_monitor() != nullptr);
  CHECK(runner.uuid_monitor()->counters().collisions == 3);  // run, request and interaction ids
  CHECK(std::count(events.begin(), events.end(), "uuid.collision") == 3);
}

TEST_CASE("enable_memory_tracker samples the run; auto_start = false does not break runs", "[run_utils]") {
  PipelineRunner runner({.enable_memory_tracker = true});
  CHECK(runner.run(P{}, PipelineRunner::create_snapshot()).ok());
  CHECK(labels(*runner.memory_tracker()) ==
        std::vector<std::string>{"pipeline:start", "reply:start", "reply:end", "pipeline:end"});

  PipelineRunner later({.enable_memory_tracker = true, .memory_tracker_auto_start = false});
  CHECK(later.run(P{}, PipelineRunner::create_snapshot()).ok());  // the original raised here
  CHECK(later.memory_tracker()->samples().empty());
  later.memory_tracker()->start();
  later.run(P{}, PipelineRunner::create_snapshot());
  CHECK(later.memory_tracker()->samples().size() == 4);
}

TEST_CASE("enable_immutability_check fails a mutating stage, naming the field", "[run_utils]") {
  PipelineRunner runner({.enable_immutability_check = true});
  const auto r = runner.run(P{}, PipelineRunner::create_snapshot({.input_text = "mutate"}));
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error == "stage 'reply' mutated what it was handed: metadata.channel");
  CHECK(runner.run(P{}, PipelineRunner::create_snapshot({.input_text = "fine"})).ok());
}

TEST_CASE("enable_context_size_monitor reports sizes per stage", "[run_utils]") {
  std::vector<std::string> events;
  PipelineRunner runner({.enable_context_size_monitor = true,
                         .on_event = [&](const Event& e) { events.emplace_back(e.type); },
                         .context_size = {.max_size_bytes = 10}});
  const auto r = runner.run(P{}, PipelineRunner::create_snapshot({.input_text = "hi"}));
  CHECK(r.ok());
  CHECK(r.metric("reply", "context_growth_bytes") == 8.0);  // "re: hi" and its quotes
  CHECK(std::count(events.begin(), events.end(), "context.size_exceeded") == 1);
}
