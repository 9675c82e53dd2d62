// SPDX-License-Identifier: BSL-1.0
// What kinds of stages a pipeline has, as the run engine (run_engine.hpp) and async_run
// (<stageflow/runner/async_run.hpp>) ask it at compile time: do they all compile against their
// context, is any awaitable, does an async run need its coroutines.
#pragma once

#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/stage.hpp>
#include <stageflow/core/stage_context.hpp>

#include <cstddef>

namespace stageflow::detail {

template <class Snapshot, class Pipeline, class... Stages>
consteval bool check_stages_execute(type_list<Stages...>) {
  return (check_execute<Stages, StageContext<Snapshot, Pipeline, Stages>>() && ...);
}
template <class Snapshot, class Pipeline, class... Stages>
consteval bool has_awaitable_stage(type_list<Stages...>) {
  return (is_async_stage_v<Snapshot, Pipeline, Stages> || ...);
}
/// Whether an async run needs its coroutines: an awaitable stage, or one that retries (its backoff
/// waits on a timer there, not on a thread).
template <class Snapshot, class Pipeline, class... Stages>
consteval bool has_coroutine_stage(type_list<Stages...>) {
  return ((is_async_stage_v<Snapshot, Pipeline, Stages> || has_retry<Stages>) || ...);
}

template <class Frame>
concept async_frame = Frame::async_frame;
/// Whether stage I of an async run's frame is an async stage.
template <class Frame, std::size_t I>
inline constexpr bool async_stage_at = false;
/// (A synchronous stage that declares `retry` counts: the coroutine waits its backoff on a timer.)
template <async_frame Frame, std::size_t I>
inline constexpr bool async_stage_at<Frame, I> =
    is_async_stage_v<typename Frame::snapshot_type, typename Frame::pipeline_type,
                     list_element_t<I, typename Frame::pipeline_type::stage_types>> ||
    has_retry<list_element_t<I, typename Frame::pipeline_type::stage_types>>;
template <class Frame>
inline constexpr bool has_async_stage = false;
template <async_frame Frame>
inline constexpr bool has_async_stage<Frame> =
    has_coroutine_stage<typename Frame::snapshot_type, typename Frame::pipeline_type>(
        typename Frame::pipeline_type::stage_types{});

}  // namespace stageflow::detail
