// SPDX-License-Identifier: BSL-1.0
// ImmutabilityInterceptor and ContextSizeInterceptor in real runs.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/serialization/json_parse.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/sinks/json_lines_sink.hpp>

#include <boost/hana/adapt_struct.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <atomic>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "catch2_shim.hpp"
#include "shared_data.hpp"

using namespace stageflow;
using stageflow::pipeline::ContextSizeInterceptor;
using stageflow::pipeline::ImmutabilityInterceptor;

namespace test {

struct Profile {
  std::string tier = "free";
  int age = 30;
};

/// A snapshot with every route C++ leaves open for mutating a const object.
struct Snapshot {
  ContextSnapshot context;
  std::shared_ptr<Profile> profile = std::make_shared<Profile>();  // pointee is not const
  mutable int cache_hits = 0;                                      // mutable
  std::unordered_map<std::string, int> scores;                      // rehash must not count
  double score = std::numeric_limits<double>::quiet_NaN();          // NaN must not count
};

}  // namespace test

BOOST_HANA_ADAPT_STRUCT(test::Profile, tier, age);
BOOST_HANA_ADAPT_STRUCT(test::Snapshot, context, profile, cache_hits, scores, score);

namespace {

/// prefix + i, built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) on "k" + std::to_string(i).
std::string key(std::string_view prefix, int i) {
  std::string k(prefix);
  k += std::to_string(i);
  return k;
}


using test::Snapshot;

test::Snapshot make_snapshot() {
  test::Snapshot s;
  s.context.input_text = "hello";
  s.context.messages = {{"user", "hi"}, {"assistant", "hello"}, {"user", "what is my plan?"}};
  s.context.metadata = JsonValue::object({{"user", JsonValue::object({{"tier", "gold"}, {"id", 7}})}});
  for (int i = 0; i < 20; ++i) s.scores[key("k", i)] = i;
  return s;
}

/// What a stage does to its snapshot, chosen by the test through input_text.
enum class Mutation { none, message_text, metadata_tier, through_shared_ptr, mutable_member, rehash_only, nan_rewrite };

template <Mutation M>
struct Mutate {
  static constexpr std::string_view name = "mutate";
  int execute(const auto& ctx) const {
    const Snapshot& s = ctx.snapshot();
    if constexpr (M == Mutation::message_text)
      const_cast<Snapshot&>(s).context.messages[2].content = "changed";
    else if constexpr (M == Mutation::metadata_tier)
      const_cast<Snapshot&>(s).context.metadata["user"]["tier"] = "platinum";
    else if constexpr (M == Mutation::through_shared_ptr)
      s.profile->tier = "pro";
    else if constexpr (M == Mutation::mutable_member)
      ++s.cache_hits;
    else if constexpr (M == Mutation::rehash_only)
      const_cast<Snapshot&>(s).scores.rehash(512);
    else if constexpr (M == Mutation::nan_rewrite)
      const_cast<Snapshot&>(s).score = std::numeric_limits<double>::quiet_NaN();
    return 1;
  }
};

struct After {
  static constexpr std::string_view name = "after";
  using depends_on = after<Mutate<Mutation::none>>;
  int execute() const { return 2; }
};

template <Mutation M>
auto run_with(Mutation, bool crash, CollectingSink& sink) {
  Runner<CollectingSink, ImmutabilityInterceptor> runner(sink, ImmutabilityInterceptor({.crash_on_violation = crash}));
  auto snapshot = make_snapshot();
  return runner.run(Pipeline<Mutate<M>>{}, snapshot);
}

using Paths = std::vector<std::string>;

/// The changed fields of the violation event, checked against the RunResult's copy.
template <Mutation M>
Paths violation_fields() {
  CollectingSink sink;
  const auto r = run_with<M>(M, true, sink);
  for (const auto& e : sink.events())
    if (e.type == "immutability.violation") {
      const Paths fields = e.texts("paths").value_or(Paths{"(no fields list)"});
      CHECK(r.changed_fields() == fields);
      CHECK(r.stages[0].changed_fields == fields);
      return fields;
    }
  CHECK(r.changed_fields().empty());
  return r.ok() ? Paths{} : Paths{"(failed without an event: " + r.error + ")"};
}

}  // namespace

TEST_CASE("every mutation route is caught with the path of the changed field", "[immutability]") {
  CHECK(violation_fields<Mutation::message_text>() == Paths{"context.messages[2].content"});
  CHECK(violation_fields<Mutation::metadata_tier>() == Paths{"context.metadata.user.tier"});
  CHECK(violation_fields<Mutation::through_shared_ptr>() == Paths{"profile.tier"});
  CHECK(violation_fields<Mutation::mutable_member>() == Paths{"cache_hits"});
}

TEST_CASE("no false positives: unchanged data, NaN, a rehashed unordered map", "[immutability]") {
  CHECK(violation_fields<Mutation::none>().empty());
  CHECK(violation_fields<Mutation::rehash_only>().empty());
  CHECK(violation_fields<Mutation::nan_rewrite>().empty());
}

TEST_CASE("crash_on_violation fails the stage and the run with the message", "[immutability]") {
  CollectingSink sink;
  const auto r = run_with<Mutation::metadata_tier>(Mutation::metadata_tier, true, sink);
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error_stage == "mutate");
  CHECK(r.error == "stage 'mutate' mutated what it was handed: context.metadata.user.tier");
  CHECK(r.stages[0].status == StageStatus::fail);
  CHECK(sink.count("immutability.violation") == 1);
}

TEST_CASE("without crash_on_violation the violation is reported and the run goes on", "[immutability]") {
  CollectingSink sink;
  const auto r = run_with<Mutation::message_text>(Mutation::message_text, false, sink);
  CHECK(r.ok());
  REQUIRE(sink.count("immutability.violation") == 1);
  const auto events = sink.events();
  for (const auto& e : events)
    if (e.type == "immutability.violation") {
      CHECK(e.stage == "mutate");
      CHECK(e.text("message") == "stage 'mutate' mutated what it was handed: context.messages[2].content");
    }
}

namespace {

struct Shared {
  std::shared_ptr<test::Profile> profile;
};

struct MakeProfile {
  static constexpr std::string_view name = "make_profile";
  std::shared_ptr<test::Profile> execute() const { return std::make_shared<test::Profile>(); }
};
struct SpoilProfile {
  static constexpr std::string_view name = "spoil_profile";
  using depends_on = after<MakeProfile>;
  int execute(const auto& ctx) const {
    (*input<MakeProfile>(ctx))->age = 99;  // the output is const; its pointee is not
    return 0;
  }
};
struct ReadProfile {
  static constexpr std::string_view name = "read_profile";
  using depends_on = after<SpoilProfile>;
  int execute(const auto& ctx) const { return (*input<MakeProfile>(ctx))->age; }
};

}  // namespace

TEST_CASE("a stage mutating an upstream output is caught, named by the producing stage", "[immutability]") {
  CollectingSink sink;
  Runner<CollectingSink, ImmutabilityInterceptor> runner(sink, ImmutabilityInterceptor({.crash_on_violation = false}));
  const auto r = runner.run(Pipeline<MakeProfile, SpoilProfile, ReadProfile>{}, make_snapshot());
  CHECK(r.ok());
  CHECK(r.changed_fields() == Paths{"make_profile:age"});
  CHECK(r.report<SpoilProfile>().changed_fields == Paths{"make_profile:age"});
  CHECK(r.report<ReadProfile>().changed_fields.empty());
  REQUIRE(sink.count("immutability.violation") == 1);  // reported once, at the stage that did it
  for (const auto& e : sink.events())
    if (e.type == "immutability.violation") {
      CHECK(e.stage == "spoil_profile");
      CHECK(e.texts("paths") == Paths{"make_profile:age"});
      CHECK(e.texts("changes") == Paths{"modified"});
    }
}

namespace {

struct Connection {  // not walkable: opted out of the check below
  int fd = 3;
};
struct Connect {
  static constexpr std::string_view name = "connect";
  Connection execute() const { return {}; }
};
struct UseConnection {
  static constexpr std::string_view name = "use_connection";
  using depends_on = after<Connect>;
  int execute(const auto& ctx) const {
    const_cast<Connection&>(*input<Connect>(ctx)).fd = 4;  // not seen: the type is unchecked
    return input<Connect>(ctx)->fd;
  }
};
struct UseAgain {
  static constexpr std::string_view name = "use_again";
  using depends_on = after<UseConnection>;
  int execute(const auto& ctx) const { return input<Connect>(ctx)->fd; }
};

}  // namespace

template <>
struct stageflow::pipeline::unchecked_output<Connection> : std::true_type {};

namespace {
struct AddsAndChanges {
  static constexpr std::string_view name = "adds_and_changes";
  int execute(const auto& ctx) const {
    auto& s = const_cast<Snapshot&>(ctx.snapshot());
    s.context.metadata["user"]["tier"] = "platinum";
    s.context.metadata["user"]["plan"] = "annual";
    s.context.messages.pop_back();
    return 0;
  }
};
}  // namespace

TEST_CASE("an opted-out output is not checked, and the run says so", "[immutability]") {
  CollectingSink sink;
  Runner<CollectingSink, ImmutabilityInterceptor> runner(sink, ImmutabilityInterceptor{});
  const auto r = runner.run(Pipeline<Connect, UseConnection, UseAgain>{}, make_snapshot());
  CHECK(r.ok());
  CHECK(r.changed_fields().empty());
  CHECK(r.metric("connect", "immutability.unchecked") == 1.0);  // once, though two stages read it
  CHECK(std::count_if(r.metrics.begin(), r.metrics.end(), [](const Metric& m) {
          return m.name == "immutability.unchecked";
        }) == 1);
  REQUIRE(sink.count("immutability.unchecked") == 1);
  for (const auto& e : sink.events())
    if (e.type == "immutability.unchecked") CHECK(e.texts("outputs") == Paths{"connect"});
  CHECK(sink.count("immutability.violation") == 0);

  // A pipeline whose outputs are all walkable reports nothing unchecked.
  sink.clear();
  const auto checked = runner.run(Pipeline<MakeProfile, SpoilProfile, ReadProfile>{}, make_snapshot());
  CHECK(!checked.metric("make_profile", "immutability.unchecked"));
  CHECK(sink.count("immutability.unchecked") == 0);
}

TEST_CASE("the violation event carries the paths as a list, in every sink", "[immutability][events]") {
  std::ostringstream lines;
  CollectingSink sink;
  Runner<CollectingSink, JsonLinesSink<>, ImmutabilityInterceptor> runner(sink, JsonLinesSink<>(lines),
                                                                          ImmutabilityInterceptor{});
  const auto r = runner.run(Pipeline<AddsAndChanges>{}, make_snapshot());
  CHECK(r.status == RunStatus::failed);
  const Paths expected{"context.messages[2]", "context.metadata.user.plan", "context.metadata.user.tier"};
  CHECK(r.changed_fields() == expected);
  CHECK(r.error ==
        "stage 'adds_and_changes' mutated what it was handed: context.messages[2] (removed), "
        "context.metadata.user.plan (added), context.metadata.user.tier");
  for (const auto& e : sink.events())
    if (e.type == "immutability.violation") {
      CHECK(e.texts("paths") == expected);
      CHECK(e.texts("changes") == Paths{"removed", "added", "modified"});
      CHECK(e.flag("truncated") == false);
      CHECK(!e.text("paths"));  // a list, not a text
    }
  CHECK(lines.str().find(R"("paths":["context.messages[2]","context.metadata.user.plan","context.metadata.user.tier"])") !=
        std::string::npos);
  CHECK(lines.str().find(R"("changes":["removed","added","modified"])") != std::string::npos);
}

TEST_CASE("concurrent runs of one runner do not see each other's snapshots", "[immutability][concurrency][threads]") {
  CollectingSink sink;
  const Runner<CollectingSink, ImmutabilityInterceptor> runner(sink, ImmutabilityInterceptor{});
  // Catch2's assertions are not thread-safe (ThreadSanitizer reports them): count, check after join.
  std::atomic<int> failed_runs{0};
  auto work = [&](std::string text) {
    for (int i = 0; i < 200; ++i) {
      auto snapshot = make_snapshot();
      snapshot.context.input_text = text + std::to_string(i);
      if (!runner.run(Pipeline<Mutate<Mutation::none>, After>{}, snapshot).ok()) ++failed_runs;
    }
  };
  std::thread a(work, "a"), b(work, "b");
  a.join();
  b.join();
  CHECK(failed_runs == 0);
  CHECK(sink.count("immutability.violation") == 0);
}

namespace {

struct Grow {
  static constexpr std::string_view name = "grow";
  std::string execute(const auto& ctx) const { return std::string(ctx.snapshot().input_text.size() * 1000, 'x'); }
};
struct Small {
  static constexpr std::string_view name = "small";
  using depends_on = after<Grow>;
  int execute() const { return 12345; }
};
struct Tiny {
  static constexpr std::string_view name = "tiny";
  int execute() const { return 1; }
};
struct Opaque {  // not walkable: not counted
  int value = 1;
};
struct MakesOpaque {
  static constexpr std::string_view name = "makes_opaque";
  Opaque execute() const { return {}; }
};

}  // namespace

TEST_CASE("context size: snapshot plus outputs, in bytes of canonical JSON, per stage", "[context_size]") {
  CollectingSink sink;
  Runner<CollectingSink, ContextSizeInterceptor> runner(
      sink, ContextSizeInterceptor({.max_size_bytes = 1 << 20, .warn_on_growth_bytes = 100 * 1024}));
  ContextSnapshot snapshot{.input_text = std::string(150, 'a'), .messages = {{"user", "héllo \"quoted\""}}};
  const auto r = runner.run(Pipeline<Grow, Small, MakesOpaque>{}, snapshot);
  REQUIRE(r.ok());
  const double snapshot_bytes = static_cast<double>(serialization::to_json(snapshot).size());
  CHECK(r.metric("snapshot", "context_size_bytes") == snapshot_bytes);
  CHECK(r.metric("grow", "context_growth_bytes") == 150'000.0 + 2);  // the string and its quotes
  CHECK(r.metric("grow", "context_size_bytes") == snapshot_bytes + 150'002);
  CHECK(r.metric("small", "context_growth_bytes") == 5.0);
  CHECK(r.metric("makes_opaque", "context_growth_bytes") == 0.0);
  REQUIRE(sink.count("context.growth_warning") == 1);
  for (const auto& e : sink.events())
    if (e.type == "context.growth_warning") {
      CHECK(e.stage == "grow");
      CHECK(std::get<std::int64_t>(*e.field("growth_bytes")) == 150'002);
    }
  CHECK(sink.count("context.size_exceeded") == 0);
}

TEST_CASE("context.size_exceeded names the stage that crossed the limit, once", "[context_size]") {
  CollectingSink sink;
  Runner<CollectingSink, ContextSizeInterceptor> runner(
      sink, ContextSizeInterceptor({.max_size_bytes = 100'000, .warn_on_growth_bytes = 1 << 30}));
  const auto r = runner.run(Pipeline<Grow, Small>{}, ContextSnapshot{.input_text = std::string(150, 'a')});
  CHECK(r.ok());
  REQUIRE(sink.count("context.size_exceeded") == 1);
  for (const auto& e : sink.events())
    if (e.type == "context.size_exceeded") CHECK(e.stage == "grow");
}

TEST_CASE("a snapshot too big on its own is reported before any stage; fail_when_exceeded fails", "[context_size]") {
  CollectingSink sink;
  Runner<CollectingSink, ContextSizeInterceptor> runner(
      sink, ContextSizeInterceptor({.max_size_bytes = 1000, .fail_when_exceeded = true}));
  const auto r = runner.run(Pipeline<Tiny>{}, ContextSnapshot{.input_text = std::string(5000, 'z')});
  CHECK(r.status == RunStatus::failed);
  CHECK(r.error.starts_with("context size "));
  CHECK(r.stages[0].status == StageStatus::not_run);
  REQUIRE(sink.count("context.size_exceeded") == 1);
  CHECK(sink.events()[1].stage.empty());
}

TEST_CASE("context size of a snapshot holding a real document equals its JSON size", "[context_size][data]") {
  const auto path = testing::shared_data_file("json/twitter.json");
  if (!path) STAGEFLOW_SKIP("../shared/data/json/twitter.json is absent");
  ContextSnapshot snapshot{.metadata = serialization::parse_json(testing::read_file(*path))};
  const auto r = Runner<ContextSizeInterceptor>{}.run(Pipeline<Tiny>{}, snapshot);
  CHECK(r.metric("snapshot", "context_size_bytes") == static_cast<double>(serialization::to_json(snapshot).size()));
}
