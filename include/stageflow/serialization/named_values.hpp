// SPDX-License-Identifier: BSL-1.0
// Several values walked as one object, each under a name chosen at run time: how a hardening
// policy records the snapshot together with the stage outputs a stage can see.
//
//   tree.record(named_values(named("snapshot", snapshot), named("fetch_profile", profile)));
//   // JSON: {"snapshot":{...},"fetch_profile":{...}}; changed paths: snapshot.metadata.user.tier,
//   // fetch_profile.items[2]
//
// A view: it holds references, so build it where it is walked. Names are used as given (a name
// that is not an identifier is quoted in paths); keep them distinct.
#pragma once

#include <stageflow/serialization/walk.hpp>

#include <cstddef>
#include <string_view>
#include <tuple>

namespace stageflow::serialization {

/// A value and its name; refers to the value.
template <class T>
struct Named {
  std::string_view name;
  const T& value;
};

template <class T>
Named<T> named(std::string_view name, const T& value) noexcept {
  return {name, value};
}
/// A temporary would be gone before the walk: name something that outlives the view.
template <class T>
Named<T> named(std::string_view name, const T&& value) = delete;

template <class... Ts>
class NamedValues {
 public:
  static constexpr std::size_t size = sizeof...(Ts);

  explicit NamedValues(Named<Ts>... values) noexcept : values_(values...) {}

  /// Calls f(name, value) for each, in order.
  template <class F>
  void for_each(F&& f) const {
    std::apply([&f](const auto&... value) { (f(value.name, value.value), ...); }, values_);
  }

 private:
  std::tuple<Named<Ts>...> values_;
};

template <class... Ts>
NamedValues<Ts...> named_values(Named<Ts>... values) noexcept {
  return NamedValues<Ts...>(values...);
}

}  // namespace stageflow::serialization
