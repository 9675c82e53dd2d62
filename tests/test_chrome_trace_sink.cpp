// SPDX-License-Identifier: BSL-1.0
// ChromeTraceSink: the Trace Event Format's required fields on every event (name, ph, ts, pid, tid;
// dur for a complete event; args.name for thread_name metadata), one complete event per stage that
// ran and per run, a track per thread with its name, the run id and status as args, valid JSON
// whatever the text holds, and the closing bracket.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/chrome_trace_sink.hpp>

#include <nlohmann/json.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "catch2_shim.hpp"
#include "fan_out_pipeline.hpp"

using namespace stageflow;
using nlohmann::json;

namespace {

/// Checks one event against the format's required fields; returns its phase.
std::string check_required(const json& e) {
  INFO(e.dump());
  REQUIRE(e.is_object());
  REQUIRE(e.contains("ph"));
  REQUIRE(e["ph"].is_string());
  const std::string ph = e["ph"];
  CHECK(e["name"].is_string());
  CHECK(e["pid"].is_number_integer());
  CHECK(e["tid"].is_number_integer());
  if (ph == "X") {
    CHECK(e["ts"].is_number());
    CHECK(e["dur"].is_number());
    CHECK(e["dur"].get<double>() >= 0);
    CHECK(e["cat"].is_string());
    CHECK(e["args"]["pipeline_run_id"].is_string());
    CHECK(e["args"]["status"].is_string());
  } else {
    CHECK(ph == "M");
    CHECK(e["name"] == "thread_name");
    CHECK(e["args"]["name"].is_string());
  }
  return ph;
}

}  // namespace

TEST_CASE("runs and stages on ParallelExecutor become complete events, a track per thread",
          "[chrome_trace][threads]") {
  std::ostringstream out;
  std::map<std::string, RunStatus> statuses;  // run id -> status
  {
    const Runner<use_executor<ParallelExecutor>, chrome_trace_sink_mt> runner(ParallelExecutor(2),
                                                                            chrome_trace_sink_mt(out));
    for (const char* input : {"ok", "fail: bad \xff byte", "skip", "ok"}) {
      const auto result = runner.run(test::FanOut{}, ContextSnapshot{.input_text = input});
      statuses[boost::uuids::to_string(result.pipeline_run_id)] = result.status;
    }
  }  // the last copy of the sink closes the array
  const std::string text = out.str();
  INFO(text);
  json trace;
  REQUIRE_NOTHROW(trace = json::parse(text));
  REQUIRE(trace.is_array());
  std::map<std::string, std::vector<json>> stages_of;  // run id -> its stage slices
  std::map<std::string, json> run_of;
  std::set<std::int64_t> tracks, named;
  for (const json& e : trace) {
    const std::string ph = check_required(e);
    if (ph == "M") {
      CHECK(named.insert(e["tid"].get<std::int64_t>()).second);  // each track named once
      continue;
    }
    tracks.insert(e["tid"].get<std::int64_t>());
    const std::string run_id = e["args"]["pipeline_run_id"];
    if (e["cat"] == "run") {
      CHECK(e["name"] == "pipeline run");
      CHECK(run_of.emplace(run_id, e).second);
    } else {
      CHECK(e["cat"] == "stage");
      stages_of[run_id].push_back(e);
    }
  }
  CHECK(named == tracks);
  REQUIRE(run_of.size() == 4);
  for (const auto& [run_id, run] : run_of) {
    INFO(run_id);
    REQUIRE(statuses.count(run_id) == 1);
    CHECK(run["args"]["status"] == std::string(to_string(statuses[run_id])));
    // load and check always run; enrich too, unless check's failure ended the run first.
    const auto& stages = stages_of[run_id];
    CHECK(stages.size() == (statuses[run_id] == RunStatus::completed ? 3u : stages.size()));
    CHECK(stages.size() >= 2);
    CHECK(std::count_if(stages.begin(), stages.end(), [](const json& s) { return s["name"] == "load"; }) == 1);
    const double start = run["ts"], end = start + run["dur"].get<double>();
    for (const json& stage : stages_of[run_id]) {
      CHECK(stage["ts"].get<double>() >= start - 1);  // µs; a stage lies within its run
      CHECK(stage["ts"].get<double>() + stage["dur"].get<double>() <= end + 1);
      if (stage["name"] == "check" && statuses[run_id] == RunStatus::failed) {
        CHECK(stage["args"]["status"] == "failed");
        CHECK(stage["args"]["reason"] == "fail: bad \xEF\xBF\xBD byte");  // valid UTF-8 JSON
      }
    }
  }
}

TEST_CASE("only outcome events are written; close() ends the array, and an empty trace is []",
          "[chrome_trace]") {
  SECTION("empty") {
    std::ostringstream out;
    { const chrome_trace_sink_st sink(out); }
    CHECK(json::parse(out.str()) == json::array());
  }
  SECTION("events that are not a stage's or a run's end are left out; close() is final") {
    std::ostringstream out;
    const chrome_trace_sink_st sink(out, {.run_name = "chat"});
    Event started;
    started.type = "stage.started";
    started.stage = "load";
    sink.emit(started);
    Event other;
    other.type = "x";
    sink.emit(other);
    Event done;
    done.type = "pipeline.completed";
    done.timestamp = std::chrono::system_clock::time_point(std::chrono::nanoseconds(5'000'123'456));
    done.duration = std::chrono::nanoseconds(2'000'500);
    sink.emit(done);
    sink.close();
    sink.emit(done);  // after close: left out, the file stays valid
    const json trace = json::parse(out.str());
    REQUIRE(trace.size() == 2);  // the thread's name, the run
    CHECK(check_required(trace[0]) == "M");
    CHECK(check_required(trace[1]) == "X");
    CHECK(trace[1]["name"] == "chat");
    CHECK(trace[1]["ts"].get<double>() == Approx(5'000'123'456 / 1000.0 - 2'000.5));
    CHECK(trace[1]["dur"].get<double>() == Approx(2'000.5));
    CHECK(trace[1]["args"]["status"] == "completed");
  }
}
