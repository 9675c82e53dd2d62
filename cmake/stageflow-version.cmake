# SPDX-License-Identifier: BSL-1.0
# The version, read from include/stageflow/version.hpp (the one place it is written). Sets
# STAGEFLOW_VERSION ("MAJOR.MINOR.PATCH"). Run as a script (cmake -P) it prints the version:
# tests/version/check_version.py compares it with Meson's, pkg-config's and the CLI's.
file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../include/stageflow/version.hpp" _stageflow_version_lines
     REGEX "^#define STAGEFLOW_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
set(STAGEFLOW_VERSION "")
foreach(_stageflow_part MAJOR MINOR PATCH)
  string(REGEX MATCH "STAGEFLOW_VERSION_${_stageflow_part} ([0-9]+)" _ "${_stageflow_version_lines}")
  if(CMAKE_MATCH_1 STREQUAL "")
    message(FATAL_ERROR "stageflow: no STAGEFLOW_VERSION_${_stageflow_part} in include/stageflow/version.hpp")
  endif()
  list(APPEND STAGEFLOW_VERSION "${CMAKE_MATCH_1}")
endforeach()
list(JOIN STAGEFLOW_VERSION "." STAGEFLOW_VERSION)
unset(_stageflow_part)
unset(_stageflow_version_lines)
if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  message("${STAGEFLOW_VERSION}")
endif()
