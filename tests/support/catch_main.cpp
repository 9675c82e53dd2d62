// SPDX-License-Identifier: BSL-1.0
// Catch2 v2 main, compiled once into a static library (v3 links Catch2WithMain instead).
// A program whose test cases all passed but some were skipped (STAGEFLOW_SKIP: missing shared
// data, a platform without a memory source) exits with 77, which Meson reports as SKIP.
#define CATCH_CONFIG_RUNNER
#include "catch2_shim.hpp"

#include <cstdio>

int main(int argc, char* argv[]) {
  const int failed = Catch::Session().run(argc, argv);
  if (failed != 0) return failed;
  if (const int skipped = stageflow::testing::skipped_test_cases().load(); skipped > 0) {
    std::fprintf(stderr, "%d test case%s skipped: exit status 77 (SKIP)\n", skipped, skipped == 1 ? "" : "s");
    return 77;
  }
  return 0;
}
