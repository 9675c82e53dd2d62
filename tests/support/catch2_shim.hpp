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
// v2 has no SKIP: say why and leave the test case.
#  define STAGEFLOW_SKIP(message) \
    do {                          \
      WARN("skipped: " << message); \
      return;                     \
    } while (false)
#endif
