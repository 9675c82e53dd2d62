// The seed's `stageflow.compression`: compress / apply_delta, RFC 6902 deltas between JSON documents.
// The code lives in <stageflow/compression/delta.hpp> (errors: compression/errors.hpp).
#pragma once

#include <stageflow/compression/delta.hpp>
