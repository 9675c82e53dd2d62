// SPDX-License-Identifier: BSL-1.0
// The umbrella header: the pipeline model, the runner, the event sinks and a ready snapshot type.
// The hardening features have their own headers (see docs/README.md); include what you use.
#pragma once

#include <stageflow/config.hpp>
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/core/events.hpp>
#include <stageflow/json/value.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>
#include <stageflow/core/stage_output.hpp>
#include <stageflow/resilience/circuit_breakers.hpp>
#include <stageflow/resilience/hedge.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/retry_clock.hpp>
#include <stageflow/uuid/uuid7.hpp>
#include <stageflow/runner/options.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/runner/sequential_executor.hpp>
#include <stageflow/sinks/async_sink.hpp>
#include <stageflow/sinks/base_sink.hpp>
#include <stageflow/sinks/callback_sink.hpp>
#include <stageflow/sinks/chrome_trace_sink.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/sinks/event_schema.hpp>
#include <stageflow/sinks/json_lines_sink.hpp>
#include <stageflow/sinks/null_sink.hpp>
#include <stageflow/sinks/tee_sink.hpp>
#include <stageflow/version.hpp>
