// The seed's `stageflow.helpers.uuid_utils`: everything for UUID telemetry in one include.
//
//   generate_uuid7(), uuid7_time(), Uuid7Generator      <stageflow/helpers/uuid7.hpp>
//   parse_uuid(), try_parse_uuid()                      <stageflow/helpers/uuid_text.hpp>
//   ClockSkewDetector                                   <stageflow/helpers/clock_skew_detector.hpp>
//   UuidCollisionMonitor, UuidEvent, UuidObservation    <stageflow/helpers/uuid_collision_monitor.hpp>
//   CoarseSteadyClock, CoarseSystemClock                <stageflow/helpers/clocks.hpp>
#pragma once

#include <stageflow/helpers/clock_skew_detector.hpp>
#include <stageflow/helpers/clocks.hpp>
#include <stageflow/helpers/uuid7.hpp>
#include <stageflow/helpers/uuid_collision_monitor.hpp>
#include <stageflow/helpers/uuid_text.hpp>
