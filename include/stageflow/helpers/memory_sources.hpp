// Where memory figures come from; the code lives in <stageflow/memory/>.
#pragma once

#include <stageflow/memory/sources.hpp>
