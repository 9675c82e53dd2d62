// SPDX-License-Identifier: BSL-1.0
// from_json<T>: reads back what to_json writes, for every walkable kind that owns its data, and
// names the path of JSON that does not fit.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/serialization/from_json.hpp>
#include <stageflow/serialization/json_writer.hpp>

#include <boost/hana/define_struct.hpp>
#include <boost/uuid/uuid.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "catch2_shim.hpp"
#include "shared_data.hpp"

using stageflow::ContextSnapshot;
using stageflow::from_json;
using stageflow::FromJsonError;
using stageflow::JsonValue;
using stageflow::serialization::to_json;

namespace {

enum class Tier : std::uint8_t { free = 1, gold = 7 };
enum Plain : int { plain_minus = -3 };

/// A class with private state, walked through walk_as, read back through its from_view.
class Money {
 public:
  Money() = default;
  explicit Money(std::int64_t cents) : cents_(cents) {}
  std::int64_t cents() const { return cents_; }
  friend bool operator==(const Money&, const Money&) = default;

 private:
  std::int64_t cents_ = 0;
};

struct Inner {
  BOOST_HANA_DEFINE_STRUCT(Inner, (std::string, name), (std::optional<int>, score));
  friend bool operator==(const Inner&, const Inner&) = default;
};

struct Everything {
  BOOST_HANA_DEFINE_STRUCT(Everything,
    (bool, flag), (char, letter), (std::int8_t, small), (std::uint64_t, big), (std::int64_t, negative),
    (Tier, tier), (Plain, plain), (double, ratio), (float, single), (std::string, text),
    (std::nullptr_t, nothing), (std::monostate, mono), (std::optional<std::string>, maybe),
    (std::optional<std::string>, absent), (std::variant<std::int64_t, std::string, Inner>, choice),
    (std::unique_ptr<Inner>, owned), (std::shared_ptr<Inner>, shared), (std::unique_ptr<Inner>, null_owned),
    (std::vector<Inner>, list), (std::deque<int>, deque), (std::list<std::string>, linked),
    (std::vector<bool>, bits), (std::array<int, 3>, fixed), (std::pair<int, std::string>, pair),
    (std::tuple<bool, double, std::string>, tuple), (std::set<std::string>, set),
    (std::unordered_set<int>, hashed_set), (std::map<std::string, Inner>, by_name),
    (std::unordered_map<std::int64_t, int>, by_number), (std::map<bool, int>, by_flag),
    (std::map<Tier, std::string>, by_tier), (std::map<boost::uuids::uuid, int>, by_id),
    (boost::uuids::uuid, id), (JsonValue, json), (Money, money), (std::vector<std::vector<int>>, nested));
};

bool operator==(const Everything& a, const Everything& b) {
  // unique_ptr and shared_ptr compare by address: compare what they point at.
  const auto same = [](const auto& x, const auto& y) { return (x == nullptr) == (y == nullptr) && (!x || *x == *y); };
  return to_json(a) == to_json(b) && same(a.owned, b.owned) && same(a.shared, b.shared) &&
         same(a.null_owned, b.null_owned);
}

Everything sample() {
  Everything e;
  e.flag = true;
  e.letter = 'q';
  e.small = -128;
  e.big = std::numeric_limits<std::uint64_t>::max();
  e.negative = std::numeric_limits<std::int64_t>::min();
  e.tier = Tier::gold;
  e.plain = plain_minus;
  e.ratio = 0.1;
  e.single = 1.5f;
  e.text = "quote \" backslash \\ newline \n nul \0 end";
  e.text += std::string(1, '\0') + "\xc3\xa9";
  e.maybe = "here";
  e.choice = Inner{"in a variant", 3};
  e.owned = std::make_unique<Inner>(Inner{"owned", std::nullopt});
  e.shared = std::make_shared<Inner>(Inner{"shared", 9});
  e.list = {{"a", 1}, {"b", std::nullopt}};
  e.deque = {1, 2, 3};
  e.linked = {"x", "y"};
  e.bits = {true, false, true};
  e.fixed = {7, 8, 9};
  e.pair = {4, "four"};
  e.tuple = {false, -2.5e-300, "t"};
  e.set = {"b", "a"};
  e.hashed_set = {5, 3, 1};
  e.by_name = {{"k", {"v", 1}}, {"", {"empty key", 2}}};
  e.by_number = {{-1, 1}, {10, 2}, {std::numeric_limits<std::int64_t>::min(), 3}};
  e.by_flag = {{true, 1}, {false, 0}};
  e.by_tier = {{Tier::free, "free"}, {Tier::gold, "gold"}};
  boost::uuids::uuid id{};
  for (std::size_t i = 0; i < 16; ++i) id.data[i] = static_cast<std::uint8_t>(i * 17);
  e.id = id;
  e.by_id = {{id, 1}, {boost::uuids::uuid{}, 2}};
  e.json = JsonValue::object({{"a", JsonValue::array({1, 1.0, true, nullptr, "s"})}, {"b", JsonValue::object()}});
  e.money = Money(1234);
  e.nested = {{}, {1}, {2, 3}};
  return e;
}

std::string error_of(auto read) {
  try {
    read();
  } catch (const FromJsonError& error) {
    return error.what();
  }
  FAIL("no FromJsonError");
  return {};
}

}  // namespace

template <>
struct stageflow::serialization::walk_as<Money> {
  static std::int64_t view(const Money& m) { return m.cents(); }
  static Money from_view(std::int64_t cents) { return Money(cents); }
};

TEST_CASE("every walkable kind round-trips through to_json and from_json", "[serialization][from_json]") {
  const Everything original = sample();
  const std::string text = to_json(original);
  const Everything read = from_json<Everything>(text);
  CHECK(read == original);
  CHECK(to_json(read) == text);
  // From a JsonValue as well as from text.
  CHECK(from_json<Everything>(stageflow::serialization::parse_json(text)) == original);
  CHECK(read.choice.index() == 2);
  CHECK(read.money == Money(1234));  // rebuilt through walk_as<Money>::from_view
  CHECK(!read.absent.has_value());
  CHECK(read.null_owned == nullptr);
}

TEST_CASE("scalars keep their type and range", "[serialization][from_json]") {
  CHECK(from_json<int>("42") == 42);
  CHECK(from_json<double>("1.0") == 1.0);
  CHECK(from_json<double>("3") == 3.0);  // an integer is a fine double
  CHECK(std::isnan(from_json<double>("null")));
  CHECK(from_json<std::uint64_t>("18446744073709551615") == std::numeric_limits<std::uint64_t>::max());
  CHECK(from_json<std::string>(std::string("\"s\"")) == "s");
  CHECK(from_json<JsonValue>("[1,2]") == JsonValue::array({1, 2}));
  CHECK(from_json<JsonValue>(JsonValue("text")) == JsonValue("text"));
  CHECK(error_of([] { from_json<int>("1.0"); }) == "(root): expected an integer, found a floating-point number");
  CHECK(error_of([] { from_json<std::uint8_t>("256"); }) == "(root): integer 256 out of range [0, 255]");
  CHECK(error_of([] { from_json<std::int8_t>("-129"); }) == "(root): integer -129 out of range [-128, 127]");
  CHECK(error_of([] { from_json<unsigned>("-1"); }) == "(root): integer -1 out of range [0, 4294967295]");
  CHECK(error_of([] { from_json<bool>("1"); }) == "(root): expected a boolean, found an integer");
  CHECK(error_of([] { from_json<char>("\"ab\""); }) == "(root): expected a one-character string, found 2 bytes");
  CHECK(error_of([] { from_json<std::nullptr_t>("0"); }) == "(root): expected null, found an integer");
  CHECK(error_of([] { from_json<boost::uuids::uuid>("\"nope\""); }) ==
        "(root): expected a UUID (8-4-4-4-12 hex digits)");
  CHECK_THROWS_AS(from_json<int>("{"), stageflow::JsonParseError);
}

TEST_CASE("a mismatch names its path", "[serialization][from_json]") {
  ContextSnapshot snapshot;
  snapshot.messages = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}};
  JsonValue json = stageflow::serialization::parse_json(to_json(snapshot));
  json["messages"].as_array()[2]["role"] = 7;
  const std::string message = error_of([&] { from_json<ContextSnapshot>(json); });
  CHECK(message == "messages[2].role: expected a string, found an integer");

  CHECK(error_of([] { from_json<ContextSnapshot>(R"({"run":{}})"); }) == "run.pipeline_run_id: missing member");
  CHECK(error_of([] { from_json<std::map<std::string, std::vector<int>>>(R"({"k":[1,"x"]})"); }) ==
        R"(["k"][1]: expected an integer, found a string)");
  CHECK(error_of([] { from_json<std::map<int, int>>(R"({"01":1})"); }) == R"(["01"]: expected an integer key)");
  // Keys in the path are escaped: a NUL in a key does not cut the message short (found by fuzz_from_json).
  CHECK(error_of([] { from_json<std::map<std::string, int>>(R"({"a\u0000\"b":"x"})"); }) ==
        R"(["a\u0000\"b"]: expected an integer, found a string)");
  CHECK(error_of([] { from_json<std::map<std::uint8_t, int>>(R"({"300":1})"); }) ==
        R"(["300"]: integer 300 out of range [0, 255])");
  CHECK(error_of([] { from_json<std::map<bool, int>>(R"({"yes":1})"); }) == R"(["yes"]: expected the key true or false)");
  CHECK(error_of([] { from_json<std::array<int, 2>>("[1]"); }) == "(root): expected an array of 2 elements, found 1");
  CHECK(error_of([] { from_json<std::pair<int, int>>("[1,2,3]"); }) ==
        "(root): expected an array of 2 elements, found 3");
  CHECK(error_of([] { from_json<std::set<int>>("[1,1]"); }) == "[1]: a repeated element of a set");
  CHECK(error_of([] { from_json<std::vector<int>>("{}"); }) == "(root): expected an array, found an object");
  CHECK(error_of([] { from_json<std::tuple<int, std::string>>(R"([1,2])"); }) ==
        "[1]: expected a string, found an integer");
  CHECK(error_of([] { from_json<std::variant<int, std::string>>("true"); }) ==
        "(root): matches no alternative of the variant (the first says: expected an integer, found a boolean)");
  CHECK(error_of([] { from_json<std::vector<Inner>>(R"([{"name":"a"},{"name":1}])"); }) ==
        "[1].name: expected a string, found an integer");
}

TEST_CASE("optional members may be absent, extra members are ignored", "[serialization][from_json]") {
  CHECK(from_json<Inner>(R"({"name":"n"})") == Inner{"n", std::nullopt});
  CHECK(from_json<Inner>(R"({"name":"n","score":null,"other":[1]})") == Inner{"n", std::nullopt});
  CHECK(from_json<Inner>(R"({"name":"n","score":4})") == Inner{"n", 4});
}

TEST_CASE("a variant takes the first alternative that reads the JSON", "[serialization][from_json]") {
  using V = std::variant<std::monostate, std::int64_t, double, std::string, std::vector<int>>;
  for (const V& v : {V{}, V{std::int64_t{5}}, V{5.0}, V{std::string("s")}, V{std::vector<int>{1}}}) {
    const V back = from_json<V>(to_json(v));
    CHECK(back.index() == v.index());
    CHECK(back == v);
  }
}

TEST_CASE("a snapshot of a real document round-trips", "[serialization][from_json][corpus]") {
  const auto path = stageflow::testing::shared_data_file("json/twitter.json");
  if (!path) STAGEFLOW_SKIP("shared data absent: no json/twitter.json under STAGEFLOW_DATA_DIR");
  ContextSnapshot snapshot;
  snapshot.run = stageflow::RunIdentity::generate();
  snapshot.input_text = "hello";
  snapshot.messages = {{"user", "hi"}, {"assistant", "hello"}};
  snapshot.metadata = stageflow::serialization::parse_json(stageflow::testing::read_file(*path));
  const std::string text = to_json(snapshot);
  CHECK(from_json<ContextSnapshot>(text) == snapshot);
}

TEST_CASE("pointer nesting deeper than max_walk_depth is an error, not a stack overflow", "[serialization][from_json]") {
  struct Node {
    BOOST_HANA_DEFINE_STRUCT(Node, (std::vector<std::unique_ptr<Node>>, children));
  };
  JsonValue deep = JsonValue::object({{"children", JsonValue::array()}});
  // Each level is a struct, a vector and a pointer: three levels of the reader's depth count. (Not
  // deeper: building and destroying the JsonValue recurses too, and a sanitizer's frames are large.)
  for (std::size_t i = 0; i < stageflow::serialization::max_walk_depth / 3 + 10; ++i)
    deep = JsonValue::object({{"children", JsonValue::array({std::move(deep)})}});
  CHECK_THROWS_AS(from_json<Node>(deep), FromJsonError);
}
