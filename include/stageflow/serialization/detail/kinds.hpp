// SPDX-License-Identifier: BSL-1.0
// What the walk knows how to walk: one concept per kind of value, and the compile errors (a
// sentence each) for what it refuses. Internal to <stageflow/serialization/walk.hpp>.
#pragma once

#include <stageflow/detail/type_list.hpp>
#include <stageflow/json/value.hpp>
#include <stageflow/serialization/walk_as.hpp>

#include <boost/hana/concept/struct.hpp>
#include <boost/uuid/uuid.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

namespace stageflow::serialization {
template <class... Ts>
class NamedValues;  // named_values.hpp
class ValueImage;   // value_image.hpp
}  // namespace stageflow::serialization

namespace stageflow::detail {

template <class Visitor>
struct ImageReplay;  // value_image.hpp: replays an image to a visitor, so visitors befriend it with Walker

template <class T, template <class...> class Template>
inline constexpr bool is_specialization_of = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_specialization_of<Template<Args...>, Template> = true;

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
    is_specialization_of<T, serialization::NamedValues> || std::is_same_v<T, serialization::ValueImage> || (iterable<T> && !multimap<T>) || tuple_like<T>;

/// Stops compilation with a message, instantiated with the offending type so the compiler names it
/// ("In instantiation of ... [with T = YourType]").
template <class T>
void reject_unwalkable() {
  static_assert(always_false<T>,
                "stageflow::serialization: this type cannot be walked (serialized, measured or fingerprinted). "
                "Make it walkable: adapt the struct with BOOST_HANA_DEFINE_STRUCT or BOOST_HANA_ADAPT_STRUCT, or "
                "specialize stageflow::serialization::walk_as<T> with a static view(const T&) that returns a "
                "walkable value. The compiler names the type in the instantiation notes (T = ...).");
}

template <class T>
void reject_raw_pointer() {
  static_assert(always_false<T>,
                "stageflow::serialization: raw pointers are not followed (they may point to an array, or to data the "
                "value does not own). Hold the data by value, in a std::unique_ptr or std::shared_ptr (followed), or "
                "view an array as a std::span. The compiler names the type in the instantiation notes (T = ...).");
}

template <class T>
void reject_multimap() {
  static_assert(always_false<T>,
                "stageflow::serialization: multimaps cannot be walked: JSON object keys are unique. "
                "Use a map of vectors (std::map<K, std::vector<V>>) instead. The compiler names the type in the "
                "instantiation notes (T = ...).");
}

template <class T>
void reject_key_type() {
  static_assert(always_false<T>,
                "stageflow::serialization: this map key type has no JSON text. Map keys must be strings, integers, "
                "enums, bool or boost::uuids::uuid. The compiler names the key type in the instantiation notes "
                "(T = ...).");
}

}  // namespace stageflow::detail
