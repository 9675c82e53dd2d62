// SPDX-License-Identifier: BSL-1.0
// Old address of parse_json and JsonParser; the code lives in <stageflow/json/parse.hpp>.
#pragma once

#include <stageflow/json/parse.hpp>
