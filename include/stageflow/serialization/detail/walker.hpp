// SPDX-License-Identifier: BSL-1.0
// The walker behind stageflow::serialization::walk(): type dispatch and traversal. Internal: include
// <stageflow/serialization/walk.hpp>.
#pragma once

#include <stageflow/json/value.hpp>
#include <stageflow/serialization/detail/kinds.hpp>
#include <stageflow/serialization/error.hpp>
#include <stageflow/serialization/order.hpp>
#include <stageflow/serialization/walk_as.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/uuid/uuid.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace stageflow::detail {

using serialization::Order;

template <class Hana>
std::string_view member_name(Hana) noexcept {
  return {boost::hana::to<char const*>(Hana{}), decltype(boost::hana::length(Hana{}))::value};
}

/// A Hana struct's member names, in declaration order; static, so their address may be kept.
template <class T>
inline const auto member_names = [] {
  namespace hana = boost::hana;
  std::array<std::string_view, decltype(hana::length(hana::accessors<T>()))::value> names{};
  std::size_t i = 0;
  hana::for_each(hana::accessors<T>(), [&](auto accessor) { names[i++] = member_name(hana::first(accessor)); });
  return names;
}();

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
    } else if constexpr (std::is_same_v<U, serialization::ValueImage>) {
      value.replay(visitor_);  // the recorded value's walk, as it was (depth was checked then)
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
    // Entered for every container: the check stays inline, the throw (with its string) does not.
    explicit DepthGuard(Walker& walker) : walker_(walker) {
      if (++walker_.depth_ > serialization::max_walk_depth) [[unlikely]] {
        --walker_.depth_;
        too_deep();
      }
    }
    ~DepthGuard() { --walker_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Walker& walker_;
  };

#if defined(__GNUC__) || defined(__clang__)
  [[gnu::noinline, gnu::cold]]
#endif
  [[noreturn]] static void too_deep() {
    throw serialization::SerializationError("stageflow::serialization: value nested deeper than " +
                                             std::to_string(serialization::max_walk_depth) +
                                             " levels (a pointer cycle?)");
  }

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
    if constexpr (requires { visitor_.begin_struct(count, member_names<T>.data()); }) {
      // The visitor takes the names once, as a static table (ValueImage keeps its address).
      visitor_.begin_struct(count, member_names<T>.data());
      hana::for_each(hana::accessors<T>(), [&](auto accessor) { this->value(hana::second(accessor)(object)); });
    } else {
      visitor_.begin_struct(count);
      std::size_t index = 0;
      hana::for_each(hana::accessors<T>(), [&](auto accessor) {
        visitor_.member(member_name(hana::first(accessor)), index++);
        this->value(hana::second(accessor)(object));
      });
    }
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
