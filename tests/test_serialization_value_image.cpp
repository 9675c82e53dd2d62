// SPDX-License-Identifier: BSL-1.0
// ValueImage: equal images exactly when the fingerprints are equal, and an image walks as its value.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/fingerprint.hpp>
#include <stageflow/serialization/fingerprint_tree.hpp>
#include <stageflow/serialization/json_parse.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/serialization/value_image.hpp>

#include <boost/hana/define_struct.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <tuple>
#include <vector>

#include "catch2_shim.hpp"
#include "shared_data.hpp"

using stageflow::ContextSnapshot;
using stageflow::JsonValue;
using stageflow::serialization::changed_fields;
using stageflow::serialization::fingerprint;
using stageflow::serialization::FingerprintTree;
using stageflow::serialization::ValueImage;
namespace ser = stageflow::serialization;

namespace {

struct Profile {
  BOOST_HANA_DEFINE_STRUCT(Profile, (std::string, tier), (std::vector<std::string>, tags));
};

struct Everything {
  BOOST_HANA_DEFINE_STRUCT(Everything, (std::shared_ptr<Profile>, profile), (std::vector<int>, scores),
                           (std::optional<Profile>, backup), (std::unordered_map<std::string, double>, weights),
                           (std::unordered_set<std::string>, tags), (std::map<int, std::string>, names),
                           (std::variant<int, long, std::string>, choice), (float, ratio), (double, score),
                           (long double, precise), (std::uint64_t, big), (bool, flag), (char, letter),
                           (boost::uuids::uuid, id), (std::map<bool, int>, switches),
                           (std::unordered_map<std::uint64_t, int>, by_number));
};

Everything sample() {
  Everything e;
  e.profile = std::make_shared<Profile>(Profile{"gold", {"a", "b"}});
  e.scores = {1, 2, 3};
  e.weights = {{"x", 1.5}, {"y", -2.0}, {"z", 0.0}};
  e.tags = {"red", "green", "blue"};
  e.names = {{3, "three"}, {-1, "minus one"}};
  e.choice = 7L;
  e.ratio = 0.1f;
  e.score = std::numeric_limits<double>::quiet_NaN();
  e.precise = 1.25L;
  e.big = std::numeric_limits<std::uint64_t>::max();
  e.flag = true;
  e.letter = 'q';
  e.id = stageflow::helpers::generate_uuid7();
  e.switches = {{false, 0}, {true, 1}};
  e.by_number = {{1, 1}, {std::numeric_limits<std::uint64_t>::max(), 2}};
  return e;
}

/// Records `value` as an image and as a tree, mutates it, records both again: the images must
/// differ exactly when the fingerprints do, and the fields named from the images must be the
/// fields named from the value. Returns the paths.
template <class T, class Mutate>
std::vector<std::string> image_diff(T& value, Mutate mutate) {
  ValueImage before_image, after_image;
  FingerprintTree before_tree, after_tree;
  before_image.record(value);
  before_tree.record(value);
  mutate(value);
  after_image.record(value);
  after_tree.record(value);
  CHECK((before_image == after_image) == (before_tree.root_hash() == after_tree.root_hash()));

  FingerprintTree from_before, from_after;
  from_before.record(before_image);
  from_after.record(after_image);
  CHECK((from_before.root_hash() == from_after.root_hash()) == (before_image == after_image));
  const auto direct = changed_fields(before_tree, after_tree);
  const auto replayed = changed_fields(from_before, from_after);
  CHECK(replayed.changes == direct.changes);
  CHECK(replayed.truncated == direct.truncated);
  std::vector<std::string> paths;
  for (const auto& change : replayed.changes) paths.push_back(change.path);
  return paths;
}

using Paths = std::vector<std::string>;

}  // namespace

TEST_CASE("an image walks as the value it recorded", "[serialization][image]") {
  const Everything value = sample();
  ValueImage image;
  image.record(value);
  CHECK(!image.empty());
  CHECK(ser::to_json(image) == ser::to_json(value));
  CHECK(ser::byte_count(image) == ser::byte_count(value));
  CHECK(fingerprint(image) == fingerprint(value));
  FingerprintTree tree;
  CHECK(tree.record(image) == fingerprint(value));

  ContextSnapshot snapshot;
  snapshot.run = stageflow::RunIdentity::generate();
  snapshot.messages = {{"user", "hi \"there\"\n"}, {"assistant", ""}};
  snapshot.metadata = ser::parse_json(R"({"b": [1, 2.5, null, true], "a": {"": "empty key"}, "odd key": -3})");
  image.record(snapshot);
  CHECK(ser::to_json(image) == ser::to_json(snapshot));
  CHECK(fingerprint(image) == fingerprint(snapshot));
}

TEST_CASE("equal values give equal images whatever their history", "[serialization][image]") {
  Everything a = sample();
  Everything b = sample();
  b.id = a.id;
  b.weights.clear();
  b.weights.rehash(512);
  b.weights = {{"z", 0.0}, {"y", -2.0}, {"x", 1.5}};  // another insertion order and bucket count
  b.tags.rehash(256);
  b.tags.insert("blue");
  b.score = -std::numeric_limits<double>::quiet_NaN();  // another NaN: one value
  ValueImage ia, ib;
  ia.record(a);
  ib.record(b);
  CHECK(ia == ib);

  ia.record(std::vector<std::int64_t>{7, -1});
  ib.record(std::tuple<std::uint64_t, int>{7, -1});
  CHECK(ia == ib);  // 7 and 7u are one number, as in the fingerprint
}

TEST_CASE("hash containers nested in sequences and in each other are each put in canonical order",
          "[serialization][image]") {
  // Only hash containers keep a frame while recording: a hash map of sequences of hash sets, with
  // a sequence and a sibling hash set after it, checks that each closes into its own order.
  using Nested = std::tuple<std::unordered_map<std::string, std::vector<std::unordered_set<int>>>, std::vector<int>,
                            std::unordered_set<std::string>>;
  Nested a{{{"p", {{1, 2, 3}, {}}}, {"q", {{9}}}}, {5, 4}, {"x", "y", "z"}};
  Nested b;
  auto& map = std::get<0>(b);
  map.rehash(64);
  map["q"] = {{9}};
  std::unordered_set<int> first;
  first.rehash(32);
  for (int i : {3, 1, 2}) first.insert(i);
  map["p"] = {first, {}};
  std::get<1>(b) = {5, 4};
  for (const char* s : {"z", "x", "y"}) std::get<2>(b).insert(s);

  ValueImage ia, ib;
  ia.record(a);
  ib.record(b);
  CHECK(ia == ib);
  CHECK(ser::to_json(ib) == ser::to_json(a));

  std::get<0>(b)["p"][0].insert(4);  // deep inside
  ib.record(b);
  CHECK(ia != ib);
  std::get<0>(b)["p"][0].erase(4);
  std::get<1>(b) = {4, 5};  // a sequence's order counts
  ib.record(b);
  CHECK(ia != ib);
}

TEST_CASE("texts of every length up to 130 bytes are recorded whole", "[serialization][image]") {
  // The recorder copies short texts with overlapping block moves: every length and every position
  // of a changed byte must show.
  ValueImage before, after;
  for (std::size_t size = 0; size <= 130; ++size) {
    std::string text(size, ' ');
    for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
    before.record(text);
    REQUIRE(ser::to_json(before) == ser::to_json(text));
    for (std::size_t i = 0; i < size; ++i) {
      std::string changed = text;
      changed[i] = '#';
      after.record(changed);
      REQUIRE(after != before);
      REQUIRE(ser::to_json(after) == ser::to_json(changed));
    }
  }
}

TEST_CASE("every change makes another image, and is named from the images", "[serialization][image]") {
  Everything value = sample();
  CHECK(image_diff(value, [](Everything&) {}).empty());
  CHECK(image_diff(value, [](Everything& e) { e.profile->tier = "free"; }) == Paths{"profile.tier"});
  CHECK(image_diff(value, [](Everything& e) { e.scores.push_back(4); }) == Paths{"scores[3]"});
  CHECK(image_diff(value, [](Everything& e) { e.backup = Profile{"x", {}}; }) == Paths{"backup"});
  CHECK(image_diff(value, [](Everything& e) { e.weights["y"] = 2.0; }) == Paths{"weights.y"});
  CHECK(image_diff(value, [](Everything& e) { e.tags.erase("red"); }) == Paths{"tags"});
  CHECK(image_diff(value, [](Everything& e) { e.names[3] = "drei"; }) == Paths{"names[\"3\"]"});
  CHECK(image_diff(value, [](Everything& e) { e.choice = 7; }) == Paths{"choice"});  // another alternative
  CHECK(image_diff(value, [](Everything& e) { e.ratio = 0.2f; }) == Paths{"ratio"});
  CHECK(image_diff(value, [](Everything& e) { e.score = 0.0; }) == Paths{"score"});
  CHECK(image_diff(value, [](Everything& e) { e.precise = 1.5L; }) == Paths{"precise"});
  CHECK(image_diff(value, [](Everything& e) { e.big -= 1; }) == Paths{"big"});
  CHECK(image_diff(value, [](Everything& e) { e.flag = false; }) == Paths{"flag"});
  CHECK(image_diff(value, [](Everything& e) { e.letter = 'r'; }) == Paths{"letter"});
  CHECK(image_diff(value, [](Everything& e) { e.id.data[15] ^= 1; }) == Paths{"id"});
  CHECK(image_diff(value, [](Everything& e) { e.switches[true] = 2; }) == Paths{"switches.true"});
  CHECK(image_diff(value, [](Everything& e) { e.by_number[1] = 5; }) == Paths{"by_number[\"1\"]"});
  CHECK(image_diff(value, [](Everything& e) { e.profile.reset(); }) == Paths{"profile"});
}

TEST_CASE("an image keeps its buffers and survives a failed recording", "[serialization][image]") {
  const Everything value = sample();
  ValueImage image;
  image.record(value);
  const std::string copy(image.bytes());
  const std::size_t capacity = image.capacity();
  for (int i = 0; i < 3; ++i) image.record(value);
  CHECK(image.bytes() == copy);
  CHECK(image.capacity() == capacity);  // no reallocation once warm

  struct Link {
    BOOST_HANA_DEFINE_STRUCT(Link, (std::shared_ptr<Link>, next));
  };
  auto loop = std::make_shared<Link>();
  loop->next = loop;
  CHECK_THROWS_AS(image.record(*loop), stageflow::serialization::serialization_error);
  CHECK(image.empty());
  CHECK(image == ValueImage());
  loop->next.reset();
  image.release();
  CHECK(image.capacity() == 0);
}

TEST_CASE("the shared documents through images: unchanged is unchanged, one edit is one path",
          "[serialization][image]") {
  const auto path = stageflow::testing::shared_data_file("json/twitter.json");
  if (!path) STAGEFLOW_SKIP("shared data not found: set STAGEFLOW_DATA_DIR (Meson's data_dir option)");
  ContextSnapshot snapshot;
  snapshot.metadata = ser::parse_json(stageflow::testing::read_file(*path));
  ValueImage image;
  image.record(snapshot);
  CHECK(ser::to_json(image) == ser::to_json(snapshot));
  CHECK(image_diff(snapshot, [](ContextSnapshot&) {}).empty());
  CHECK(image_diff(snapshot, [](ContextSnapshot& s) {
          s.metadata["statuses"].as_array()[57]["user"]["screen_name"] = "renamed";
        }) == Paths{"metadata.statuses[57].user.screen_name"});
}
