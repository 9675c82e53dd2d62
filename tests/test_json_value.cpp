#include <stageflow/core/json_value.hpp>

#include "catch2_shim.hpp"

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
