// SPDX-License-Identifier: BSL-1.0
// Stages: the units of work of a pipeline.
//
// A stage is a class with a name and an `execute` member, and optionally the stages it runs after:
//
//   struct Enrich {
//     static constexpr std::string_view name = "enrich";
//     using depends_on = stageflow::after<Normalize>;
//     Profile execute(const auto& ctx) const {               // or StageOutput<Profile>, or void
//       const std::string* text = ctx.template input<Normalize>();   // nullptr if Normalize skipped
//       ...
//     }
//   };
//
// `execute` is const: a pipeline's stages are configuration shared by every run, concurrent ones
// included; per-run data belongs in the outputs. `execute()` without a context is fine too. A stage
// that throws fails the run with the exception's message.
//
// `execute` may also return boost::asio::awaitable<T> (or awaitable<StageOutput<T>>, awaitable<void>):
// an async stage, whose output is T, run with runner.async_run (<stageflow/runner/async_run.hpp>).
#pragma once

#include <stageflow/detail/type_list.hpp>

#include <chrono>
#include <concepts>
#include <string_view>
#include <type_traits>

// Declared, not included: telling an async stage apart must not cost a synchronous user
// <boost/asio/awaitable.hpp> and the coroutine headers.
namespace boost::asio {
template <typename T, typename Executor>
class awaitable;
}  // namespace boost::asio

namespace stageflow {

/// `using depends_on = stageflow::after<A, B>;` names the stages that must finish first.
template <class... Stages>
struct after {
  using list = detail::type_list<Stages...>;
};

namespace detail {

template <class T>
inline constexpr bool is_after_v = false;
template <class... Ts>
inline constexpr bool is_after_v<after<Ts...>> = true;

template <class S>
struct dependencies_of {
  using type = type_list<>;
};
template <class T>
struct after_list {
  using type = type_list<>;  // not an after<...>: Pipeline reports it; treated as no dependency
};
template <class... Ts>
struct after_list<after<Ts...>> {
  using type = type_list<Ts...>;
};

template <class S>
  requires requires { typename S::depends_on; }
struct dependencies_of<S> {
  using type = typename after_list<typename S::depends_on>::type;  // Pipeline diagnoses a non-after
};

template <class S>
inline constexpr bool depends_on_is_valid = true;
template <class S>
  requires requires { typename S::depends_on; }
inline constexpr bool depends_on_is_valid<S> = is_after_v<typename S::depends_on>;

}  // namespace detail

/// The stage types S runs after (a detail::type_list).
template <class S>
using dependencies_t = typename detail::dependencies_of<S>::type;

namespace detail {
template <class T>
inline constexpr bool is_duration_v = false;
template <class Rep, class Period>
inline constexpr bool is_duration_v<std::chrono::duration<Rep, Period>> = true;
}  // namespace detail

/// A stage that declares `static constexpr auto timeout = std::chrono::milliseconds(20);` (any
/// std::chrono::duration): past it, the runner asks the stage to stop and marks it timed_out.
template <class S>
concept has_timeout = requires { S::timeout; } && detail::is_duration_v<std::remove_cvref_t<decltype(S::timeout)>>;

/// A stage that declares `static constexpr stageflow::Retry retry{...};`
/// (<stageflow/resilience/retry.hpp>): its failures are retried with backoff.
template <class S>
concept has_retry = requires {
  S::retry.max_attempts;
  S::retry.jitter;
  S::retry.delay(1, std::chrono::nanoseconds{}, std::chrono::nanoseconds{}, 0.0);
};

/// A stage that declares `static constexpr stageflow::Hedge hedge{...};`
/// (<stageflow/resilience/hedge.hpp>): a slow attempt gets a copy started beside it.
template <class S>
concept has_hedge = requires {
  S::hedge.after;
  S::hedge.max_extra;
};

/// A stage that declares `static constexpr bool best_effort = true;`: its failure or timeout
/// (after its retries) does not end the run; dependents see its input as absent.
template <class S>
inline constexpr bool is_best_effort_v = false;
template <class S>
  requires requires { S::best_effort; }
inline constexpr bool is_best_effort_v<S> = static_cast<bool>(S::best_effort);

/// S's timeout in nanoseconds (S must declare one).
template <has_timeout S>
inline constexpr std::chrono::nanoseconds stage_timeout_v = std::chrono::duration_cast<std::chrono::nanoseconds>(S::timeout);

namespace detail {
template <class R>
struct awaited {
  using type = R;
};
template <class T, class E>
struct awaited<boost::asio::awaitable<T, E>> {
  using type = T;
};
}  // namespace detail

/// True when a stage's execute returns boost::asio::awaitable<...>: an async stage.
template <class R>
inline constexpr bool is_awaitable_v = !std::is_same_v<typename detail::awaited<R>::type, R>;

/// What `co_await` on R gives: T for awaitable<T>, R itself for a synchronous result.
template <class R>
using awaited_t = typename detail::awaited<R>::type;

/// A class with `static constexpr std::string_view name`. (Whether `execute` fits is checked when
/// a Runner runs the pipeline on a snapshot, since its context type depends on the snapshot.)
template <class S>
concept Stage = std::is_class_v<S> && requires {
  { S::name } -> std::convertible_to<std::string_view>;
};

}  // namespace stageflow
