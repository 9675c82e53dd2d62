// SPDX-License-Identifier: BSL-1.0
// Old address; the code lives in <stageflow/uuid/collision_monitor.hpp>.
#pragma once

#include <stageflow/uuid/collision_monitor.hpp>
