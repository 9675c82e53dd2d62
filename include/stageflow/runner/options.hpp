// SPDX-License-Identifier: BSL-1.0
// Runner options and compile-time switches. None of these is a policy; the runner reads them
// from its argument list and removes them, so they cost nothing at run time.
//
//   Runner<debug_only<ImmutabilityInterceptor>>      // gone when NDEBUG (or -Dhardening=off)
//   Runner<enable_if<kAudit, ContextSizeInterceptor>>  // gone when kAudit is false
//   Runner<use_clock<FakeClock>, ...>                  // stage durations from another clock
//   Runner<use_clock<no_clock>, ...>                   // no timing at all (durations are zero)
#pragma once

#include <stageflow/config.hpp>

#include <chrono>
#include <type_traits>

namespace stageflow {

/// A policy that was switched off at compile time. The runner drops it: no member, no call.
template <class P>
struct disabled {
  using policy_type = P;
};

/// P in builds with hardening (debug builds, or Meson's -Dhardening=on), nothing otherwise.
template <class P>
using debug_only = std::conditional_t<hardening_enabled, P, disabled<P>>;

/// P when Enabled, nothing otherwise.
template <bool Enabled, class P>
using enable_if = std::conditional_t<Enabled, P, disabled<P>>;

/// The clock for stage and run durations (default std::chrono::steady_clock). C::now() is static.
template <class C>
struct use_clock {
  using clock = C;
};

/// A clock that never reads the time: for runs where even a clock read per stage is too much.
struct no_clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<no_clock, duration>;
  static constexpr bool is_steady = true;
  static constexpr time_point now() noexcept { return time_point{}; }
};

/// The scheduler that decides when each stage runs (default SequentialExecutor).
template <class E>
struct use_executor {
  using executor = E;
};

}  // namespace stageflow
