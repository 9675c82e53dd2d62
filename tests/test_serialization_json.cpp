// SPDX-License-Identifier: BSL-1.0
// Canonical JSON (to_json) and its exact size (byte_count): one walk, the same bytes.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/json/detail/escape.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/json_parse.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/serialization/named_values.hpp>

#include <boost/hana/adapt_struct.hpp>
#include <boost/container_hash/hash.hpp>
#include <boost/hana/define_struct.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "catch2_shim.hpp"
#include "shared_data.hpp"

#if __has_include(<nlohmann/json.hpp>)
#  include <nlohmann/json.hpp>
#  define STAGEFLOW_HAVE_NLOHMANN 1
#endif

using stageflow::ContextSnapshot;
using stageflow::JsonValue;
using stageflow::serialization::byte_count;
using stageflow::serialization::JsonWriter;
using stageflow::serialization::parse_json;
using stageflow::serialization::to_json;

namespace {

/// The writer's text, after checking that the counter agrees with it to the byte.
template <class T>
std::string json_of(const T& value) {
  const std::string text = to_json(value);
  CHECK(byte_count(value) == text.size());
  return text;
}

enum class Tier : std::uint8_t { free = 1, gold = 7 };
enum Plain : int { plain_minus = -3 };

struct User {
  BOOST_HANA_DEFINE_STRUCT(User, (std::string, name), (std::optional<int>, age), (Tier, tier));
};

struct Adapted {
  int zeta = 1;
  std::string alpha = "a";
};

struct Holder {
  BOOST_HANA_DEFINE_STRUCT(Holder, (std::shared_ptr<User>, shared), (std::unique_ptr<User>, unique),
                           (std::variant<std::monostate, int, std::string>, choice),
                           (std::vector<std::optional<double>>, values));
};

/// A class with private state, made walkable with walk_as.
class Money {
 public:
  explicit Money(std::int64_t cents) : cents_(cents) {}
  std::int64_t cents() const { return cents_; }

 private:
  std::int64_t cents_;
};

struct Node {
  BOOST_HANA_DEFINE_STRUCT(Node, (int, id), (std::shared_ptr<Node>, next));
};

}  // namespace

BOOST_HANA_ADAPT_STRUCT(Adapted, zeta, alpha);

template <>
struct stageflow::serialization::walk_as<Money> {
  static std::int64_t view(const Money& money) { return money.cents(); }
};

TEST_CASE("scalars have one canonical text", "[serialization][json]") {
  CHECK(json_of(nullptr) == "null");
  CHECK(json_of(true) == "true");
  CHECK(json_of(false) == "false");
  CHECK(json_of(0) == "0");
  CHECK(json_of(-42) == "-42");
  CHECK(json_of(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
  CHECK(json_of(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615");
  CHECK(json_of(std::int8_t{-128}) == "-128");
  CHECK(json_of(std::uint8_t{255}) == "255");
  CHECK(json_of('x') == "\"x\"");
  CHECK(json_of(Tier::gold) == "7");
  CHECK(json_of(plain_minus) == "-3");
  CHECK(json_of(std::monostate{}) == "null");
  CHECK(json_of(Money(1999)) == "1999");
}

TEST_CASE("integer sizes are exact at every digit boundary", "[serialization][json]") {
  std::uint64_t power = 1;
  for (int digits = 1; digits <= 20; ++digits) {
    for (const std::uint64_t value : {power - 1, power, power + 1}) {
      CHECK(json_of(value) == std::to_string(value));
      if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        const auto negative = -static_cast<std::int64_t>(value);
        CHECK(json_of(negative) == std::to_string(negative));
      }
    }
    if (digits < 20) power *= 10;
  }
}

TEST_CASE("floating point is the shortest text that reads back to the same value", "[serialization][json]") {
  CHECK(json_of(0.1) == "0.1");
  CHECK(json_of(1.0) == "1.0");  // stays a double through a round trip
  CHECK(json_of(-0.0) == "-0.0");
  CHECK(json_of(123456789.0) == "123456789.0");
  CHECK(json_of(1e300) == "1e+300");
  CHECK(json_of(2.5e-8) == "2.5e-08");
  CHECK(json_of(0.1f) == "0.1");  // a float's own shortest text, not the double's
  CHECK(json_of(std::numeric_limits<double>::denorm_min()) == "5e-324");
  CHECK(json_of(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
  CHECK(json_of(1.5L) == "1.5");

  std::mt19937_64 random(20240611);
  for (int i = 0; i < 2000; ++i) {
    // Any bit pattern: every exponent and mantissa shape.
    const std::uint64_t bits = random();
    double value;
    std::memcpy(&value, &bits, sizeof value);
    if (!std::isfinite(value)) continue;
    const std::string text = json_of(value);
    const JsonValue back = parse_json(text);
    REQUIRE(back.is_floating());
    const double read = back.as_double();
    CHECK(std::memcmp(&read, &value, sizeof value) == 0);
  }
}

TEST_CASE("NaN and the infinities are written as null", "[serialization][json]") {
  CHECK(json_of(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(json_of(std::numeric_limits<double>::infinity()) == "null");
  CHECK(json_of(-std::numeric_limits<float>::infinity()) == "null");
  CHECK(json_of(std::vector<double>{1.5, std::nan("1"), 2.0}) == "[1.5,null,2.0]");
}

TEST_CASE("strings are escaped minimally", "[serialization][json]") {
  CHECK(json_of(std::string("plain")) == "\"plain\"");
  CHECK(json_of(std::string_view("q\"b\\s/")) == R"("q\"b\\s/")");
  CHECK(json_of(std::string("\b\f\n\r\t")) == R"("\b\f\n\r\t")");
  CHECK(json_of(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\x7f\"");
  CHECK(json_of(std::string("\0z", 2)) == R"("\u0000z")");
  CHECK(json_of(std::string("café ☕ 𝄞")) == "\"café ☕ 𝄞\"");  // UTF-8 bytes as they are
  const char* null_text = nullptr;
  CHECK(json_of(null_text) == "null");
  CHECK(json_of("literal") == "\"literal\"");
  const char fixed[8] = {'a', 'b', '\0', 'x'};
  CHECK(json_of(fixed) == "\"ab\"");  // up to the first NUL
}

TEST_CASE("every byte at every position of the fast path is escaped and counted right", "[serialization][json]") {
  // The scanner looks at 16 and 8 bytes at a time, then byte by byte: put each special byte at
  // each offset of strings of every length around those blocks, alone and next to another one.
  stageflow::serialization::JsonParser parser;
  for (int byte = 0; byte < 128; ++byte) {
    for (std::size_t length = 1; length <= 35; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(byte);
        if (at + 1 < length && byte % 3 == 0) text[at + 1] = '"';
        const std::string json = to_json(text);
        REQUIRE(byte_count(text) == json.size());
        REQUIRE(parser.parse(json).as_string() == text);
      }
    }
  }
  // Bytes above 0x7F are never escaped.
  std::string high;
  for (int byte = 0x80; byte < 0x100; ++byte) high += static_cast<char>(byte);
  CHECK(json_of(high) == "\"" + high + "\"");
}

namespace {

/// The escaping rules written the plainest way, one byte at a time: what the block scanner of
/// json/detail/escape.hpp must reproduce to the byte.
std::string reference_json_string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

/// Checks the escaper, the counter and to_json against the reference, on a copy of `text` in a heap
/// block of exactly its size (so a sanitizer build catches any read past either end).
void check_against_reference(const std::string& text) {
  const std::unique_ptr<char[]> exact(new char[text.size()]);
  std::memcpy(exact.get(), text.data(), text.size());
  const std::string_view view(exact.get(), text.size());
  const std::string expected = reference_json_string(text);
  std::string written = "[";  // appended after other text, as the writer does
  stageflow::detail::append_json_string(written, view);
  REQUIRE(written == "[" + expected);
  REQUIRE(stageflow::detail::json_string_size(view) == expected.size());
  REQUIRE(to_json(text) == expected);
  REQUIRE(byte_count(text) == expected.size());
}

}  // namespace

TEST_CASE("the block escaper matches a byte-at-a-time reference", "[serialization][json]") {
  SECTION("the empty string and default-constructed views") {
    CHECK(stageflow::detail::json_string_size(std::string_view()) == 2);
    std::string out;
    stageflow::detail::append_json_string(out, std::string_view());
    CHECK(out == "\"\"");
    check_against_reference("");
  }
  SECTION("every byte value at every position of every length 1..40, also beside a quote") {
    // Lengths cover the short gather (1..7), the overlapping 8-byte tail (8..15) and the
    // overlapping 16-byte tail (16..40); each byte value sits at each offset.
    for (std::size_t length = 1; length <= 40; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        for (int byte = 0; byte < 256; ++byte) {
          std::string text(length, 'x');
          text[at] = static_cast<char>(byte);
          check_against_reference(text);
          if (length > 1) {
            text[(at + 1) % length] = '\\';  // two escapes, one of them maybe wrapped to the front
            check_against_reference(text);
          }
        }
      }
    }
  }
  SECTION("strings made only of escapes, and bytes next to the special ones") {
    for (std::size_t length = 0; length <= 40; ++length) {
      for (const char c : {'"', '\\', '\n', '\x01', '\x1f', ' ', '!', '#', '[', ']', '\x7f', '\x80', '\xff'}) {
        check_against_reference(std::string(length, c));
      }
    }
  }
  SECTION("random strings of random lengths, biased towards the bytes that matter") {
    std::mt19937_64 random(20261201);
    const std::string interesting = std::string("\"\\\b\f\n\r\t\x1f\x20\x21\x5b\x5d\x7f\x80\xc3\xa9\xff", 17) + '\0';
    for (int round = 0; round < 20000; ++round) {
      const std::size_t length = round < 10000 ? random() % 41 : random() % 300;
      std::string text(length, '\0');
      for (auto& c : text) {
        const auto pick = random() % 4;
        c = pick == 0 ? interesting[random() % interesting.size()] : static_cast<char>(pick == 1 ? random() % 256 : 'a' + random() % 26);
      }
      check_against_reference(text);
    }
  }
}

TEST_CASE("Hana structs are objects with members in declaration order", "[serialization][json]") {
  CHECK(json_of(User{"ada", 36, Tier::gold}) == R"({"name":"ada","age":36,"tier":7})");
  CHECK(json_of(User{"bob", std::nullopt, Tier::free}) == R"({"name":"bob","age":null,"tier":1})");
  CHECK(json_of(Adapted{}) == R"({"zeta":1,"alpha":"a"})");  // BOOST_HANA_ADAPT_STRUCT, not sorted

  Holder holder;
  CHECK(json_of(holder) == R"({"shared":null,"unique":null,"choice":null,"values":[]})");
  holder.shared = std::make_shared<User>(User{"s", 1, Tier::free});
  holder.unique = std::make_unique<User>(User{"u", std::nullopt, Tier::gold});
  holder.choice = std::string("text");
  holder.values = {1.5, std::nullopt};
  CHECK(json_of(holder) ==
        R"({"shared":{"name":"s","age":1,"tier":1},"unique":{"name":"u","age":null,"tier":7},)"
        R"("choice":"text","values":[1.5,null]})");
  holder.choice = 3;
  CHECK(json_of(holder.choice) == "3");
}

TEST_CASE("sequences, tuples and arrays are JSON arrays", "[serialization][json]") {
  CHECK(json_of(std::vector<int>{}) == "[]");
  CHECK(json_of(std::vector<int>{1, 2, 3}) == "[1,2,3]");
  CHECK(json_of(std::deque<std::string>{"a", "b"}) == R"(["a","b"])");
  CHECK(json_of(std::list<bool>{true, false}) == "[true,false]");
  CHECK(json_of(std::array<int, 3>{4, 5, 6}) == "[4,5,6]");
  const int c_array[] = {7, 8};
  CHECK(json_of(c_array) == "[7,8]");
  const std::vector<int> backing{9, 10, 11};
  CHECK(json_of(std::span<const int>(backing).subspan(1)) == "[10,11]");
  CHECK(json_of(std::pair<int, std::string>{1, "x"}) == R"([1,"x"])");
  CHECK(json_of(std::tuple<>{}) == "[]");
  CHECK(json_of(std::tuple<int, double, std::optional<int>>{1, 2.0, std::nullopt}) == "[1,2.0,null]");
  CHECK(json_of(std::vector<bool>{true, false, true}) == "[true,false,true]");
  CHECK(json_of(std::vector<std::vector<int>>{{}, {1}, {2, 3}}) == "[[],[1],[2,3]]");
}

TEST_CASE("named values are an object of their names, in order", "[serialization][json]") {
  using stageflow::serialization::named;
  using stageflow::serialization::named_values;
  const User user{"ada", 36, Tier::gold};
  const std::vector<int> items{1, 2};
  const std::string odd = "x";
  CHECK(json_of(named_values(named("user", user), named("items", items), named("a \"b\"", odd))) ==
        R"({"user":{"name":"ada","age":36,"tier":7},"items":[1,2],"a \"b\"":"x"})");
  CHECK(json_of(named_values()) == "{}");
}

TEST_CASE("boost::uuids::uuid is its canonical text", "[serialization][json]") {
  boost::uuids::uuid id{};
  CHECK(json_of(id) == "\"00000000-0000-0000-0000-000000000000\"");
  for (std::size_t i = 0; i < 16; ++i) id.data[i] = static_cast<std::uint8_t>(0x10 * (i % 16) + i);
  CHECK(json_of(id) == "\"00112233-4455-6677-8899-aabbccddeeff\"");
}

TEST_CASE("map keys are sorted by their text whatever the map", "[serialization][json]") {
  const std::map<std::string, int> ordered{{"b", 2}, {"a", 1}, {"B", 0}};
  CHECK(json_of(ordered) == R"({"B":0,"a":1,"b":2})");

  std::unordered_map<std::string, int> hashed;
  for (int i = 0; i < 50; ++i) hashed["key" + std::to_string(i)] = i;
  std::unordered_map<std::string, int> reversed(7);
  for (int i = 49; i >= 0; --i) reversed["key" + std::to_string(i)] = i;
  reversed.rehash(4096);
  const std::map<std::string, int> sorted(hashed.begin(), hashed.end());
  CHECK(json_of(hashed) == json_of(sorted));
  CHECK(json_of(reversed) == json_of(sorted));

  // Integer keys are strings in JSON, so "10" sorts before "2"; ordered and hash maps agree.
  const std::map<int, char> numbers{{2, 'b'}, {10, 'a'}, {-1, 'c'}};
  CHECK(json_of(numbers) == R"({"-1":"c","10":"a","2":"b"})");
  const std::unordered_map<int, char> hashed_numbers{{10, 'a'}, {-1, 'c'}, {2, 'b'}};
  CHECK(json_of(hashed_numbers) == json_of(numbers));
  const std::map<std::string, int, std::greater<>> backwards{{"a", 1}, {"b", 2}};
  CHECK(json_of(backwards) == R"({"a":1,"b":2})");

  CHECK(json_of(std::map<Tier, int>{{Tier::gold, 1}, {Tier::free, 2}}) == R"({"1":2,"7":1})");
  CHECK(json_of(std::map<bool, int>{{true, 1}, {false, 0}}) == R"({"false":0,"true":1})");
  boost::uuids::uuid high{};
  high.data[0] = 0xff;
  const boost::uuids::uuid low{};
  CHECK(json_of(std::unordered_map<boost::uuids::uuid, int, boost::hash<boost::uuids::uuid>>{{high, 1}, {low, 0}}) ==
        R"({"00000000-0000-0000-0000-000000000000":0,"ff000000-0000-0000-0000-000000000000":1})");
  // Keys are escaped, sorted by their unescaped bytes: "\n" (0x0A) before "A" (0x41).
  CHECK(json_of(std::unordered_map<std::string, int>{{"A", 1}, {"\n", 2}, {"a\"", 3}}) ==
        R"({"\n":2,"A":1,"a\"":3})");
  CHECK(json_of(std::unordered_map<std::string, int>{}) == "{}");
}

TEST_CASE("nested hash containers are canonical at every level", "[serialization][json]") {
  using Inner = std::unordered_map<std::string, std::unordered_set<int>>;
  std::unordered_map<int, Inner> first;
  std::unordered_map<int, Inner> second(1);
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 5; ++j) first[i]["k" + std::to_string(j)].insert({j, j * 10, -j});
  for (int i = 19; i >= 0; --i)
    for (int j = 4; j >= 0; --j) second[i]["k" + std::to_string(j)].insert({-j, j * 10, j});
  second.rehash(999);
  CHECK(json_of(first) == json_of(second));
  // A hash set is written in the order of its elements' JSON text.
  CHECK(json_of(std::unordered_set<int>{10, 2, -1}) == "[-1,10,2]");
  CHECK(json_of(std::set<int>{10, 2, -1}) == "[-1,2,10]");  // an ordered set keeps its order
  CHECK(json_of(std::unordered_set<std::string>{"b", "a", "c"}) == R"(["a","b","c"])");
  const JsonValue back = parse_json(to_json(first));
  CHECK(back.size() == 20);
  CHECK(back.at("7").at("k3").size() == 3);
}

TEST_CASE("JsonValue writes itself, keeping integers and doubles apart", "[serialization][json]") {
  JsonValue value;
  value["b"] = JsonValue::array({1, 1.0, true, nullptr, "s", std::numeric_limits<std::uint64_t>::max()});
  value["a"] = JsonValue::object();
  value["c"]["nested"] = -0.5;
  const std::string text = json_of(value);
  CHECK(text == R"({"a":{},"b":[1,1.0,true,null,"s",18446744073709551615],"c":{"nested":-0.5}})");
  CHECK(parse_json(text) == value);
  CHECK(json_of(JsonValue()) == "null");
}

TEST_CASE("ContextSnapshot is written whole", "[serialization][json]") {
  ContextSnapshot snapshot;
  snapshot.run = stageflow::RunIdentity::generate();
  snapshot.input_text = "hello\n";
  snapshot.messages = {{"user", "hi"}, {"assistant", "hello, \"you\""}};
  snapshot.metadata["user"]["tier"] = "gold";
  snapshot.topology = "chat";
  const std::string text = json_of(snapshot);
  const JsonValue back = parse_json(text);
  CHECK(back.at("input_text").as_string() == "hello\n");
  CHECK(back.at("messages").as_array()[1].at("content").as_string() == "hello, \"you\"");
  CHECK(back.at("metadata") == snapshot.metadata);
  CHECK(back.at("run").at("org_id").as_string() == "00000000-0000-0000-0000-000000000000");
  CHECK(back.at("run").at("pipeline_run_id").as_string().size() == 36);
  // Members in declaration order, as the struct lists them.
  CHECK(text.find("\"run\"") < text.find("\"input_text\""));
  CHECK(text.find("\"metadata\"") < text.find("\"topology\""));
}

TEST_CASE("byte_count equals the written size on the shared JSON documents", "[serialization][json]") {
  for (const char* name : {"json/twitter.json", "json/citm_catalog.json"}) {
    const auto path = stageflow::testing::shared_data_file(name);
    if (!path) STAGEFLOW_SKIP("shared data not found: set STAGEFLOW_DATA_DIR (Meson's data_dir option)");
    INFO(name);
    const std::string original = stageflow::testing::read_file(*path);
    ContextSnapshot snapshot;
    snapshot.metadata = parse_json(original);
    snapshot.messages = {{"user", "load the document"}};
    const std::string text = to_json(snapshot);
    CHECK(byte_count(snapshot) == text.size());
    CHECK(byte_count(snapshot.metadata) == to_json(snapshot.metadata).size());
    // Minified, and nothing lost: it reads back to the same value.
    CHECK(to_json(snapshot.metadata).size() < original.size());
    CHECK(parse_json(to_json(snapshot.metadata)) == snapshot.metadata);
    CHECK(parse_json(text).at("metadata") == snapshot.metadata);
#ifdef STAGEFLOW_HAVE_NLOHMANN
    // An independent parser reads our text as the same document as the original.
    CHECK(nlohmann::json::parse(to_json(snapshot.metadata)) == nlohmann::json::parse(original));
#endif
  }
}

#ifdef STAGEFLOW_HAVE_NLOHMANN
TEST_CASE("an independent parser agrees with the writer on tricky text", "[serialization][json]") {
  std::string every_ascii;
  for (int byte = 0; byte < 128; ++byte) every_ascii += static_cast<char>(byte);
  const std::map<std::string, std::vector<std::string>> value{{every_ascii, {every_ascii, "é☕𝄞", ""}}};
  const auto parsed = nlohmann::json::parse(json_of(value));
  CHECK(parsed.at(every_ascii).at(0).get<std::string>() == every_ascii);
  CHECK(parsed.at(every_ascii).at(1).get<std::string>() == "é☕𝄞");
  // nlohmann writes objects with sorted keys and minimal escapes too: same bytes.
  CHECK(parsed.dump() == to_json(value));
}
#endif

TEST_CASE("a JsonWriter appends and can be reused", "[serialization][json]") {
  JsonWriter writer;
  std::string out = "prefix:";
  writer.append(out, std::unordered_map<int, int>{{3, 3}, {1, 1}});
  writer.append(out, std::vector<int>{1});
  CHECK(out == R"(prefix:{"1":1,"3":3}[1])");
  CHECK(writer.write(User{"x", 1, Tier::free}) == to_json(User{"x", 1, Tier::free}));
}

TEST_CASE("a pointer cycle is an error, not a stack overflow; output is left as it was", "[serialization][json]") {
  auto first = std::make_shared<Node>(Node{1, nullptr});
  first->next = std::make_shared<Node>(Node{2, first});  // 1 -> 2 -> 1 -> ...
  std::string out = "kept";
  CHECK_THROWS_AS(stageflow::serialization::append_json(out, *first), stageflow::serialization::serialization_error);
  CHECK(out == "kept");
  CHECK_THROWS_AS(byte_count(*first), stageflow::serialization::serialization_error);
  first->next->next = nullptr;  // break the cycle so the nodes are freed
  CHECK(json_of(*first) == R"({"id":1,"next":{"id":2,"next":null}})");
}
