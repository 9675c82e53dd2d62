// SPDX-License-Identifier: BSL-1.0
// Eight trivial stages in a chain, on which benchmarks time what a policy adds per stage: each
// stage is one multiply-add on its input (the snapshot's `seed` for the first), about a nanosecond,
// so the runner's own cost is what shows.
#pragma once

#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace stageflow::bench {

template <int I>
struct Mix {
  static constexpr std::string_view name = std::array{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"}[I];
  using depends_on = std::conditional_t<I == 0, after<>, after<Mix<I - 1>>>;
  std::uint64_t execute(const auto& ctx) const {
    if constexpr (I == 0)
      return ctx.snapshot().seed * 0x9E3779B97F4A7C15ULL + I;
    else
      return *input<Mix<I - 1>>(ctx) * 0x9E3779B97F4A7C15ULL + I;
  }
};

using MixChain = Pipeline<Mix<0>, Mix<1>, Mix<2>, Mix<3>, Mix<4>, Mix<5>, Mix<6>, Mix<7>>;

}  // namespace stageflow::bench
