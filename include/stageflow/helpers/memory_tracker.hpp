// The seed's address for memory tracking; the code lives in <stageflow/memory/...>.
#pragma once

#include <stageflow/memory/scope.hpp>    // MemoryScope, track_memory (and the tracker, samples, warnings)
