// SPDX-License-Identifier: BSL-1.0
// Minimal type-list tools for the pipeline model. Plain pack expansion instead of Boost.Hana here:
// these run in every translation unit that names a Pipeline, so they must be cheap to compile.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

namespace stageflow::detail {

template <class... Ts>
struct type_list {
  static constexpr std::size_t size = sizeof...(Ts);
};

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

/// Index of T in Ts..., or npos.
template <class T, class... Ts>
consteval std::size_t index_of() {
  constexpr bool matches[] = {std::is_same_v<T, Ts>..., false};
  for (std::size_t i = 0; i < sizeof...(Ts); ++i)
    if (matches[i]) return i;
  return npos;
}

template <class T, class... Ts>
inline constexpr bool contains_v = (std::is_same_v<T, Ts> || ...);

/// The I-th type of a pack.
template <std::size_t I, class... Ts>
using nth_type = std::tuple_element_t<I, std::tuple<Ts...>>;

/// The I-th type of a type_list.
template <std::size_t I, class List>
struct list_element;
template <std::size_t I, class... Ts>
struct list_element<I, type_list<Ts...>> {
  using type = nth_type<I, Ts...>;
};
template <std::size_t I, class List>
using list_element_t = typename list_element<I, List>::type;

/// The one "always false" for a static_assert that must fire only when its template is used.
template <class...>
inline constexpr bool always_false = false;

}  // namespace stageflow::detail

