// The seed's `stageflow.pipeline.interceptors_hardening`: the two hardening interceptors, as
// Runner policies. Each has its own header; this one includes both.
#pragma once

#include <stageflow/pipeline/context_size_interceptor.hpp>
#include <stageflow/pipeline/immutability_interceptor.hpp>
