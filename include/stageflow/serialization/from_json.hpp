// SPDX-License-Identifier: BSL-1.0
// Reading back what to_json writes: the value of a walkable type from JSON text or a JsonValue.
//
//   auto snapshot = stageflow::from_json<stageflow::ContextSnapshot>(text);
//   stageflow::from_json<T>(stageflow::serialization::to_json(x)) == x   // for every readable kind
//
// Readable: every kind walk.hpp lists that owns its data: Hana structs, std::string, char and char[N],
// bool, integers (range-checked) and enums, floating point (null reads as NaN, as NaN and the
// infinities are written as null; an integer is accepted), std::nullptr_t and std::monostate,
// optionals, variants (the first alternative that reads the JSON wins: give alternatives distinct
// JSON forms for an exact round trip), unique_ptr and shared_ptr (a fresh object; null: empty),
// sequences, std::array and C arrays (exact length), pairs and tuples, sets, maps (keys from their
// text), boost::uuids::uuid and JsonValue. A type walked through walk_as<T> is read when walk_as<T>
// also has `static T from_view(View)`. A struct member that is missing is an error unless it is an
// optional (then it stays empty); members the struct does not have are ignored.
//
// Views (std::string_view, const char*, std::span, std::reference_wrapper) are a compile error:
// there is nothing for them to point at. JSON that does not fit throws FromJsonError naming the
// path: `messages[2].role: expected a string, found an integer`; malformed text throws
// JsonParseError (json/parse.hpp) saying where.
#pragma once

#include <stageflow/json/parse.hpp>
#include <stageflow/serialization/detail/json_reader.hpp>

#include <string_view>
#include <type_traits>

namespace stageflow::serialization {

/// The value of type T that `input` describes: a JsonValue, or JSON text (anything convertible to
/// std::string_view). Throws FromJsonError naming the path of a mismatch, JsonParseError when the
/// text is not JSON. (One template for both, so a std::string is always text, never a JsonValue string.)
template <class T, class Input>
  requires(std::is_default_constructible_v<T> && !std::is_reference_v<T> &&
           (std::is_same_v<Input, JsonValue> || std::is_convertible_v<const Input&, std::string_view>))
T from_json(const Input& input) {
  if constexpr (!std::is_same_v<Input, JsonValue>) {
    return from_json<T>(parse_json(std::string_view(input)));
  } else if constexpr (std::is_same_v<T, JsonValue>) {
    return input;
  } else {
    T out{};
    detail::JsonReader().value(input, out);
    return out;
  }
}

}  // namespace stageflow::serialization

namespace stageflow {
using serialization::from_json;
using serialization::FromJsonError;
}  // namespace stageflow
