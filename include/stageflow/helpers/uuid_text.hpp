// SPDX-License-Identifier: BSL-1.0
// Old address; the code lives in <stageflow/uuid/text.hpp>.
#pragma once

#include <stageflow/uuid/text.hpp>
