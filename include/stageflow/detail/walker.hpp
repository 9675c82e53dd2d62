// The walker behind stageflow::serialization::walk(): type dispatch and traversal. Internal: include
// <stageflow/serialization/walk.hpp>. The few public names it needs are declared here, documented there.
#pragma once

#include <stageflow/core/json_value.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/uuid/uuid.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace stageflow::serialization {

/// A value that cannot be walked at run time: nesting deeper than max_walk_depth (a pointer cycle).
class serialization_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Containers and followed pointers nested deeper than this throw serialization_error, so a
/// shared_ptr cycle is an error instead of a stack overflow. parse_json allows 1024 levels.
inline constexpr std::size_t max_walk_depth = 2048;

/// Customization point: specialize with `static auto view(const T&)` (or returning a reference)
/// to walk T as the value `view` returns.
template <class T>
struct walk_as;

template <class... Ts>
class NamedValues;  // named_values.hpp

/// How a container's iteration order relates to its canonical order.
enum class Order : std::uint8_t {
  /// Iteration order is the canonical order: sequences, ordered sets, maps ordered by key text.
  canonical,
  /// Content decides the order but it is not key-text order (std::map<int, T>): JSON sorts by key text.
  deterministic,
  /// Hash containers: insertion history and bucket count decide the order; every consumer must
  /// make its result independent of it.
  unordered,
};

}  // namespace stageflow::serialization

namespace stageflow::detail {

using serialization::Order;

template <class T, template <class...> class Template>
inline constexpr bool is_specialization_of = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_specialization_of<Template<Args...>, Template> = true;

template <class T>
inline constexpr bool dependent_false = false;

template <class T>
concept has_walk_as = requires(const T& value) { serialization::walk_as<T>::view(value); };

template <class T>
concept hana_struct = boost::hana::Struct<T>::value;

template <class T>
concept character = std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
                    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

template <class T>
concept integer = std::is_integral_v<T> && !std::is_same_v<T, bool> && !character<T>;

template <class T>
concept c_string = std::is_same_v<T, const char*> || std::is_same_v<T, char*>;

template <class T>
concept char_array = std::is_array_v<T> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<T>>, char>;

template <class T>
concept string_like =
    std::is_convertible_v<const T&, std::string_view> && !std::is_pointer_v<T> && !std::is_array_v<T>;

template <class T>
concept iterable = requires(const T& range) {
  std::begin(range);
  std::end(range);
};

template <class T>
concept map_like = iterable<T> && requires {
  typename T::key_type;
  typename T::mapped_type;
};

template <class T>
concept set_like = iterable<T> && !map_like<T> && requires { typename T::key_type; };

template <class T>
concept hashed = requires { typename T::hasher; };

/// A map whose keys repeat (std::multimap, std::unordered_multimap, and the like): its insert returns
/// an iterator, where a map with unique keys returns an (iterator, inserted) pair.
template <class T>
concept multimap = requires(T& map, const typename T::value_type& entry) {
  typename T::mapped_type;
  { map.insert(entry) } -> std::same_as<typename T::iterator>;
};

template <class T>
concept tuple_like = !iterable<T> && requires { std::tuple_size<T>::value; };

template <class T>
inline constexpr bool is_unique_ptr = false;
template <class T, class Deleter>
inline constexpr bool is_unique_ptr<std::unique_ptr<T, Deleter>> = !std::is_array_v<T>;

template <class T>
concept smart_pointer = is_unique_ptr<T> || is_specialization_of<T, std::shared_ptr>;

/// Map keys become JSON object keys (strings): these are the key types with a text form.
template <class K>
concept key_type = string_like<K> || integer<K> || std::is_enum_v<K> || std::is_same_v<K, bool> ||
                   std::is_same_v<K, char> || std::is_same_v<K, boost::uuids::uuid>;

/// An ordered map whose iteration order is already the order of its keys' text (byte order).
template <class Map>
concept ordered_by_key_text =
    (is_specialization_of<typename Map::key_type, std::basic_string> ||
     std::is_same_v<typename Map::key_type, std::string_view>) &&
    requires { typename Map::key_compare; } &&
    (std::is_same_v<typename Map::key_compare, std::less<typename Map::key_type>> ||
     std::is_same_v<typename Map::key_compare, std::less<>>);

template <class T>
concept known_kind =
    has_walk_as<T> || std::is_same_v<T, JsonValue> || std::is_same_v<T, boost::uuids::uuid> || hana_struct<T> ||
    std::is_same_v<T, bool> || std::is_same_v<T, char> || integer<T> || std::is_floating_point_v<T> ||
    std::is_enum_v<T> || std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::monostate> || c_string<T> ||
    char_array<T> || string_like<T> || is_specialization_of<T, std::optional> ||
    is_specialization_of<T, std::variant> || smart_pointer<T> || is_specialization_of<T, std::reference_wrapper> ||
    is_specialization_of<T, serialization::NamedValues> || (iterable<T> && !multimap<T>) || tuple_like<T>;

/// Stops compilation with a message, instantiated with the offending type so the compiler names it
/// ("In instantiation of ... [with T = YourType]").
template <class T>
void reject_unwalkable() {
  static_assert(dependent_false<T>,
                "stageflow::serialization: this type cannot be walked (serialized, measured or fingerprinted). "
                "Make it walkable: adapt the struct with BOOST_HANA_DEFINE_STRUCT or BOOST_HANA_ADAPT_STRUCT, or "
                "specialize stageflow::serialization::walk_as<T> with a static view(const T&) that returns a "
                "walkable value. The compiler names the type in the instantiation notes (T = ...).");
}

template <class T>
void reject_raw_pointer() {
  static_assert(dependent_false<T>,
                "stageflow::serialization: raw pointers are not followed (they may point to an array, or to data the "
                "value does not own). Hold the data by value, in a std::unique_ptr or std::shared_ptr (followed), or "
                "view an array as a std::span. The compiler names the type in the instantiation notes (T = ...).");
}

template <class T>
void reject_multimap() {
  static_assert(dependent_false<T>,
                "stageflow::serialization: multimaps cannot be walked: JSON object keys are unique. "
                "Use a map of vectors (std::map<K, std::vector<V>>) instead. The compiler names the type in the "
                "instantiation notes (T = ...).");
}

template <class T>
void reject_key_type() {
  static_assert(dependent_false<T>,
                "stageflow::serialization: this map key type has no JSON text. Map keys must be strings, integers, "
                "enums, bool or boost::uuids::uuid. The compiler names the key type in the instantiation notes "
                "(T = ...).");
}

template <class Hana>
std::string_view member_name(Hana) noexcept {
  return {boost::hana::to<char const*>(Hana{}), decltype(boost::hana::length(Hana{}))::value};
}

template <class Visitor>
class Walker {
 public:
  explicit Walker(Visitor& visitor) noexcept : visitor_(visitor) {}

  template <class T>
  void value(const T& value) {
    using U = std::remove_cv_t<T>;
    if constexpr (has_walk_as<U>) {
      this->value(serialization::walk_as<U>::view(value));
    } else if constexpr (std::is_same_v<U, JsonValue>) {
      json(value);
    } else if constexpr (std::is_same_v<U, boost::uuids::uuid>) {
      visitor_.uuid(value);
    } else if constexpr (hana_struct<U>) {
      structure(value);
    } else if constexpr (is_specialization_of<U, serialization::NamedValues>) {
      named_values(value);
    } else if constexpr (std::is_same_v<U, bool>) {
      visitor_.boolean(value);
    } else if constexpr (std::is_same_v<U, char>) {
      visitor_.string(std::string_view(&value, 1));
    } else if constexpr (integer<U>) {
      integer_value(value);
    } else if constexpr (std::is_enum_v<U>) {
      integer_value(static_cast<std::underlying_type_t<U>>(value));
    } else if constexpr (std::is_floating_point_v<U>) {
      visitor_.floating(value);
    } else if constexpr (std::is_same_v<U, std::nullptr_t> || std::is_same_v<U, std::monostate>) {
      visitor_.null();
    } else if constexpr (c_string<U>) {
      if (value == nullptr)
        visitor_.null();
      else
        visitor_.string(std::string_view(value));
    } else if constexpr (char_array<U>) {
      const char* const end = std::find(value, value + std::extent_v<U>, '\0');
      visitor_.string(std::string_view(value, static_cast<std::size_t>(end - value)));
    } else if constexpr (string_like<U>) {
      visitor_.string(std::string_view(value));
    } else if constexpr (is_specialization_of<U, std::optional>) {
      if (value.has_value())
        this->value(*value);
      else
        visitor_.null();
    } else if constexpr (is_specialization_of<U, std::variant>) {
      variant(value);
    } else if constexpr (smart_pointer<U>) {
      if (value == nullptr) {
        visitor_.null();
      } else {
        const DepthGuard guard(*this);
        this->value(*value);
      }
    } else if constexpr (is_specialization_of<U, std::reference_wrapper>) {
      const DepthGuard guard(*this);
      this->value(value.get());
    } else if constexpr (std::is_pointer_v<U>) {
      reject_raw_pointer<U>();
    } else if constexpr (multimap<U>) {
      reject_multimap<U>();
    } else if constexpr (map_like<U>) {
      map(value);
    } else if constexpr (set_like<U>) {
      sequence(value, hashed<U> ? Order::unordered : Order::canonical);
    } else if constexpr (iterable<U>) {
      sequence(value, Order::canonical);
    } else if constexpr (tuple_like<U>) {
      tuple(value);
    } else {
      reject_unwalkable<U>();
    }
  }

 private:
  class DepthGuard {
   public:
    explicit DepthGuard(Walker& walker) : walker_(walker) {
      if (++walker_.depth_ > serialization::max_walk_depth) {
        --walker_.depth_;
        throw serialization::serialization_error("stageflow::serialization: value nested deeper than " +
                                                 std::to_string(serialization::max_walk_depth) +
                                                 " levels (a pointer cycle?)");
      }
    }
    ~DepthGuard() { --walker_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Walker& walker_;
  };

  template <class Int>
  void integer_value(Int value) {
    if constexpr (std::is_signed_v<Int>)
      visitor_.integer(static_cast<std::int64_t>(value));
    else
      visitor_.integer(static_cast<std::uint64_t>(value));
  }

  template <class T>
  void structure(const T& object) {
    namespace hana = boost::hana;
    constexpr std::size_t count = decltype(hana::length(hana::accessors<T>()))::value;
    const DepthGuard guard(*this);
    visitor_.begin_struct(count);
    std::size_t index = 0;
    hana::for_each(hana::accessors<T>(), [&](auto accessor) {
      visitor_.member(member_name(hana::first(accessor)), index++);
      this->value(hana::second(accessor)(object));
    });
    visitor_.end_struct(count);
  }

  template <class Named>
  void named_values(const Named& values) {
    const DepthGuard guard(*this);
    visitor_.begin_struct(Named::size);
    std::size_t index = 0;
    values.for_each([&](std::string_view name, const auto& value) {
      visitor_.member(name, index++);
      this->value(value);
    });
    visitor_.end_struct(Named::size);
  }

  template <class Variant>
  void variant(const Variant& value) {
    if (value.valueless_by_exception()) {
      visitor_.null();
      return;
    }
    visitor_.begin_variant(value.index());
    std::visit([this](const auto& alternative) { this->value(alternative); }, value);
  }

  template <class Range>
  void sequence(const Range& range, Order order) {
    const DepthGuard guard(*this);
    visitor_.begin_array(order);
    std::size_t index = 0;
    for (const auto& item : range) {
      visitor_.element(index);
      this->value(item);
      ++index;
    }
    visitor_.end_array(order, index);
  }

  template <class Tuple>
  void tuple(const Tuple& value) {
    const DepthGuard guard(*this);
    visitor_.begin_array(Order::canonical);
    std::apply(
        [this](const auto&... items) {
          std::size_t index = 0;
          ((visitor_.element(index++), this->value(items)), ...);
        },
        value);
    visitor_.end_array(Order::canonical, std::tuple_size_v<Tuple>);
  }

  template <class Map>
  void map(const Map& map) {
    using Key = std::remove_cv_t<typename Map::key_type>;
    if constexpr (!key_type<Key>) {
      reject_key_type<Key>();
    } else {
      constexpr Order order = hashed<Map>                  ? Order::unordered
                              : ordered_by_key_text<Map>   ? Order::canonical
                                                           : Order::deterministic;
      const DepthGuard guard(*this);
      visitor_.begin_object(order);
      std::size_t index = 0;
      for (const auto& [key, mapped] : map) {
        this->key(key, index);
        this->value(mapped);
        visitor_.end_entry(index);
        ++index;
      }
      visitor_.end_object(order, index);
    }
  }

  template <class Key>
  void key(const Key& key, std::size_t index) {
    if constexpr (std::is_same_v<Key, bool> || std::is_same_v<Key, boost::uuids::uuid>)
      visitor_.key(key, index);
    else if constexpr (std::is_same_v<Key, char>)
      visitor_.key(std::string_view(&key, 1), index);
    else if constexpr (string_like<Key>)
      visitor_.key(std::string_view(key), index);
    else if constexpr (std::is_enum_v<Key>)
      this->key(static_cast<std::underlying_type_t<Key>>(key), index);
    else if constexpr (std::is_signed_v<Key>)
      visitor_.key(static_cast<std::int64_t>(key), index);
    else
      visitor_.key(static_cast<std::uint64_t>(key), index);
  }

  void json(const JsonValue& value) {
    value.visit([this](const auto& alternative) {
      using A = std::remove_cvref_t<decltype(alternative)>;
      if constexpr (std::is_same_v<A, std::nullptr_t>)
        visitor_.null();
      else if constexpr (std::is_same_v<A, JsonValue::Array>)
        sequence(alternative, Order::canonical);
      else if constexpr (std::is_same_v<A, JsonValue::Object>)
        map(alternative);
      else
        this->value(alternative);
    });
  }

  Visitor& visitor_;
  std::size_t depth_ = 0;
};

}  // namespace stageflow::detail
