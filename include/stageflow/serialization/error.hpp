// SPDX-License-Identifier: BSL-1.0
// The one run-time error of the walk: a value nested too deep (a pointer cycle).
#pragma once

#include <cstddef>
#include <stdexcept>

namespace stageflow::serialization {

/// A value that cannot be walked at run time: nesting deeper than max_walk_depth (a pointer cycle).
class SerializationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The name this error had before error types had one naming rule (kept for existing catch clauses).
using serialization_error = SerializationError;

/// Containers and followed pointers nested deeper than this throw SerializationError, so a
/// shared_ptr cycle is an error instead of a stack overflow. parse_json allows 1024 levels.
inline constexpr std::size_t max_walk_depth = 2048;

}  // namespace stageflow::serialization
