// JsonValue: a small, type-exact JSON value for snapshot metadata.
//
// Why our own and not nlohmann::json: the snapshot is fingerprinted, measured and diffed on every
// stage boundary in hardened builds, so the value type must be cheap to walk and canonical to
// write. JsonValue keeps integers and floating point apart (1 and 1.0 are different values),
// keeps object keys sorted (the canonical JSON and the fingerprint need no sort), and costs a
// fraction of the compile time of a general-purpose JSON library.
//
// Objects are sorted vectors (boost::container::flat_map, what C++23 names std::flat_map), not
// node-based maps: walking a snapshot is then a scan of contiguous memory, which made every walk
// of a large document (the immutability check, the byte count, to_json) 1.3 to 2.5 times faster
// than with std::map. The price is the one of any vector: inserting a key moves the later members,
// and invalidates references and iterators into the object. Parsing lives in
// <stageflow/json/parse.hpp>, writing in <stageflow/serialization/json_writer.hpp>; this header has
// only the value.
#pragma once

#include <boost/container/flat_map.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace stageflow {

class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  /// Keys are kept sorted, so iteration order is canonical whatever the insertion order. A sorted
  /// vector: inserting a key invalidates references and iterators into this object (see above).
  using Object = boost::container::flat_map<std::string, JsonValue, std::less<>>;

  enum class Kind : std::uint8_t { null, boolean, integer, unsigned_integer, floating, string, array, object };

  JsonValue() noexcept = default;
  JsonValue(std::nullptr_t) noexcept {}
  JsonValue(bool value) noexcept : value_(value) {}
  /// Integers are stored as int64_t; only unsigned values above INT64_MAX stay uint64_t, so a
  /// value compares equal however it was built (1 and 1u are the same JSON number).
  template <class Int>
    requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool> && !std::is_same_v<Int, char>)
  JsonValue(Int value) noexcept {
    if constexpr (std::is_signed_v<Int>)
      value_ = static_cast<std::int64_t>(value);
    else if (static_cast<std::uint64_t>(value) <= static_cast<std::uint64_t>(INT64_MAX))
      value_ = static_cast<std::int64_t>(value);
    else
      value_ = static_cast<std::uint64_t>(value);
  }
  JsonValue(char) = delete;  // a char is not a number here; pass a string
  template <class Float>
    requires std::is_floating_point_v<Float>
  JsonValue(Float value) noexcept : value_(static_cast<double>(value)) {}
  JsonValue(const char* text) : value_(std::string(text)) {}
  JsonValue(std::string_view text) : value_(std::string(text)) {}
  JsonValue(std::string text) noexcept : value_(std::move(text)) {}
  JsonValue(Array items) noexcept : value_(std::move(items)) {}
  JsonValue(Object members) noexcept : value_(std::move(members)) {}

  /// `JsonValue::object({{"tier", "gold"}, {"age", 42}})`
  static JsonValue object(std::initializer_list<Object::value_type> members = {}) { return Object(members); }
  /// `JsonValue::array({1, "two", 3.0})`
  static JsonValue array(std::initializer_list<JsonValue> items = {}) { return Array(items); }

  Kind kind() const noexcept { return static_cast<Kind>(value_.index()); }
  bool is_null() const noexcept { return kind() == Kind::null; }
  bool is_bool() const noexcept { return kind() == Kind::boolean; }
  /// Integer of either signedness.
  bool is_integer() const noexcept { return kind() == Kind::integer || kind() == Kind::unsigned_integer; }
  bool is_floating() const noexcept { return kind() == Kind::floating; }
  bool is_string() const noexcept { return kind() == Kind::string; }
  bool is_array() const noexcept { return kind() == Kind::array; }
  bool is_object() const noexcept { return kind() == Kind::object; }

  // Typed access; the wrong kind throws std::bad_variant_access.
  bool as_bool() const { return std::get<bool>(value_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(value_); }
  std::uint64_t as_uint() const { return std::get<std::uint64_t>(value_); }  // only above INT64_MAX
  double as_double() const { return std::get<double>(value_); }
  const std::string& as_string() const { return std::get<std::string>(value_); }
  std::string& as_string() { return std::get<std::string>(value_); }
  const Array& as_array() const { return std::get<Array>(value_); }
  Array& as_array() { return std::get<Array>(value_); }
  const Object& as_object() const { return std::get<Object>(value_); }
  Object& as_object() { return std::get<Object>(value_); }

  /// Member access on an object; a null value becomes an empty object first (as in most JSON libraries).
  JsonValue& operator[](std::string_view key) {
    if (is_null()) value_ = Object{};
    auto& members = as_object();
    auto it = members.find(key);
    if (it == members.end()) it = members.emplace(std::string(key), JsonValue{}).first;
    return it->second;
  }
  /// The member, or nullptr when this is not an object or has no such key.
  const JsonValue* find(std::string_view key) const noexcept {
    const auto* members = std::get_if<Object>(&value_);
    if (members == nullptr) return nullptr;
    auto it = members->find(key);
    return it == members->end() ? nullptr : &it->second;
  }
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }
  /// The member; throws std::out_of_range naming the key when it is missing.
  const JsonValue& at(std::string_view key) const {
    if (const auto* member = find(key)) return *member;
    throw std::out_of_range("JsonValue: no member \"" + std::string(key) + "\"");
  }

  /// Appends to an array; a null value becomes an empty array first.
  void push_back(JsonValue item) {
    if (is_null()) value_ = Array{};
    as_array().push_back(std::move(item));
  }
  /// Elements of an array, members of an object, 0 otherwise.
  std::size_t size() const noexcept {
    if (const auto* items = std::get_if<Array>(&value_)) return items->size();
    if (const auto* members = std::get_if<Object>(&value_)) return members->size();
    return 0;
  }

  /// Calls `f` with the stored alternative: nullptr_t, bool, int64_t, uint64_t, double,
  /// std::string, Array or Object.
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), value_);
  }
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), value_);
  }

  /// Type-exact equality: 1, 1.0 and true are three different values.
  friend bool operator==(const JsonValue&, const JsonValue&) = default;

 private:
  // The alternative order matches Kind.
  std::variant<std::nullptr_t, bool, std::int64_t, std::uint64_t, double, std::string, Array, Object> value_;
};

}  // namespace stageflow
