# SPDX-License-Identifier: BSL-1.0
# Declares what the INTERFACE target stageflow::stageflow carries. Shared by the root
# CMakeLists.txt (add_subdirectory / FetchContent) and the installed stageflowConfig.cmake
# (find_package after `meson install`), so both give a consumer the same flags:
#   include path, C++20, Boost (header-only Hana and Uuid), simdjson, threads, the xxHash header
#   (inlined: no -lxxhash), and STAGEFLOW_HARDENING by the consumer's build type.
#
# Hardening (what stageflow::debug_only<P> means), cache variable STAGEFLOW_HARDENING:
#   auto  Debug -> on; Release, RelWithDebInfo, MinSizeRel -> off; any other or no build type ->
#         NDEBUG decides (include/stageflow/config.hpp). Evaluated per configuration, so
#         multi-config generators get it right too.
#   on    always on          off   always off (zero cost)
include_guard(GLOBAL)

function(stageflow_define_target target include_dir hardening)
  find_package(Threads REQUIRED)
  find_package(Boost 1.74 REQUIRED)
  if(NOT TARGET simdjson::simdjson)
    find_package(simdjson 3 CONFIG QUIET)
  endif()
  if(TARGET simdjson::simdjson)
    set(simdjson_target simdjson::simdjson)
  else()
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(stageflow_simdjson REQUIRED IMPORTED_TARGET GLOBAL "simdjson>=3.0")
    set(simdjson_target PkgConfig::stageflow_simdjson)
  endif()
  find_path(STAGEFLOW_XXHASH_INCLUDE_DIR xxhash.h DOC "Directory of xxHash's xxhash.h (inlined by stageflow)")
  if(NOT STAGEFLOW_XXHASH_INCLUDE_DIR)
    message(FATAL_ERROR "stageflow: xxhash.h not found (Debian: apt-get install libxxhash-dev; "
                        "or set STAGEFLOW_XXHASH_INCLUDE_DIR)")
  endif()

  target_include_directories(${target} INTERFACE "${include_dir}")
  target_include_directories(${target} SYSTEM INTERFACE "${STAGEFLOW_XXHASH_INCLUDE_DIR}")
  target_compile_features(${target} INTERFACE cxx_std_20)
  target_link_libraries(${target} INTERFACE Boost::headers ${simdjson_target} Threads::Threads)

  string(TOLOWER "${hardening}" hardening)
  if(hardening STREQUAL "on")
    target_compile_definitions(${target} INTERFACE STAGEFLOW_HARDENING=1)
  elseif(hardening STREQUAL "off")
    target_compile_definitions(${target} INTERFACE STAGEFLOW_HARDENING=0)
  elseif(hardening STREQUAL "auto")
    target_compile_definitions(${target} INTERFACE
      "$<$<CONFIG:Debug>:STAGEFLOW_HARDENING=1>"
      "$<$<CONFIG:Release>:STAGEFLOW_HARDENING=0>"
      "$<$<CONFIG:RelWithDebInfo>:STAGEFLOW_HARDENING=0>"
      "$<$<CONFIG:MinSizeRel>:STAGEFLOW_HARDENING=0>")
  else()
    message(FATAL_ERROR "stageflow: STAGEFLOW_HARDENING must be auto, on or off (is '${hardening}')")
  endif()
endfunction()
