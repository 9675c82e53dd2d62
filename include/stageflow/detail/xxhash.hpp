// SPDX-License-Identifier: BSL-1.0
// xxHash, inlined. XXH3 on short input (a UUID, a short string, a scalar) is a handful of
// instructions; a call into the shared library would cost as much again. XXH_INLINE_ALL is
// defined only around this include, so an includer's own xxHash setup is left as it was.
// (Inlining gives each translation unit its own static copies of xxHash's functions.)
#pragma once

#ifndef XXH_INLINE_ALL
#  define XXH_INLINE_ALL
#  define STAGEFLOW_DEFINED_XXH_INLINE_ALL
#endif
#include <xxhash.h>
#ifdef STAGEFLOW_DEFINED_XXH_INLINE_ALL
#  undef XXH_INLINE_ALL
#  undef STAGEFLOW_DEFINED_XXH_INLINE_ALL
#endif
