// SPDX-License-Identifier: BSL-1.0
// The reading half of the walk: fills a value of a walkable type from a JsonValue, kind by kind in
// the walker's order (detail/walker.hpp), so what to_json writes for a type is what is read back.
// Internal to <stageflow/serialization/from_json.hpp>.
#pragma once

#include <stageflow/json/detail/escape.hpp>
#include <stageflow/json/value.hpp>
#include <stageflow/serialization/detail/kinds.hpp>
#include <stageflow/serialization/error.hpp>
#include <stageflow/uuid/text.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace stageflow::serialization {

/// JSON that does not fit the type asked for: where (`path()`, such as `messages[2].role`, empty at
/// the document's root) and what (`reason()`, such as `expected a string`). what() says both.
class FromJsonError : public SerializationError {
 public:
  FromJsonError(std::string path, std::string reason)
      : SerializationError((path.empty() ? std::string("(root)") : path) + ": " + reason),
        path_(std::move(path)),
        reason_(std::move(reason)) {}
  const std::string& path() const noexcept { return path_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

}  // namespace stageflow::serialization

namespace stageflow::detail {

template <class T>
concept has_from_view = has_walk_as<T> && requires(const T& value) {
  { serialization::walk_as<T>::from_view(serialization::walk_as<T>::view(value)) } -> std::convertible_to<T>;
};

template <class T>
void reject_unreadable() {
  static_assert(always_false<T>,
                "stageflow::from_json: this type is walked but cannot be read back: it does not own its data "
                "(std::string_view, const char*, std::span, std::reference_wrapper, NamedValues, ValueImage) or "
                "it is walked through walk_as<T> without a static from_view(view) that rebuilds it. The compiler "
                "names the type in the instantiation notes (T = ...).");
}

inline const char* json_kind_name(const JsonValue& json) noexcept {
  switch (json.kind()) {
    case JsonValue::Kind::null: return "null";
    case JsonValue::Kind::boolean: return "a boolean";
    case JsonValue::Kind::integer:
    case JsonValue::Kind::unsigned_integer: return "an integer";
    case JsonValue::Kind::floating: return "a floating-point number";
    case JsonValue::Kind::string: return "a string";
    case JsonValue::Kind::array: return "an array";
    case JsonValue::Kind::object: return "an object";
  }
  return "a value";
}

template <class T>
concept growable_sequence = requires(T& sequence, typename T::value_type&& item) {
  sequence.push_back(std::move(item));
};

template <class T>
concept fixed_sequence = requires { std::tuple_size<T>::value; } && iterable<T>;

class JsonReader {
 public:
  template <class T>
  void value(const JsonValue& json, T& out) {
    using U = std::remove_cv_t<T>;
    if constexpr (has_walk_as<U>) {
      if constexpr (has_from_view<U>) {
        std::remove_cvref_t<decltype(serialization::walk_as<U>::view(out))> view{};
        value(json, view);
        out = serialization::walk_as<U>::from_view(std::move(view));
      } else {
        reject_unreadable<U>();
      }
    } else if constexpr (std::is_same_v<U, JsonValue>) {
      out = json;
    } else if constexpr (std::is_same_v<U, boost::uuids::uuid>) {
      const auto id = helpers::try_parse_uuid(text(json, "a UUID string"));
      if (!id) fail("expected a UUID (8-4-4-4-12 hex digits)");
      out = *id;
    } else if constexpr (hana_struct<U>) {
      structure(json, out);
    } else if constexpr (std::is_same_v<U, bool>) {
      if (!json.is_bool()) mismatch(json, "a boolean");
      out = json.as_bool();
    } else if constexpr (std::is_same_v<U, char>) {
      const std::string& s = text(json, "a one-character string");
      if (s.size() != 1) fail("expected a one-character string, found " + std::to_string(s.size()) + " bytes");
      out = s[0];
    } else if constexpr (integer<U>) {
      out = integer_of<U>(json);
    } else if constexpr (std::is_enum_v<U>) {
      out = static_cast<U>(integer_of<std::underlying_type_t<U>>(json));
    } else if constexpr (std::is_floating_point_v<U>) {
      // The writer writes NaN and the infinities as null: null reads back as NaN.
      if (json.is_null()) out = std::numeric_limits<U>::quiet_NaN();
      else if (json.is_floating()) out = static_cast<U>(json.as_double());
      else if (json.kind() == JsonValue::Kind::integer) out = static_cast<U>(json.as_int());
      else if (json.kind() == JsonValue::Kind::unsigned_integer) out = static_cast<U>(json.as_uint());
      else mismatch(json, "a number");
    } else if constexpr (std::is_same_v<U, std::nullptr_t> || std::is_same_v<U, std::monostate>) {
      if (!json.is_null()) mismatch(json, "null");
    } else if constexpr (char_array<U>) {
      const std::string& s = text(json, "a string");
      if (s.size() > std::extent_v<U>)
        fail("expected a string of at most " + std::to_string(std::extent_v<U>) + " bytes, found " +
             std::to_string(s.size()));
      std::fill(std::begin(out), std::end(out), '\0');
      std::copy(s.begin(), s.end(), std::begin(out));
    } else if constexpr (is_specialization_of<U, std::basic_string>) {
      out = text(json, "a string");
    } else if constexpr (is_specialization_of<U, std::optional>) {
      if (json.is_null()) {
        out.reset();
      } else {
        value(json, out.emplace());
      }
    } else if constexpr (is_specialization_of<U, std::variant>) {
      variant(json, out, std::make_index_sequence<std::variant_size_v<U>>());
    } else if constexpr (smart_pointer<U>) {
      if (json.is_null()) {
        out = nullptr;
      } else {
        const DepthGuard guard(*this);
        using Element = typename U::element_type;
        auto made = std::make_unique<std::remove_cv_t<Element>>();
        value(json, *made);
        out = std::move(made);
      }
    } else if constexpr (map_like<U> && !multimap<U>) {
      map(json, out);
    } else if constexpr (set_like<U>) {
      const DepthGuard guard(*this);
      out.clear();
      each_element(json, [&](const JsonValue& item) {
        typename U::value_type element{};
        value(item, element);
        if constexpr (requires { out.insert(std::move(element)).second; }) {
          if (!out.insert(std::move(element)).second) fail("a repeated element of a set");
        } else {
          out.insert(std::move(element));  // a multiset keeps repeats
        }
      });
    } else if constexpr (growable_sequence<U>) {
      const DepthGuard guard(*this);
      out.clear();
      each_element(json, [&](const JsonValue& item) {
        typename U::value_type element{};
        value(item, element);
        out.push_back(std::move(element));
      });
    } else if constexpr (std::is_array_v<U> || fixed_sequence<U>) {
      const DepthGuard guard(*this);
      constexpr std::size_t size = std::is_array_v<U> ? std::extent_v<U> : std::tuple_size_v<U>;
      expect_array_of(json, size);
      auto it = std::begin(out);
      each_element(json, [&](const JsonValue& item) { value(item, *it++); });
    } else if constexpr (tuple_like<U>) {
      const DepthGuard guard(*this);
      expect_array_of(json, std::tuple_size_v<U>);
      tuple(json.as_array(), out, std::make_index_sequence<std::tuple_size_v<U>>());
    } else {
      reject_unreadable<U>();
    }
  }

 private:
  class DepthGuard {
   public:
    explicit DepthGuard(JsonReader& reader) : reader_(reader) {
      if (++reader_.depth_ > serialization::max_walk_depth) [[unlikely]]
        reader_.fail("nested deeper than " + std::to_string(serialization::max_walk_depth) + " levels");
    }
    ~DepthGuard() { --reader_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    JsonReader& reader_;
  };

  // The path is one string, extended on the way down and cut back on the way up.
  class PathScope {
   public:
    PathScope(JsonReader& reader, std::string_view part) : reader_(reader), size_(reader.path_.size()) {
      reader_.path_ += part;
    }
    ~PathScope() { reader_.path_.resize(size_); }
    PathScope(const PathScope&) = delete;
    PathScope& operator=(const PathScope&) = delete;

   private:
    JsonReader& reader_;
    std::size_t size_;
  };

  [[noreturn]] void fail(std::string reason) { throw serialization::FromJsonError(path_, std::move(reason)); }
  [[noreturn]] void mismatch(const JsonValue& json, std::string_view expected) {
    fail("expected " + std::string(expected) + ", found " + json_kind_name(json));
  }

  const std::string& text(const JsonValue& json, std::string_view expected) {
    if (!json.is_string()) mismatch(json, expected);
    return json.as_string();
  }

  template <class Int>
  Int integer_of(const JsonValue& json) {
    if (json.kind() == JsonValue::Kind::integer) return checked_integer<Int>(json.as_int());
    if (json.kind() == JsonValue::Kind::unsigned_integer) return checked_integer<Int>(json.as_uint());
    mismatch(json, "an integer");
  }

  template <class Int, class From>
  Int checked_integer(From number) {
    if (!std::in_range<Int>(number))
      fail("integer " + std::to_string(number) + " out of range [" + std::to_string(std::numeric_limits<Int>::min()) +
           ", " + std::to_string(std::numeric_limits<Int>::max()) + "]");
    return static_cast<Int>(number);
  }

  template <class F>
  void each_element(const JsonValue& json, F&& read) {
    if (!json.is_array()) mismatch(json, "an array");
    std::size_t index = 0;
    char label[24];
    for (const JsonValue& item : json.as_array()) {
      const auto end = std::to_chars(label + 1, label + sizeof label - 1, index++).ptr;
      label[0] = '[';
      *end = ']';
      const PathScope scope(*this, std::string_view(label, static_cast<std::size_t>(end + 1 - label)));
      read(item);
    }
  }

  void expect_array_of(const JsonValue& json, std::size_t size) {
    if (!json.is_array()) mismatch(json, "an array");
    if (json.as_array().size() != size)
      fail("expected an array of " + std::to_string(size) + " elements, found " +
           std::to_string(json.as_array().size()));
  }

  template <class Tuple, std::size_t... I>
  void tuple(const JsonValue::Array& items, Tuple& out, std::index_sequence<I...>) {
    (element_at(items[I], I, std::get<I>(out)), ...);
  }
  template <class Element>
  void element_at(const JsonValue& item, std::size_t index, Element& out) {
    const PathScope scope(*this, "[" + std::to_string(index) + "]");
    value(item, out);
  }

  template <class Struct>
  void structure(const JsonValue& json, Struct& out) {
    namespace hana = boost::hana;
    if (!json.is_object()) mismatch(json, "an object");
    const DepthGuard guard(*this);
    const JsonValue::Object& members = json.as_object();
    hana::for_each(hana::accessors<Struct>(), [&](auto accessor) {
      const std::string_view name = hana::to<const char*>(hana::first(accessor));
      auto& member = hana::second(accessor)(out);
      const PathScope scope(*this, path_.empty() ? std::string(name) : "." + std::string(name));
      const auto found = members.find(name);
      if (found != members.end()) {
        value(found->second, member);
      } else if constexpr (!is_specialization_of<std::remove_cvref_t<decltype(member)>, std::optional>) {
        fail("missing member");  // an absent optional member stays empty; anything else must be there
      }
    });
  }

  template <class Variant, std::size_t... I>
  void variant(const JsonValue& json, Variant& out, std::index_sequence<I...>) {
    // The writer writes the active alternative's value alone: the first alternative that reads
    // the JSON without error is taken.
    std::string first_error;
    const bool read = (try_alternative<I>(json, out, first_error) || ...);
    if (!read) fail("matches no alternative of the variant (the first says: " + first_error + ")");
  }
  template <std::size_t I, class Variant>
  bool try_alternative(const JsonValue& json, Variant& out, std::string& first_error) {
    std::variant_alternative_t<I, Variant> candidate{};
    try {
      JsonReader nested;
      nested.depth_ = depth_;
      nested.value(json, candidate);
    } catch (const serialization::FromJsonError& error) {
      if (I == 0) first_error = error.path().empty() ? error.reason() : error.what();
      return false;
    }
    out.template emplace<I>(std::move(candidate));
    return true;
  }

  template <class Map>
  void map(const JsonValue& json, Map& out) {
    using Key = std::remove_cv_t<typename Map::key_type>;
    if (!json.is_object()) mismatch(json, "an object");
    const DepthGuard guard(*this);
    out.clear();
    for (const auto& [name, item] : json.as_object()) {
      const PathScope scope(*this, "[" + quoted(name) + "]");
      typename Map::mapped_type mapped{};
      value(item, mapped);
      out.emplace(key_of<Key>(name), std::move(mapped));
    }
  }

  // A key in the path is a JSON string: quotes, backslashes and control bytes (a NUL would cut
  // what() short) are escaped.
  static std::string quoted(std::string_view key) {
    std::string out;
    append_json_string(out, key);
    return out;
  }

  template <class Key>
  Key key_of(const std::string& name) {
    if constexpr (std::is_same_v<Key, bool>) {
      if (name == "true") return true;
      if (name == "false") return false;
      fail("expected the key true or false");
    } else if constexpr (std::is_same_v<Key, boost::uuids::uuid>) {
      const auto id = helpers::try_parse_uuid(name);
      if (!id) fail("expected a UUID as the key");
      return *id;
    } else if constexpr (std::is_same_v<Key, char>) {
      if (name.size() != 1) fail("expected a one-character key");
      return name[0];
    } else if constexpr (is_specialization_of<Key, std::basic_string>) {
      return Key(name);
    } else if constexpr (std::is_enum_v<Key>) {
      return static_cast<Key>(key_of<std::underlying_type_t<Key>>(name));
    } else if constexpr (integer<Key>) {
      using Wide = std::conditional_t<std::is_signed_v<Key>, std::int64_t, std::uint64_t>;
      Wide number{};
      const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), number);
      if (error != std::errc() || end != name.data() + name.size() || name.empty() ||
          (name.size() > 1 && name[0] == '0') || name.starts_with("-0"))
        fail("expected an integer key");
      return checked_integer<Key>(number);
    } else {
      reject_unreadable<Key>();
    }
  }

  std::string path_;
  std::size_t depth_ = 0;
};

}  // namespace stageflow::detail
