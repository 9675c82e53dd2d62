// SPDX-License-Identifier: BSL-1.0
// The seed's address for the exact allocation counter; the code lives in <stageflow/memory/>.
#pragma once

#include <stageflow/memory/allocation_counter.hpp>
