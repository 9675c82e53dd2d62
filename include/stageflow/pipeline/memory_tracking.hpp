// SPDX-License-Identifier: BSL-1.0
// The seed's `stageflow.pipeline.memory_tracking`: the MemoryTracking policy lives in hardening/.
#pragma once
#include <stageflow/hardening/memory_tracking.hpp>
