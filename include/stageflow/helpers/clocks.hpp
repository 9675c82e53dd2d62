// SPDX-License-Identifier: BSL-1.0
// Old address; the code lives in <stageflow/uuid/clocks.hpp>.
#pragma once

#include <stageflow/uuid/clocks.hpp>
