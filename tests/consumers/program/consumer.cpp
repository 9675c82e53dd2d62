// SPDX-License-Identifier: BSL-1.0
// The program every consumer test builds from outside the repository, the way a user would:
// a two-stage pipeline whose second stage has a planted bug (it edits the shared snapshot),
// run by a Runner whose immutability check is debug_only, plus one delta compression (so the
// link line must carry simdjson, and xxHash must need no library of its own).
//
//   consumer <on|off>   exit 0 when hardening is as expected and the run matches it:
//     on:  the check is compiled in, catches the edit, the run fails naming the field
//     off: the check is compiled out (Runner<debug_only<P>> is Runner<>), the run completes
#include <stageflow/compression.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/stageflow.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

struct Greet {
  static constexpr std::string_view name = "greet";
  std::string execute(const auto& ctx) const { return "hello, " + ctx.snapshot().input_text; }
};

struct Upgrade {
  static constexpr std::string_view name = "upgrade";
  using depends_on = stageflow::after<Greet>;
  std::string execute(const auto& ctx) const {
    // The planted bug: a stage "fixes" the user's tier in the snapshot every stage shares.
    const_cast<stageflow::JsonValue&>(ctx.snapshot().metadata)["tier"] = "pro";
    return *stageflow::input<Greet>(ctx) + "!";
  }
};

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "on") != 0 && std::strcmp(argv[1], "off") != 0)) {
    std::fprintf(stderr, "usage: consumer on|off (the hardening this build must have)\n");
    return 2;
  }
  const bool expect_on = std::strcmp(argv[1], "on") == 0;
  namespace sp = stageflow::pipeline;
  using Checked = stageflow::Runner<stageflow::debug_only<sp::ImmutabilityInterceptor>>;
  constexpr bool compiled_out = std::is_same_v<Checked, stageflow::Runner<>>;

  stageflow::Pipeline<Greet, Upgrade> pipeline;
  Checked runner;
  const auto result = runner.run(pipeline, stageflow::ContextSnapshot{
      .input_text = "world", .metadata = stageflow::JsonValue::object({{"tier", "free"}})});
  const bool caught = !result.ok() && result.error.find("metadata.tier") != std::string::npos;

  const auto [delta, metrics] = stageflow::compression::compress(R"({"tier":"free"})", R"({"tier":"pro"})");
  const std::string rebuilt = stageflow::compression::apply_delta(R"({"tier":"free"})", delta);

  std::printf("hardening: %s\n", stageflow::hardening_enabled ? "on" : "off");
  std::printf("immutability check: %s\n", compiled_out ? "compiled out" : "compiled in");
  std::printf("run: %s%s%s\n", std::string(stageflow::to_string(result.status)).c_str(), result.ok() ? "" : ": ",
              result.error.c_str());
  std::printf("delta: %s\n", delta.c_str());

  bool ok = stageflow::hardening_enabled == expect_on && compiled_out == !expect_on &&
            rebuilt == R"({"tier":"pro"})" && delta == R"([{"op":"replace","path":"/tier","value":"pro"}])";
  ok = ok && (expect_on ? caught : result.ok() && *result.output<Upgrade>() == "hello, world!");
  std::printf("%s\n", ok ? "consumer: OK" : "consumer: FAILED");
  return ok ? 0 : 1;
}
