// SPDX-License-Identifier: BSL-1.0
// The seed's `stageflow.pipeline.uuid_telemetry`: the UuidTelemetry policy lives in hardening/.
#pragma once
#include <stageflow/hardening/uuid_telemetry.hpp>
