// SPDX-License-Identifier: BSL-1.0
// The walk's customization point: walk a type as another value (see walk.hpp).
//
//   template <> struct stageflow::serialization::walk_as<Money> {
//     static std::int64_t view(const Money& m) { return m.cents(); }
//   };
#pragma once

namespace stageflow::serialization {

/// Customization point: specialize with `static auto view(const T&)` (or returning a reference)
/// to walk T as the value `view` returns.
template <class T>
struct walk_as;

}  // namespace stageflow::serialization
