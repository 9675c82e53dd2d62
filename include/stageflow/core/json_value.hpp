// SPDX-License-Identifier: BSL-1.0
// Old address of JsonValue; the code lives in <stageflow/json/value.hpp>.
#pragma once

#include <stageflow/json/value.hpp>
