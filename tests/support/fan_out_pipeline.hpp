// SPDX-License-Identifier: BSL-1.0
// A small pipeline for the observability tests: `load`, then `check` and `enrich`, which both run
// after it. `check` ends as the snapshot's input_text asks, so one pipeline shows every outcome:
//   "skip"             skips ("nothing to check")
//   "cancel"           cancels ("user hung up")
//   "throw"            throws ("checker crashed")
//   "fail..."          fails, with the whole text as the reason ("fail: bad \xff byte" tests escaping)
//   anything else      ok
#pragma once

#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/stage_output.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace stageflow::test {

struct Load {
  static constexpr std::string_view name = "load";
  int execute(const auto&) const { return 1; }
};
struct Check {
  static constexpr std::string_view name = "check";
  using depends_on = after<Load>;
  StageOutput<int> execute(const auto& ctx) const {
    const std::string& asked = ctx.snapshot().input_text;
    if (asked == "skip") return skip("nothing to check");
    if (asked == "cancel") return cancel("user hung up");
    if (asked == "throw") throw std::runtime_error("checker crashed");
    if (asked.rfind("fail", 0) == 0) return fail(asked);
    return 2;
  }
};
struct Enrich {
  static constexpr std::string_view name = "enrich";
  using depends_on = after<Load>;
  int execute(const auto&) const { return 3; }
};
using FanOut = Pipeline<Load, Check, Enrich>;

}  // namespace stageflow::test
