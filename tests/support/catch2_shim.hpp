// SPDX-License-Identifier: BSL-1.0
// The one include for Catch2 in stageflow's tests: works with Catch2 v2 (Debian 12) and v3.
#pragma once

#if __has_include(<catch2/catch_test_macros.hpp>)
#  include <catch2/catch_approx.hpp>
#  include <catch2/catch_template_test_macros.hpp>
#  include <catch2/catch_test_macros.hpp>
#  include <catch2/matchers/catch_matchers_string.hpp>
#  define STAGEFLOW_SKIP(message) SKIP(message)
#else
#  include <catch2/catch.hpp>

#  include <atomic>

namespace stageflow::testing {
/// Test cases left by STAGEFLOW_SKIP in this program. catch_main.cpp exits with 77 (Meson's SKIP)
/// when any was skipped and none failed, so a test whose data is missing never shows as OK.
inline std::atomic<int>& skipped_test_cases() noexcept {
  static std::atomic<int> count{0};
  return count;
}
}  // namespace stageflow::testing

// v2 has no SKIP: say why, count it, and leave the test case.
#  define STAGEFLOW_SKIP(message)                       \
    do {                                                \
      WARN("skipped: " << message);                     \
      ++::stageflow::testing::skipped_test_cases();     \
      return;                                           \
    } while (false)
#endif
