// SPDX-License-Identifier: BSL-1.0
// stageflow configuration macros.
//
// STAGEFLOW_HARDENING decides whether `debug_only<P>` keeps P (1) or removes it (0).
// Meson's `hardening` option and the CMake target define it; left undefined (pkg-config, a plain
// compiler line, an installed package found by a Meson project) the build's own flags decide:
// NDEBUG or any optimization (__OPTIMIZE__: -O1, -O2, -O3, -Os, -Og) drops debug-only checks,
// an unoptimized build keeps them. So an installed stageflow follows its consumer's build type as
// the subproject does, although Meson's release builds do not define NDEBUG.
#pragma once

// C++20 first, before anything that needs it: without this, a pre-C++20 compile reports
// thousands of unrelated errors from deeper headers. #error alone does not stop a compiler, so
// the missing include after it ends the compile right there (its name repeats the advice).
#if (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 202002L
#  error "stageflow requires C++20: compile with -std=c++20 (g++ >= 12, clang >= 14; MSVC: /std:c++20)"
#  include <stageflow: compile with -std=c++20>
#endif

#ifndef STAGEFLOW_HARDENING
#  if defined(NDEBUG) || defined(__OPTIMIZE__)
#    define STAGEFLOW_HARDENING 0
#  else
#    define STAGEFLOW_HARDENING 1
#  endif
#endif

// Empty members (policies without configuration, null sinks) take no space.
#if defined(_MSC_VER) && !defined(__clang__)
#  define STAGEFLOW_NO_UNIQUE_ADDRESS [[msvc::no_unique_address]]
#else
#  define STAGEFLOW_NO_UNIQUE_ADDRESS [[no_unique_address]]
#endif

namespace stageflow {
/// True when debug-only hardening policies are compiled in.
inline constexpr bool hardening_enabled = STAGEFLOW_HARDENING != 0;
}  // namespace stageflow
