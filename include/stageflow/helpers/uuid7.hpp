// SPDX-License-Identifier: BSL-1.0
// Old address; the code lives in <stageflow/uuid/uuid7.hpp>.
#pragma once

#include <stageflow/uuid/uuid7.hpp>
