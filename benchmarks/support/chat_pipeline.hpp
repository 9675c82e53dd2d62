// SPDX-License-Identifier: BSL-1.0
// The chat workload of the policy and checkpoint benchmarks: a chain of four small stages and the
// 2.5 KB chat snapshot they run on.
#pragma once

#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>

#include <array>
#include <string>
#include <string_view>
#include <type_traits>

namespace stageflow::bench {

// Four small stages of a chat request; outputs are short strings.
template <int I>
struct Step {
  static constexpr std::string_view name = std::array{"normalize", "enrich", "route", "reply"}[I];
  using depends_on = std::conditional_t<I == 0, after<>, after<Step<I - 1>>>;
  std::string execute(const auto& ctx) const {
    std::string out;
    if constexpr (I == 0)
      out = ctx.snapshot().input_text;
    else
      out = *input<Step<I - 1>>(ctx);
    out.push_back(static_cast<char>('a' + I));
    return out;
  }
};
using Chat = Pipeline<Step<0>, Step<1>, Step<2>, Step<3>>;
constexpr int stages = 4;

/// A chat snapshot: 20 messages and some metadata, 2,512 bytes of canonical JSON.
inline ContextSnapshot chat_snapshot() {
  ContextSnapshot s{.run = RunIdentity::generate(), .input_text = "Where is my invoice for March?"};
  for (int i = 0; i < 20; ++i)
    s.messages.push_back({i % 2 ? "assistant" : "user", "message number " + std::to_string(i) +
                                                            " with a sentence or two of ordinary chat text in it."});
  s.metadata = JsonValue::object({{"user", JsonValue::object({{"tier", "pro"}, {"locale", "en-GB"}})},
                                  {"channel", "web"},
                                  {"experiments", JsonValue::array({"a", "b", "c"})}});
  return s;
}

}  // namespace stageflow::bench
