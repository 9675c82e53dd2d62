// SPDX-License-Identifier: BSL-1.0
// The one walk over a value: reflection over Boost.Hana structs and the standard types, shared by
// the JSON writer, the byte counter and the fingerprint (each is a visitor of this walk), so the
// three agree on what a value contains and in which order.
//
// What can be walked, and its JSON form:
//   Hana structs (BOOST_HANA_DEFINE_STRUCT, BOOST_HANA_ADAPT_STRUCT)  object, members in declaration order
//   std::string, std::string_view, const char* (null: null), char[N]   string (char[N] up to its first NUL)
//   char                                                                one-character string
//   bool; signed and unsigned integers; enums (their underlying value)  true/false; integer
//   float, double, long double                                          shortest round-trip number; NaN/Inf: null
//   std::nullptr_t, std::monostate                                      null
//   std::optional<T>                                                    null or the value
//   std::variant<T...>                                                  the active alternative's value
//   std::unique_ptr<T>, std::shared_ptr<T>, std::reference_wrapper<T>   followed ("deep"); a null pointer: null
//   sequences (vector, deque, list, array, span, C arrays...)           array
//   std::pair, std::tuple                                               array
//   sets (std::set, std::unordered_set...)                              array (a hash set in canonical order)
//   maps (std::map, std::unordered_map...) keyed by strings, integers,  object, keys sorted by their text
//     enums, bool or boost::uuids::uuid
//   boost::uuids::uuid                                                  its canonical text
//   stageflow::JsonValue (and so stageflow::ContextSnapshot)            itself
//   serialization::NamedValues (named_values.hpp)                       object of the named values, in order
//   serialization::ValueImage (value_image.hpp)                         the value it recorded
//
// Anything else is a compile error that names the type and says how to make it walkable: adapt the
// struct with Boost.Hana, or specialize stageflow::serialization::walk_as<T> with a static `view`
// that returns something walkable (handy for classes with private members):
//
//   template <> struct stageflow::serialization::walk_as<Money> {
//     static std::int64_t view(const Money& m) { return m.cents(); }
//   };
//
// Visitor protocol (what walk() calls; every consumer implements all of it):
//   null(); boolean(bool); integer(std::int64_t); integer(std::uint64_t); floating(F) for each float
//   type; string(std::string_view); uuid(const boost::uuids::uuid&);
//   begin_variant(index): before the active alternative's value;
//   begin_struct(n), member(name, i) before each member's value, end_struct(n); a visitor that also
//     has begin_struct(n, const std::string_view* names) gets that instead for Hana structs, with
//     their static table of member names, and no member() calls;
//   begin_array(order), element(i) before each element, end_array(order, count);
//   begin_object(order), key(k, i) before each value, end_entry(i) after it, end_object(order, count),
//     where k is a std::string_view, std::int64_t, std::uint64_t, bool or boost::uuids::uuid.
#pragma once

#include <stageflow/serialization/detail/walker.hpp>
#include <stageflow/serialization/error.hpp>    // SerializationError, max_walk_depth
#include <stageflow/serialization/order.hpp>    // Order
#include <stageflow/serialization/walk_as.hpp>  // the customization point

#include <type_traits>

namespace stageflow::serialization {

/// True when T is of a kind the walk knows (its parts are checked when they are walked): usable in
/// a `requires` clause to reject an unreflected type early.
template <class T>
concept Walkable = detail::known_kind<std::remove_cv_t<T>>;

/// The name Walkable had before concepts had one naming rule (policies and users may use it).
template <class T>
concept walkable_kind = Walkable<T>;

/// Walks `value` depth-first, calling the visitor's hooks (see the protocol at the top of this file).
template <class T, class Visitor>
void walk(const T& value, Visitor& visitor) {
  detail::Walker<Visitor>(visitor).value(value);
}

}  // namespace stageflow::serialization
