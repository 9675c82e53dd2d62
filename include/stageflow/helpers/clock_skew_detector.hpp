// SPDX-License-Identifier: BSL-1.0
// Old address; the code lives in <stageflow/uuid/clock_skew_detector.hpp>.
#pragma once

#include <stageflow/uuid/clock_skew_detector.hpp>
