// SPDX-License-Identifier: BSL-1.0
// How Runner<Args...> becomes BasicRunner<Config, Policies...>: options (use_clock, use_executor)
// set the config, disabled policies (debug_only off, enable_if<false>) and NullSink vanish, anything
// else must be a policy, listed once. This is what makes Runner<debug_only<P>> *be* Runner<>.
#pragma once

#include <stageflow/detail/type_list.hpp>
#include <stageflow/runner/executor.hpp>
#include <stageflow/runner/options.hpp>
#include <stageflow/runner/policy.hpp>
#include <stageflow/runner/sequential_executor.hpp>

#include <chrono>
#include <type_traits>

namespace stageflow {

template <class Config, class... Policies>
class BasicRunner;

namespace detail {

template <class Clock, class Executor>
struct runner_config {
  using clock = Clock;
  using executor = Executor;
};
using default_runner_config = runner_config<std::chrono::steady_clock, SequentialExecutor>;

template <class P>
struct not_a_policy {
  static_assert(always_false<P>,
                "stageflow: a Runner argument is not a policy: a policy is a copyable class that declares at least "
                "one of on_run_start, before_stage, after_stage, on_stage_error, on_run_end, or emit(const Event&) "
                "(the type is the template argument of not_a_policy<...> in this diagnostic)");
  using type = void;
};

template <class E>
struct not_an_executor {
  static_assert(always_false<E>,
                "stageflow: use_executor<E>: E is not an executor: it needs `static constexpr bool concurrent` and "
                "`execute<Pipeline>(steps, done, hints)` (see <stageflow/runner/executor.hpp>; E is the template "
                "argument of not_an_executor<...> in this diagnostic)");
  using type = void;
};

template <class P, class... Kept>
struct policy_listed_twice {
  static_assert(always_false<P>,
                "stageflow: the same policy type appears twice in a Runner; compose one instance "
                "(the type is the first template argument of policy_listed_twice<...> in this diagnostic)");
  using type = void;
};

// Turns Runner<Args...> into BasicRunner<Config, Policies...>: options set the config, disabled
// policies and NullSink vanish, everything else must be a Policy.
template <class Config, class Kept, class... Rest>
struct runner_filter;

template <class Config, class... Kept>
struct runner_filter<Config, type_list<Kept...>> {
  using type = BasicRunner<Config, Kept...>;
};

template <class Config, class... Kept, class P, class... Rest>
struct runner_filter<Config, type_list<Kept...>, P, Rest...> {
  // Only the failing branch's diagnostic is instantiated.
  using checked = typename std::conditional_t<Policy<P>, std::type_identity<P>, not_a_policy<P>>::type;
  using unique = typename std::conditional_t<!contains_v<P, Kept...>, std::type_identity<P>,
                                             policy_listed_twice<P, Kept...>>::type;
  using type = typename runner_filter<Config, type_list<Kept..., P>, Rest...>::type;
};

template <class Config, class... Kept, class P, class... Rest>
struct runner_filter<Config, type_list<Kept...>, disabled<P>, Rest...> {
  using type = typename runner_filter<Config, type_list<Kept...>, Rest...>::type;
};

template <class Config, class... Kept, class P, class... Rest>
  requires(P::discards_events)
struct runner_filter<Config, type_list<Kept...>, P, Rest...> {
  using type = typename runner_filter<Config, type_list<Kept...>, Rest...>::type;
};

template <class Config, class... Kept, class C, class... Rest>
struct runner_filter<Config, type_list<Kept...>, use_clock<C>, Rest...> {
  using type =
      typename runner_filter<runner_config<C, typename Config::executor>, type_list<Kept...>, Rest...>::type;
};

template <class Config, class... Kept, class E, class... Rest>
struct runner_filter<Config, type_list<Kept...>, use_executor<E>, Rest...> {
  using checked = typename std::conditional_t<Executor<E>, std::type_identity<E>, not_an_executor<E>>::type;
  using type = typename runner_filter<runner_config<typename Config::clock, E>, type_list<Kept...>, Rest...>::type;
};

}  // namespace detail
}  // namespace stageflow
