// SPDX-License-Identifier: BSL-1.0
// Fingerprints and field paths: every mutation route found and named, no false positives.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/serialization/fingerprint.hpp>
#include <stageflow/serialization/fingerprint_tree.hpp>
#include <stageflow/serialization/json_parse.hpp>
#include <stageflow/serialization/named_values.hpp>

#include <boost/hana/define_struct.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "catch2_shim.hpp"
#include "shared_data.hpp"

using stageflow::ContextSnapshot;
using stageflow::JsonValue;
using stageflow::serialization::changed_fields;
using stageflow::serialization::FieldChange;
using stageflow::serialization::FieldDiff;
using stageflow::serialization::fingerprint;
using stageflow::serialization::FingerprintTree;

namespace {

/// prefix + i, built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) on "k" + std::to_string(i).
std::string key(std::string_view prefix, int i) {
  std::string k(prefix);
  k += std::to_string(i);
  return k;
}


struct Profile {
  BOOST_HANA_DEFINE_STRUCT(Profile, (std::string, tier), (std::vector<std::string>, tags));
};

/// What a stage can reach through a const reference: a shared_ptr to non-const data, a mutable
/// member, and data it could const_cast.
struct Context {
  BOOST_HANA_DEFINE_STRUCT(Context, (std::shared_ptr<Profile>, profile), (std::vector<int>, scores),
                           (std::optional<Profile>, backup), (std::unordered_map<std::string, double>, weights),
                           (std::map<int, std::string>, names), (std::variant<int, long, std::string>, choice));
  mutable int cache_hits = 0;  // not reflected: fingerprinting covers what is reflected
};

struct WithMutable {
  BOOST_HANA_DEFINE_STRUCT(WithMutable, (std::string, name), (mutable std::vector<int>, memo));
};

ContextSnapshot sample_snapshot() {
  ContextSnapshot snapshot;
  snapshot.run = stageflow::RunIdentity::generate();
  snapshot.input_text = "what is my plan?";
  snapshot.messages = {{"system", "be brief"}, {"user", "hi"}, {"assistant", "hello"}};
  snapshot.metadata = stageflow::serialization::parse_json(
      R"({"user": {"tier": "gold", "id": 42}, "flags": [true, false], "odd key": 1.5, "empty": null})");
  snapshot.topology = "chat";
  snapshot.execution_mode = "practice";
  return snapshot;
}

/// Records `value`, applies `mutate` to it, records again and returns the changed fields.
template <class T, class Mutate>
FieldDiff diff_after(T& value, Mutate mutate) {
  FingerprintTree before;
  FingerprintTree after;
  before.record(value);
  CHECK(before.root_hash() == fingerprint(value));
  mutate(value);
  after.record(value);
  CHECK(after.root_hash() == fingerprint(value));
  const FieldDiff diff = changed_fields(before, after);
  CHECK(diff.empty() == (before.root_hash() == after.root_hash()));
  return diff;
}

std::vector<std::string> paths(const FieldDiff& diff) {
  std::vector<std::string> result;
  for (const auto& change : diff.changes) result.push_back(change.path);
  return result;
}

using Paths = std::vector<std::string>;

}  // namespace

TEST_CASE("a fingerprint depends only on content", "[serialization][fingerprint]") {
  const ContextSnapshot snapshot = sample_snapshot();
  const ContextSnapshot copy = snapshot;
  CHECK(fingerprint(snapshot) == fingerprint(snapshot));
  CHECK(fingerprint(copy) == fingerprint(snapshot));
  ContextSnapshot other = snapshot;
  other.messages[1].content = "hi!";
  CHECK(fingerprint(other) != fingerprint(snapshot));
}

TEST_CASE("every field of the snapshot is covered", "[serialization][fingerprint]") {
  const ContextSnapshot base = sample_snapshot();
  const std::uint64_t original = fingerprint(base);
  std::vector<void (*)(ContextSnapshot&)> mutations = {
      [](ContextSnapshot& s) { s.run.org_id.data[15] ^= 1; },
      [](ContextSnapshot& s) { s.run.pipeline_run_id.data[0] ^= 0x80; },
      [](ContextSnapshot& s) { s.input_text += " "; },
      [](ContextSnapshot& s) { s.messages.pop_back(); },
      [](ContextSnapshot& s) { s.messages[0].role = "user"; },
      [](ContextSnapshot& s) { s.metadata["user"]["tier"] = "platinum"; },
      [](ContextSnapshot& s) { s.metadata["user"]["id"] = 42.0; },  // same number, now a double
      [](ContextSnapshot& s) { s.metadata["empty"] = false; },
      [](ContextSnapshot& s) { s.metadata["new"] = nullptr; },
      [](ContextSnapshot& s) { s.topology.clear(); },
      [](ContextSnapshot& s) { s.execution_mode = "live"; },
  };
  for (std::size_t i = 0; i < mutations.size(); ++i) {
    INFO("mutation " << i);
    ContextSnapshot changed = base;
    mutations[i](changed);
    CHECK(fingerprint(changed) != original);
  }
}

TEST_CASE("values with the same JSON text but another kind differ", "[serialization][fingerprint]") {
  const std::vector<JsonValue> distinct = {
      JsonValue(1),        JsonValue(1.0),      JsonValue(true),
      JsonValue("1"),      JsonValue(),         JsonValue(0),
      JsonValue(-0.0),     JsonValue(0.0),      JsonValue(""),
      JsonValue::array(),  JsonValue::object(), JsonValue::array({JsonValue()}),
      JsonValue(-1),       JsonValue(std::numeric_limits<std::uint64_t>::max())};
  std::unordered_set<std::uint64_t> seen;
  for (const auto& value : distinct) seen.insert(fingerprint(value));
  CHECK(seen.size() == distinct.size());
  // One number however it was typed.
  CHECK(fingerprint(std::int64_t{7}) == fingerprint(std::uint64_t{7}));
  CHECK(fingerprint(7) == fingerprint(std::uint8_t{7}));
  // A variant's alternative is part of its value even when the JSON text is the same.
  CHECK(fingerprint(std::variant<int, long>(1)) != fingerprint(std::variant<int, long>(1L)));
  CHECK(fingerprint(std::variant<int, long>(1)) == fingerprint(std::variant<int, long>(1)));
  // Containers of the same elements but another shape.
  CHECK(fingerprint(std::vector<int>{1, 2}) != fingerprint(std::vector<int>{12}));
  CHECK(fingerprint(std::vector<std::string>{"ab", "c"}) != fingerprint(std::vector<std::string>{"a", "bc"}));
  CHECK(fingerprint(std::vector<std::vector<int>>{{1}, {}}) != fingerprint(std::vector<std::vector<int>>{{}, {1}}));
}

TEST_CASE("NaN is never a false positive", "[serialization][fingerprint]") {
  const double quiet = std::numeric_limits<double>::quiet_NaN();
  double payload;
  const std::uint64_t bits = 0x7ff8000000000123ULL;  // another NaN payload
  std::memcpy(&payload, &bits, sizeof payload);
  CHECK(fingerprint(quiet) == fingerprint(quiet));
  CHECK(fingerprint(quiet) == fingerprint(payload));
  CHECK(fingerprint(quiet) == fingerprint(-quiet));
  CHECK(fingerprint(static_cast<float>(quiet)) == fingerprint(quiet));
  CHECK(fingerprint(quiet) != fingerprint(std::numeric_limits<double>::infinity()));
  CHECK(fingerprint(quiet) != fingerprint(nullptr));

  JsonValue metadata;
  metadata["score"] = quiet;
  FingerprintTree before;
  FingerprintTree after;
  before.record(metadata);
  after.record(metadata);
  CHECK(changed_fields(before, after).empty());
}

TEST_CASE("hash containers give one fingerprint whatever their history", "[serialization][fingerprint]") {
  std::unordered_map<std::string, std::vector<int>> forward;
  std::unordered_map<std::string, std::vector<int>> backward(3);
  for (int i = 0; i < 200; ++i) forward[key("k", i)] = {i, i + 1};
  for (int i = 199; i >= 0; --i) backward[key("k", i)] = {i, i + 1};
  CHECK(fingerprint(forward) == fingerprint(backward));
  const std::uint64_t before_rehash = fingerprint(forward);
  forward.rehash(10000);
  CHECK(fingerprint(forward) == before_rehash);
  forward.reserve(20000);
  forward.max_load_factor(0.25F);
  CHECK(fingerprint(forward) == before_rehash);

  std::unordered_set<std::string> a{"x", "y", "z"};
  std::unordered_set<std::string> b(100);
  b.insert({"z", "x", "y"});
  CHECK(fingerprint(a) == fingerprint(b));
  // Keys stay attached to their values: swapping two values is a change.
  std::unordered_map<std::string, int> swapped{{"a", 1}, {"b", 2}};
  const std::uint64_t original = fingerprint(swapped);
  swapped["a"] = 2;
  swapped["b"] = 1;
  CHECK(fingerprint(swapped) != original);
}

TEST_CASE("mutation through everything C++ allows on a const object is found", "[serialization][fingerprint]") {
  Context context;
  context.profile = std::make_shared<Profile>(Profile{"gold", {"a", "b"}});
  context.scores = {1, 2, 3};
  context.weights = {{"w", 0.5}};
  const Context& seen = context;  // what a stage gets

  SECTION("through a shared_ptr to non-const data") {
    const FieldDiff diff = diff_after(context, [&](Context&) { seen.profile->tier = "free"; });
    CHECK(paths(diff) == Paths{"profile.tier"});
  }
  SECTION("through a const_cast") {
    const FieldDiff diff = diff_after(context, [&](Context&) { const_cast<std::vector<int>&>(seen.scores)[1] = 20; });
    CHECK(paths(diff) == Paths{"scores[1]"});
  }
  SECTION("through a mutable member") {
    WithMutable value{"n", {1}};
    const WithMutable& view = value;
    const FieldDiff diff = diff_after(value, [&](WithMutable&) { view.memo.push_back(2); });
    REQUIRE(diff.changes.size() == 1);
    CHECK(diff.changes[0] == FieldChange{"memo[1]", FieldChange::Kind::added});
  }
  SECTION("a change that is put back is no change") {
    const FieldDiff diff = diff_after(context, [&](Context&) {
      seen.profile->tags.push_back("c");
      seen.profile->tags.pop_back();
    });
    CHECK(diff.empty());
  }
}

TEST_CASE("field paths name the deepest changed fields", "[serialization][fingerprint][paths]") {
  ContextSnapshot snapshot = sample_snapshot();

  SECTION("nested JSON objects and message fields") {
    const FieldDiff diff = diff_after(snapshot, [](ContextSnapshot& s) {
      s.messages[2].content = "changed";
      s.metadata["user"]["tier"] = "platinum";
    });
    CHECK(paths(diff) == Paths{"messages[2].content", "metadata.user.tier"});
    CHECK(diff.to_string() == "messages[2].content, metadata.user.tier");
  }
  SECTION("added and removed elements and keys") {
    const FieldDiff diff = diff_after(snapshot, [](ContextSnapshot& s) {
      s.messages.push_back({"user", "more"});
      s.metadata.as_object().erase("empty");
      s.metadata["flags"].as_array().pop_back();
      s.metadata["user"]["plan"] = "pro";
    });
    CHECK(diff.changes == std::vector<FieldChange>{{"messages[3]", FieldChange::Kind::added},
                                                   {"metadata.empty", FieldChange::Kind::removed},
                                                   {"metadata.flags[1]", FieldChange::Kind::removed},
                                                   {"metadata.user.plan", FieldChange::Kind::added}});
    CHECK(diff.to_string() ==
          "messages[3] (added), metadata.empty (removed), metadata.flags[1] (removed), metadata.user.plan (added)");
  }
  SECTION("keys that are not identifiers are quoted") {
    const FieldDiff diff = diff_after(snapshot, [](ContextSnapshot& s) {
      s.metadata["odd key"] = 2.5;
      s.metadata["quote\"d"] = 1;
      s.metadata["7up"] = 1;
    });
    CHECK(paths(diff) == Paths{R"(metadata["7up"])", R"(metadata["odd key"])", R"(metadata["quote\"d"])"});
  }
  SECTION("a value that changes kind is reported where it changed") {
    const FieldDiff diff = diff_after(snapshot, [](ContextSnapshot& s) {
      s.metadata["empty"] = JsonValue::object({{"now", 1}});
      s.metadata["user"] = "flattened";
    });
    CHECK(paths(diff) == Paths{"metadata.empty", "metadata.user"});
  }
  SECTION("run identity") {
    const FieldDiff diff = diff_after(snapshot, [](ContextSnapshot& s) { s.run.session_id.data[3] ^= 1; });
    CHECK(paths(diff) == Paths{"run.session_id"});
  }
  SECTION("the whole value") {
    int number = 1;
    CHECK(paths(diff_after(number, [](int& n) { n = 2; })) == Paths{""});
    CHECK(diff_after(number, [](int& n) { n = 3; }).to_string() == "(whole value)");
  }
}

TEST_CASE("field paths through maps, optionals, pointers and variants", "[serialization][fingerprint][paths]") {
  Context context;
  context.profile = std::make_shared<Profile>(Profile{"gold", {"a"}});
  context.names = {{2, "two"}, {10, "ten"}};
  for (int i = 0; i < 30; ++i) context.weights[key("w", i)] = i;

  SECTION("hash map keys, even after a rehash between the two recordings") {
    const FieldDiff diff = diff_after(context, [](Context& c) {
      c.weights.rehash(1000);
      c.weights["w7"] = -1;
      c.weights.erase("w3");
      c.weights["extra"] = 0;
    });
    CHECK(diff.changes == std::vector<FieldChange>{{"weights.extra", FieldChange::Kind::added},
                                                   {"weights.w3", FieldChange::Kind::removed},
                                                   {"weights.w7", FieldChange::Kind::modified}});
  }
  SECTION("a rehash alone is no change") {
    CHECK(diff_after(context, [](Context& c) { c.weights.rehash(5000); }).empty());
  }
  SECTION("integer keys by their text") {
    const FieldDiff diff = diff_after(context, [](Context& c) { c.names[10] = "TEN"; });
    CHECK(paths(diff) == Paths{R"(names["10"])"});
  }
  SECTION("an optional that appears, then changes inside") {
    CHECK(paths(diff_after(context, [](Context& c) { c.backup = Profile{"free", {}}; })) == Paths{"backup"});
    CHECK(paths(diff_after(context, [](Context& c) { c.backup->tags.push_back("x"); })) == Paths{"backup.tags[0]"});
  }
  SECTION("a pointer that is reset, and a change behind a pointer") {
    CHECK(paths(diff_after(context, [](Context& c) { c.profile->tags[0] = "b"; })) == Paths{"profile.tags[0]"});
    CHECK(paths(diff_after(context, [](Context& c) { c.profile.reset(); })) == Paths{"profile"});
  }
  SECTION("a variant that switches alternative, or changes within one") {
    CHECK(paths(diff_after(context, [](Context& c) { c.choice = 0L; })) == Paths{"choice"});
    context.choice = std::string("a");
    CHECK(paths(diff_after(context, [](Context& c) { c.choice = std::string("b"); })) == Paths{"choice"});
  }
  SECTION("a hash set is reported as a whole") {
    std::unordered_set<std::string> set{"a", "b"};
    CHECK(paths(diff_after(set, [](auto& s) { s.insert("c"); })) == Paths{""});
  }
}

TEST_CASE("a snapshot and the outputs a stage sees, recorded as one value", "[serialization][fingerprint][paths]") {
  using stageflow::serialization::named;
  using stageflow::serialization::named_values;
  ContextSnapshot snapshot = sample_snapshot();
  Profile profile{"gold", {"a", "b"}};
  std::optional<std::vector<int>> skipped;  // a skipped stage's output: absent
  auto record = [&](FingerprintTree& tree) {
    return tree.record(named_values(named("snapshot", snapshot), named("fetch_profile", profile),
                                    named("rank-results", skipped)));
  };
  FingerprintTree before;
  FingerprintTree after;
  record(before);
  CHECK(record(after) == before.root_hash());
  CHECK(before.root_hash() == fingerprint(named_values(named("snapshot", snapshot), named("fetch_profile", profile),
                                                       named("rank-results", skipped))));
  snapshot.metadata["user"]["tier"] = "free";
  profile.tags[1] = "z";
  skipped = std::vector<int>{1};
  record(after);
  CHECK(paths(changed_fields(before, after)) ==
        Paths{"snapshot.metadata.user.tier", "fetch_profile.tags[1]", R"(["rank-results"])"});
}

TEST_CASE("the number of reported changes is capped", "[serialization][fingerprint][paths]") {
  std::vector<int> values(100, 0);
  FingerprintTree before;
  FingerprintTree after;
  before.record(values);
  for (auto& v : values) ++v;
  after.record(values);
  const FieldDiff diff = changed_fields(before, after, {.max_changes = 3});
  CHECK(paths(diff) == Paths{"[0]", "[1]", "[2]"});
  CHECK(diff.truncated);
  CHECK(diff.to_string() == "[0], [1], [2] and more");
  CHECK(changed_fields(before, after).changes.size() == 16);
}

TEST_CASE("a fingerprint tree reuses its buffers", "[serialization][fingerprint]") {
  const ContextSnapshot snapshot = sample_snapshot();
  FingerprintTree tree;
  tree.record(snapshot);
  const std::size_t nodes = tree.size();
  const std::size_t capacity = tree.nodes().capacity();
  for (int i = 0; i < 3; ++i) CHECK(tree.record(snapshot) == fingerprint(snapshot));
  CHECK(tree.size() == nodes);
  CHECK(tree.nodes().capacity() == capacity);  // no reallocation once warm
  // One node per value: the snapshot, its 6 members, 6 ids, 3 messages with 2 members, metadata.
  CHECK(nodes > 1 + 6 + 6 + 3 * 3);
}

TEST_CASE("a failed recording leaves an empty tree, never half a tree", "[serialization][fingerprint]") {
  struct Link {
    BOOST_HANA_DEFINE_STRUCT(Link, (std::shared_ptr<Link>, next));
  };
  auto loop = std::make_shared<Link>();
  loop->next = loop;
  FingerprintTree tree;
  tree.record(std::vector<int>{1, 2});
  CHECK_THROWS_AS(tree.record(*loop), stageflow::serialization::serialization_error);
  CHECK(tree.empty());
  CHECK(tree.root_hash() == 0);
  CHECK_THROWS_AS(fingerprint(*loop), stageflow::serialization::serialization_error);
  CHECK(fingerprint(std::vector<int>{1, 2}) == FingerprintTree().record(std::vector<int>{1, 2}));
  loop->next.reset();
}

TEST_CASE("the shared documents: unchanged is unchanged, one edit is one path", "[serialization][fingerprint]") {
  const auto path = stageflow::testing::shared_data_file("json/twitter.json");
  if (!path) STAGEFLOW_SKIP("shared data not found: set STAGEFLOW_DATA_DIR (Meson's data_dir option)");
  ContextSnapshot snapshot;
  snapshot.metadata = stageflow::serialization::parse_json(stageflow::testing::read_file(*path));
  const FieldDiff none = diff_after(snapshot, [](ContextSnapshot&) {});
  CHECK(none.empty());
  const FieldDiff diff = diff_after(snapshot, [](ContextSnapshot& s) {
    s.metadata["statuses"].as_array()[57]["user"]["screen_name"] = "renamed";
  });
  CHECK(paths(diff) == Paths{"metadata.statuses[57].user.screen_name"});
}
