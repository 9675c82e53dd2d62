// SPDX-License-Identifier: BSL-1.0
// A raw pointer is not followed (it may be an array, or not owned): use a smart pointer.
// expect-error: raw pointers are not followed
// expect-error: std::unique_ptr
// expect-max-errors: 2
#include <stageflow/serialization/byte_count.hpp>

#include <memory>

int main() {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  const auto value = std::make_unique<int>(7);
#else
  int seven = 7;
  int* const value = &seven;
#endif
  return static_cast<int>(stageflow::serialization::byte_count(value));
}
