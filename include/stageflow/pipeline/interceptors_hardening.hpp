// SPDX-License-Identifier: BSL-1.0
// The seed's `stageflow.pipeline.interceptors_hardening`: the two hardening interceptors, as
// Runner policies. Each has its own header; this one includes both.
#pragma once

#include <stageflow/config.hpp>  // first: the C++20 check
#include <stageflow/hardening/context_size_interceptor.hpp>
#include <stageflow/hardening/immutability_interceptor.hpp>
