// SPDX-License-Identifier: BSL-1.0
// The version of stageflow: the one place it is written. Meson (meson.build), CMake
// (cmake/stageflow-version.cmake), the pkg-config file, the CMake package, stageflow-delta
// --version and the OTLP span sink all read it from here; tests/version checks that they agree.
// What a version may change: CHANGELOG.md, "Compatibility policy".
#pragma once

#include <string_view>

#define STAGEFLOW_VERSION_MAJOR 0
#define STAGEFLOW_VERSION_MINOR 1
#define STAGEFLOW_VERSION_PATCH 0

#define STAGEFLOW_VERSION_TEXT_(major, minor, patch) #major "." #minor "." #patch
#define STAGEFLOW_VERSION_TEXT(major, minor, patch) STAGEFLOW_VERSION_TEXT_(major, minor, patch)
/// "MAJOR.MINOR.PATCH", a string literal.
#define STAGEFLOW_VERSION_STRING \
  STAGEFLOW_VERSION_TEXT(STAGEFLOW_VERSION_MAJOR, STAGEFLOW_VERSION_MINOR, STAGEFLOW_VERSION_PATCH)
/// One number that grows with every version: MAJOR * 10000 + MINOR * 100 + PATCH, for `#if`.
#define STAGEFLOW_VERSION \
  (STAGEFLOW_VERSION_MAJOR * 10000 + STAGEFLOW_VERSION_MINOR * 100 + STAGEFLOW_VERSION_PATCH)

namespace stageflow {

/// The version of the headers the program was compiled with, "MAJOR.MINOR.PATCH".
constexpr std::string_view version() noexcept { return STAGEFLOW_VERSION_STRING; }

}  // namespace stageflow
