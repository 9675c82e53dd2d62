// SPDX-License-Identifier: BSL-1.0
// How a container's iteration order relates to its canonical order: what each consumer of the walk
// must do about it (the writer sorts, the fingerprint combines hash entries order-independently).
#pragma once

#include <cstdint>

namespace stageflow::serialization {

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
