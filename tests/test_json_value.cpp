// SPDX-License-Identifier: BSL-1.0
#include <stageflow/core/json_value.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/fingerprint.hpp>
#include <stageflow/serialization/json_writer.hpp>

#include "catch2_shim.hpp"

#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using stageflow::JsonValue;

TEST_CASE("JsonValue keeps numbers, booleans and strings apart", "[json_value]") {
  CHECK(JsonValue(1) != JsonValue(1.0));
  CHECK(JsonValue(1) != JsonValue(true));
  CHECK(JsonValue(1.0) != JsonValue(true));
  CHECK(JsonValue("1") != JsonValue(1));
  CHECK(JsonValue(nullptr) == JsonValue());
  CHECK(JsonValue(1) == JsonValue(std::int64_t{1}));
}

TEST_CASE("JsonValue stores an unsigned integer as a signed one when it fits", "[json_value]") {
  CHECK(JsonValue(7u) == JsonValue(7));
  CHECK(JsonValue(7u).kind() == JsonValue::Kind::integer);
  const JsonValue big(std::uint64_t{1} << 63);
  CHECK(big.kind() == JsonValue::Kind::unsigned_integer);
  CHECK(big.as_uint() == (std::uint64_t{1} << 63));
  CHECK(big.is_integer());
}

TEST_CASE("JsonValue objects are ordered by key whatever the insertion order", "[json_value]") {
  JsonValue a;
  a["zeta"] = 1;
  a["alpha"] = 2;
  JsonValue b = JsonValue::object({{"alpha", 2}, {"zeta", 1}});
  CHECK(a == b);
  CHECK(a.as_object().begin()->first == "alpha");
  CHECK(a.size() == 2);
}

TEST_CASE("JsonValue member and element access", "[json_value]") {
  JsonValue doc;
  doc["user"]["tier"] = "gold";
  doc["tags"].push_back("a");
  doc["tags"].push_back(2);
  REQUIRE(doc.find("user") != nullptr);
  CHECK(doc.at("user").at("tier").as_string() == "gold");
  CHECK(doc.at("tags").size() == 2);
  CHECK(doc.find("missing") == nullptr);
  CHECK_THROWS_AS(doc.at("missing"), std::out_of_range);
  CHECK_THROWS_AS(doc.at("tags").as_string(), std::bad_variant_access);
  CHECK(JsonValue(3).find("x") == nullptr);
}

TEST_CASE("JsonObject keeps its members sorted, each key once, through every kind of change", "[json_value]") {
  using stageflow::JsonObject;
  JsonObject object;
  CHECK(object.empty());
  CHECK(object.try_emplace("m", 1).second);
  CHECK(object.emplace("c", "three").second);
  CHECK(object.insert({"x", true}).second);
  CHECK_FALSE(object.try_emplace("m", 2).second);  // present: left alone
  CHECK(object.at("m") == JsonValue(1));
  CHECK_FALSE(object.insert({"c", 0}).second);
  CHECK(object.at("c") == JsonValue("three"));
  CHECK_FALSE(object.insert_or_assign("m", 5).second);  // present: assigned
  CHECK(object.at("m") == JsonValue(5));
  CHECK(object.insert_or_assign("a", nullptr).second);
  object["b"] = 2.5;  // inserted as null, then assigned

  std::vector<std::string> keys;
  for (const auto& [key, value] : object) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"a", "b", "c", "m", "x"});
  CHECK(object.size() == 5);
  CHECK(object.count("x") == 1);
  CHECK(object.count("y") == 0);
  CHECK(object.find("y") == object.end());
  CHECK(object.lower_bound("d")->first == "m");
  CHECK(object.lower_bound("zz") == object.end());
  CHECK_THROWS_AS(object.at("y"), std::out_of_range);

  CHECK(object.erase("c") == 1);
  CHECK(object.erase("c") == 0);
  object.erase(object.find("a"));
  keys.clear();
  for (const auto& member : object) keys.push_back(member.first);
  CHECK(keys == std::vector<std::string>{"b", "m", "x"});
  object.clear();
  CHECK(object.empty());
}

TEST_CASE("JsonObject from a list keeps the first of a repeated key, from members the last", "[json_value]") {
  using stageflow::JsonObject;
  const JsonObject listed{{"b", 1}, {"a", 2}, {"b", 3}};  // as std::map would
  CHECK(listed.size() == 2);
  CHECK(listed.at("b") == JsonValue(1));
  CHECK(listed.begin()->first == "a");

  JsonObject::container_type members;  // as a JSON parser sees them
  for (auto [key, value] : {std::pair{"b", 1}, {"a", 2}, {"b", 3}, {"c", 4}, {"a", 5}})
    members.emplace_back(key, value);
  const JsonObject parsed = JsonObject::from_members(std::move(members));
  CHECK(parsed == JsonObject{{"a", 5}, {"b", 3}, {"c", 4}});

  JsonObject::container_type sorted;
  sorted.emplace_back("a", 1);
  sorted.emplace_back("b", 2);
  CHECK(JsonObject::from_members(std::move(sorted)) == JsonObject{{"a", 1}, {"b", 2}});
  CHECK(JsonObject::from_members({}).empty());
}

TEST_CASE("JsonObject lookups take any string view, keys of any bytes", "[json_value]") {
  JsonValue doc;
  const std::string with_nul("a\0b", 3);
  doc[with_nul] = 1;
  doc["a"] = 2;
  doc["\xC3\xA9"] = 3;  // sorted by bytes, unsigned: after every ASCII key
  doc["z"] = 4;
  REQUIRE(doc.find(std::string_view(with_nul)) != nullptr);
  CHECK(*doc.find(std::string_view(with_nul)) == JsonValue(1));
  CHECK(doc.as_object().begin()->first == "a");
  CHECK(std::prev(doc.as_object().end())->first == "\xC3\xA9");
}

namespace {
// A value nested `depth` levels, built without recursion (as a converter from another JSON library
// may build it): arrays, or objects when `objects`.
JsonValue deep_value(std::size_t depth, bool objects) {
  JsonValue value = objects ? JsonValue::object() : JsonValue::array();
  for (std::size_t i = 1; i < depth; ++i) {
    JsonValue outer = objects ? JsonValue::object() : JsonValue::array();
    if (objects)
      outer.as_object().emplace("k", std::move(value));
    else
      outer.as_array().push_back(std::move(value));
    value = std::move(outer);
  }
  return value;
}
}  // namespace

// Issue 25, defect 9: a value nested 1,000,000 levels overflowed the stack in ~JsonValue (and in
// the walk and to_json). It is destroyed without recursion, and the walk and every writer stop at
// max_walk_depth with a SerializationError.
TEST_CASE("a JsonValue nested a million levels is destroyed, and written only as a clear error", "[json_value][deep]") {
  namespace ser = stageflow::serialization;
  for (const bool objects : {false, true}) {
    INFO((objects ? "objects" : "arrays"));
    JsonValue deep = deep_value(1'000'000, objects);
    CHECK_THROWS_WITH(ser::to_json(deep), Catch::Contains("nested deeper than 2048 levels"));
    CHECK_THROWS_AS(ser::to_json(deep), ser::SerializationError);
    CHECK_THROWS_AS(ser::byte_count(deep), ser::SerializationError);
    CHECK_THROWS_AS(ser::fingerprint(deep), ser::SerializationError);
    std::string out = "kept";
    CHECK_THROWS_AS(ser::append_json(out, deep), ser::SerializationError);
    CHECK(out == "kept");
    // Moved, assigned over and destroyed: no recursion.
    JsonValue moved = std::move(deep);
    moved = deep_value(1'000'000, !objects);
    JsonValue holder = JsonValue::array();
    holder.as_array().push_back(std::move(moved));
  }
  // At the limit, a value is still written.
  const JsonValue at_limit = deep_value(ser::max_walk_depth, false);
  const std::string text = ser::to_json(at_limit);
  CHECK(text.size() == 2 * ser::max_walk_depth);
  CHECK_THROWS_AS(ser::to_json(deep_value(ser::max_walk_depth + 1, false)), ser::SerializationError);
}
