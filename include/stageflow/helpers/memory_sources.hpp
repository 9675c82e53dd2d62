// SPDX-License-Identifier: BSL-1.0
// Where memory figures come from; the code lives in <stageflow/memory/>.
#pragma once

#include <stageflow/memory/sources.hpp>
