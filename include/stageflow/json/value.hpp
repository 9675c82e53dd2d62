// SPDX-License-Identifier: BSL-1.0
// JsonValue: a small, type-exact JSON value for snapshot metadata.
//
// Why our own and not nlohmann::json: the snapshot is fingerprinted, measured and diffed on every
// stage boundary in hardened builds, so the value type must be cheap to walk and canonical to
// write. JsonValue keeps integers and floating point apart (1 and 1.0 are different values),
// keeps object keys sorted (the canonical JSON and the fingerprint need no sort), and costs a
// fraction of the compile time of a general-purpose JSON library.
//
// Objects are sorted vectors (JsonObject, below: what C++23 names std::flat_map), not node-based
// maps: walking a snapshot is then a scan of contiguous memory, which made the byte count of
// twitter.json 1.7 times, its fingerprint and the immutability check's recording 1.4 times and
// to_json 1.25 times faster than with std::map (docs/benchmarks.md, bench_serialization). The price is the one
// of any vector: inserting a key moves the later members, and invalidates references and iterators
// into that object. (Our own class rather than boost::container::flat_map: that one added 1 to
// 1.7 s of compile time to each file using JsonValue.) Parsing lives in <stageflow/json/parse.hpp>, writing in
// <stageflow/serialization/json_writer.hpp>; this header has only the value.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace stageflow {

namespace detail {
/// The one error of a member lookup that finds nothing (JsonValue::at, JsonObject::at).
[[noreturn]] inline void throw_missing_member(std::string_view key) {
  throw std::out_of_range("JsonValue: no member \"" + std::string(key) + "\"");
}
}  // namespace detail

class JsonValue;

/// A JSON object: its members in one vector, sorted by key, each key once. The interface is the
/// one of std::map<std::string, JsonValue, std::less<>> that JSON code uses (lookups take any
/// string_view); inserting or erasing a member invalidates iterators and references into it.
class JsonObject {
 public:
  using key_type = std::string;
  using mapped_type = JsonValue;
  using value_type = std::pair<std::string, JsonValue>;
  using key_compare = std::less<>;
  using container_type = std::vector<value_type>;
  using iterator = container_type::iterator;
  using const_iterator = container_type::const_iterator;
  using size_type = std::size_t;

  JsonObject() noexcept = default;
  /// Of repeated keys the first is kept, as std::map does.
  JsonObject(std::initializer_list<value_type> members);
  /// Members in any order; of repeated keys the *last* is kept, as JSON parsers do. (A template
  /// only so that its sort is compiled where it is used.)
  template <class = void>
  static JsonObject from_members(container_type members);

  iterator begin() noexcept;
  iterator end() noexcept;
  const_iterator begin() const noexcept;
  const_iterator end() const noexcept;
  const_iterator cbegin() const noexcept;
  const_iterator cend() const noexcept;
  size_type size() const noexcept;
  bool empty() const noexcept;
  void clear() noexcept;
  void reserve(size_type count);

  /// The first member whose key is not less than `key`.
  iterator lower_bound(std::string_view key) noexcept;
  const_iterator lower_bound(std::string_view key) const noexcept;
  iterator find(std::string_view key) noexcept;
  const_iterator find(std::string_view key) const noexcept;
  bool contains(std::string_view key) const noexcept;
  size_type count(std::string_view key) const noexcept;
  /// Throws std::out_of_range naming the key when it is missing.
  JsonValue& at(std::string_view key);
  const JsonValue& at(std::string_view key) const;
  /// The member, inserted as null when missing.
  JsonValue& operator[](std::string_view key);

  /// Inserts `key` with a value made from `args` unless the key is present; says which it did.
  template <class... Args>
  std::pair<iterator, bool> try_emplace(std::string_view key, Args&&... args);
  template <class Value>
  std::pair<iterator, bool> emplace(std::string_view key, Value&& value);
  std::pair<iterator, bool> insert(value_type member);
  /// Sets the member, inserting it when missing; true when it was inserted.
  template <class Value>
  std::pair<iterator, bool> insert_or_assign(std::string_view key, Value&& value);
  /// Removes the member with this key; the number removed (0 or 1).
  size_type erase(std::string_view key);
  iterator erase(const_iterator position);

  friend bool operator==(const JsonObject& a, const JsonObject& b);

 private:
  container_type members_;
};

class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  /// Keys are kept sorted, so iteration order is canonical whatever the insertion order. A sorted
  /// vector: inserting a key invalidates references and iterators into this object (see above).
  using Object = JsonObject;

  enum class Kind : std::uint8_t { null, boolean, integer, unsigned_integer, floating, string, array, object };

  JsonValue() noexcept = default;
  JsonValue(const JsonValue&) = default;
  JsonValue(JsonValue&&) noexcept = default;
  JsonValue& operator=(const JsonValue&) = default;
  JsonValue& operator=(JsonValue&&) noexcept = default;
  /// Without recursion past a few hundred levels: a value nested a million levels deep (as a
  /// converter from another library may build it) is destroyed without exhausting the stack.
  ~JsonValue();
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
    return as_object()[key];
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
    detail::throw_missing_member(key);
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

// JsonObject's members need JsonValue complete.

namespace detail {
/// Levels of containers destroyed by plain recursion before ~JsonValue takes the children apart
/// on the heap instead: shallow values (all the usual ones) pay nothing for it.
inline constexpr unsigned json_recursive_destroy_depth = 256;

inline unsigned& json_destroy_depth() noexcept {
  thread_local unsigned depth = 0;
  return depth;
}
}  // namespace detail

inline JsonValue::~JsonValue() {
  const auto* items = std::get_if<Array>(&value_);
  const auto* members = items ? nullptr : std::get_if<Object>(&value_);
  if ((items == nullptr || items->empty()) && (members == nullptr || members->empty())) return;
  unsigned& depth = detail::json_destroy_depth();
  if (depth < detail::json_recursive_destroy_depth) {
    // The children are destroyed here, inside the count, rather than after this body.
    ++depth;
    if (items) std::get<Array>(value_).clear();
    else std::get<Object>(value_).clear();
    --depth;
    return;
  }
  // Deep: move each child's children onto a heap stack, so that each value is destroyed empty.
  Array pending;
  const auto take_children = [&pending](JsonValue& value) {
    if (auto* array = std::get_if<Array>(&value.value_)) {
      for (JsonValue& item : *array) pending.push_back(std::move(item));
      array->clear();
    } else if (auto* object = std::get_if<Object>(&value.value_)) {
      for (auto& member : *object) pending.push_back(std::move(member.second));
      object->clear();
    }
  };
  take_children(*this);
  while (!pending.empty()) {
    JsonValue item = std::move(pending.back());
    pending.pop_back();
    take_children(item);
  }
}

inline JsonObject::iterator JsonObject::begin() noexcept { return members_.begin(); }
inline JsonObject::iterator JsonObject::end() noexcept { return members_.end(); }
inline JsonObject::const_iterator JsonObject::begin() const noexcept { return members_.begin(); }
inline JsonObject::const_iterator JsonObject::end() const noexcept { return members_.end(); }
inline JsonObject::const_iterator JsonObject::cbegin() const noexcept { return members_.begin(); }
inline JsonObject::const_iterator JsonObject::cend() const noexcept { return members_.end(); }
inline JsonObject::size_type JsonObject::size() const noexcept { return members_.size(); }
inline bool JsonObject::empty() const noexcept { return members_.empty(); }
inline void JsonObject::clear() noexcept { members_.clear(); }
inline void JsonObject::reserve(size_type count) { members_.reserve(count); }
inline bool JsonObject::contains(std::string_view key) const noexcept { return find(key) != end(); }
inline JsonObject::size_type JsonObject::count(std::string_view key) const noexcept { return contains(key) ? 1 : 0; }
template <class Value>
std::pair<JsonObject::iterator, bool> JsonObject::emplace(std::string_view key, Value&& value) {
  return try_emplace(key, std::forward<Value>(value));
}
inline JsonObject::iterator JsonObject::erase(const_iterator position) { return members_.erase(position); }
inline bool operator==(const JsonObject& a, const JsonObject& b) { return a.members_ == b.members_; }

inline JsonObject::JsonObject(std::initializer_list<value_type> members) {
  members_.reserve(members.size());
  for (const auto& member : members) try_emplace(member.first, member.second);
}

template <class>
JsonObject JsonObject::from_members(container_type members) {
  const auto by_key = [](const value_type& a, const value_type& b) { return a.first < b.first; };
  const auto not_before = [](const value_type& a, const value_type& b) { return !(a.first < b.first); };
  if (std::adjacent_find(members.begin(), members.end(), not_before) != members.end()) {  // unsorted or repeated
    std::stable_sort(members.begin(), members.end(), by_key);
    auto out = members.begin();  // keep the last of each run of equal keys
    for (auto it = members.begin(); it != members.end(); ++it) {
      const auto next = std::next(it);
      if (next != members.end() && next->first == it->first) continue;
      if (out != it) *out = std::move(*it);
      ++out;
    }
    members.erase(out, members.end());
  }
  JsonObject object;
  object.members_ = std::move(members);
  return object;
}

inline JsonObject::iterator JsonObject::lower_bound(std::string_view key) noexcept {
  return std::partition_point(members_.begin(), members_.end(),
                              [key](const value_type& member) { return std::string_view(member.first) < key; });
}
inline JsonObject::const_iterator JsonObject::lower_bound(std::string_view key) const noexcept {
  return std::partition_point(members_.begin(), members_.end(),
                              [key](const value_type& member) { return std::string_view(member.first) < key; });
}
inline JsonObject::iterator JsonObject::find(std::string_view key) noexcept {
  const auto it = lower_bound(key);
  return it != members_.end() && it->first == key ? it : members_.end();
}
inline JsonObject::const_iterator JsonObject::find(std::string_view key) const noexcept {
  const auto it = lower_bound(key);
  return it != members_.end() && it->first == key ? it : members_.end();
}
inline JsonValue& JsonObject::at(std::string_view key) {
  if (const auto it = find(key); it != end()) return it->second;
  detail::throw_missing_member(key);
}
inline const JsonValue& JsonObject::at(std::string_view key) const {
  if (const auto it = find(key); it != end()) return it->second;
  detail::throw_missing_member(key);
}
inline JsonValue& JsonObject::operator[](std::string_view key) { return try_emplace(key).first->second; }

template <class... Args>
std::pair<JsonObject::iterator, bool> JsonObject::try_emplace(std::string_view key, Args&&... args) {
  const auto it = lower_bound(key);
  if (it != members_.end() && it->first == key) return {it, false};
  return {members_.emplace(it, std::piecewise_construct, std::forward_as_tuple(key),
                           std::forward_as_tuple(std::forward<Args>(args)...)),
          true};
}
inline std::pair<JsonObject::iterator, bool> JsonObject::insert(value_type member) {
  const auto it = lower_bound(member.first);
  if (it != members_.end() && it->first == member.first) return {it, false};
  return {members_.insert(it, std::move(member)), true};
}
template <class Value>
std::pair<JsonObject::iterator, bool> JsonObject::insert_or_assign(std::string_view key, Value&& value) {
  auto [it, inserted] = try_emplace(key, std::forward<Value>(value));
  if (!inserted) it->second = std::forward<Value>(value);
  return {it, inserted};
}
inline JsonObject::size_type JsonObject::erase(std::string_view key) {
  const auto it = find(key);
  if (it == members_.end()) return 0;
  members_.erase(it);
  return 1;
}

}  // namespace stageflow
