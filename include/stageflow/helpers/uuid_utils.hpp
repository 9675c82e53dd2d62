// SPDX-License-Identifier: BSL-1.0
// The seed's `stageflow.helpers.uuid_utils`: everything for UUID telemetry in one include.
//
//   generate_uuid7(), uuid7_time(), Uuid7Generator      <stageflow/uuid/uuid7.hpp>
//   parse_uuid(), try_parse_uuid()                      <stageflow/uuid/text.hpp>
//   ClockSkewDetector                                   <stageflow/uuid/clock_skew_detector.hpp>
//   UuidCollisionMonitor, UuidEvent, UuidObservation    <stageflow/uuid/collision_monitor.hpp>
//   CoarseSteadyClock, CoarseSystemClock                <stageflow/uuid/clocks.hpp>
#pragma once

#include <stageflow/uuid/clock_skew_detector.hpp>
#include <stageflow/uuid/clocks.hpp>
#include <stageflow/uuid/uuid7.hpp>
#include <stageflow/uuid/collision_monitor.hpp>
#include <stageflow/uuid/text.hpp>
