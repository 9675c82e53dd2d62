// SPDX-License-Identifier: BSL-1.0
// Zero cost when disabled: a disabled policy leaves nothing in the runner's type.
// Compiled as a release-like build would: hardening off, whatever this build's setting.
#undef STAGEFLOW_HARDENING
#define STAGEFLOW_HARDENING 0

#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/sinks/null_sink.hpp>

#include "catch2_shim.hpp"

using namespace stageflow;

namespace {

struct ExpensiveCheck {
  std::array<char, 4096> configuration{};
  struct run_state {
    std::array<char, 4096> scratch;
  };
  void before_stage(run_state&, auto&, auto&) const {}
  void after_stage(run_state&, auto&, auto&) const {}
};

struct Cheap {
  void before_stage(auto&, auto&) const {}
};

}  // namespace

TEST_CASE("debug_only<P> is removed from the runner's type in a release build", "[zero_cost]") {
  STATIC_REQUIRE_FALSE(hardening_enabled);
  STATIC_REQUIRE(std::is_same_v<debug_only<ExpensiveCheck>, disabled<ExpensiveCheck>>);
  STATIC_REQUIRE(std::is_same_v<Runner<debug_only<ExpensiveCheck>>, Runner<>>);
  STATIC_REQUIRE(std::is_same_v<Runner<debug_only<ExpensiveCheck>, Cheap>, Runner<Cheap>>);
  STATIC_REQUIRE(std::is_same_v<Runner<Cheap, debug_only<ExpensiveCheck>, NullSink>, Runner<Cheap>>);
}

TEST_CASE("the hardening policies vanish too when debug_only in a release build", "[zero_cost]") {
  using Hardened = Runner<debug_only<pipeline::ImmutabilityInterceptor>, debug_only<pipeline::ContextSizeInterceptor>,
                          debug_only<pipeline::MemoryTracking>, debug_only<pipeline::UuidTelemetry<>>>;
  STATIC_REQUIRE(std::is_same_v<Hardened, Runner<>>);
  // Constructor arguments for them are accepted and dropped, so one source builds both ways.
  Hardened runner(pipeline::ImmutabilityInterceptor({.crash_on_violation = true}),
                  pipeline::ContextSizeInterceptor({.max_size_bytes = 1024}));
  STATIC_REQUIRE(sizeof(runner) == 1);
}

TEST_CASE("enable_if<false, P> is removed, enable_if<true, P> is P", "[zero_cost]") {
  STATIC_REQUIRE(std::is_same_v<Runner<enable_if<false, ExpensiveCheck>>, Runner<>>);
  STATIC_REQUIRE(std::is_same_v<Runner<enable_if<true, Cheap>>, Runner<Cheap>>);
}

TEST_CASE("empty policies and the empty runner take no space", "[zero_cost]") {
  STATIC_REQUIRE(sizeof(Runner<>) == 1);
  STATIC_REQUIRE(sizeof(Runner<Cheap>) == 1);
  STATIC_REQUIRE(sizeof(Runner<ExpensiveCheck>) >= 4096);  // the check above can fail
}
