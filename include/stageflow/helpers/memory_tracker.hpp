// SPDX-License-Identifier: BSL-1.0
// The seed's address for memory tracking; the code lives in <stageflow/memory/...>.
#pragma once

#include <stageflow/config.hpp>  // first: the C++20 check
#include <stageflow/memory/scope.hpp>    // MemoryScope, track_memory (and the tracker, samples, warnings)
