// SPDX-License-Identifier: BSL-1.0
// The seed's `stageflow.compression`: compress / apply_delta, RFC 6902 deltas between JSON documents.
// The code lives in <stageflow/compression/delta.hpp> (errors: compression/errors.hpp).
#pragma once

#include <stageflow/config.hpp>  // first: the C++20 check
#include <stageflow/compression/delta.hpp>
