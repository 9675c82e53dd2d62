// SPDX-License-Identifier: BSL-1.0
// Pipeline<Stages...>: a DAG of stages known at compile time.
//
//   using Chat = stageflow::Pipeline<Normalize, Enrich, Route, Reply, Guard>;
//
// The pipeline checks itself when it is named: a stage without a name, two stages with the same
// name, a dependency that is not in the pipeline and a dependency cycle are compile errors whose
// message says which (the offending stage types are the template arguments of the note under the
// message). The topological order is computed at compile time and is stable: among stages that are
// ready together, the one listed first runs first, so a pipeline listed in a valid order runs in
// exactly that order.
#pragma once

#include <stageflow/core/stage.hpp>
#include <stageflow/detail/type_list.hpp>

#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <utility>

namespace stageflow {

/// The compile-time plan of a pipeline of N stages: what an executor needs to schedule it
/// (`Pipeline<...>::plan`). Indices are positions in the Pipeline's listing.
///
///   in_degree[i]                      how many stages stage i waits for
///   dependents[i][0 .. dependent_count[i])   the stages that wait for stage i, in listing order
///   roots[0 .. root_count)           the stages that wait for nothing
///   order                            a topological order (stable: listing order where possible)
template <std::size_t N>
struct DagPlan {
  std::array<std::array<bool, N>, N> depends{};   // depends[i][j]: stage i names stage j in depends_on
  std::array<std::array<bool, N>, N> ancestor{};  // ancestor[i][j]: stage j finishes before stage i starts
  std::array<std::size_t, N> order{};             // stage indices, dependencies first
  std::array<std::size_t, N> in_degree{};
  std::array<std::array<std::size_t, N>, N> dependents{};
  std::array<std::size_t, N> dependent_count{};
  std::array<std::size_t, N> roots{};
  std::size_t root_count = 0;
  std::size_t ordered = 0;                        // N unless there is a cycle
  std::size_t cycle_member = detail::npos;        // a stage on a cycle, when there is one
  std::size_t duplicate_first = detail::npos;     // two stages with the same name
  std::size_t duplicate_second = detail::npos;
};

namespace detail {

template <std::size_t N, class... All, class... Deps>
consteval std::array<bool, N> dependency_row(type_list<All...>, type_list<Deps...>) {
  std::array<bool, N> row{};
  constexpr std::size_t indices[] = {index_of<Deps, All...>()..., npos};
  for (std::size_t k = 0; k < sizeof...(Deps); ++k)
    if (indices[k] != npos) row[indices[k]] = true;
  return row;
}

template <class... Stages>
consteval DagPlan<sizeof...(Stages)> make_plan() {
  constexpr std::size_t n = sizeof...(Stages);
  DagPlan<n> plan{};
  if constexpr (n > 0 && (Stage<Stages> && ...)) {  // an unnamed stage is reported by check_pipeline
    plan.depends = {dependency_row<n>(type_list<Stages...>{}, dependencies_t<Stages>{})...};
    const std::array<std::string_view, n> names{std::string_view(Stages::name)...};

    for (std::size_t i = 0; i < n && plan.duplicate_first == npos; ++i)
      for (std::size_t j = i + 1; j < n; ++j)
        if (names[i] == names[j]) {
          plan.duplicate_first = i;
          plan.duplicate_second = j;
          break;
        }

    // Kahn's algorithm, always taking the lowest ready index: stable with respect to the listing.
    std::array<bool, n> placed{};
    while (plan.ordered < n) {
      std::size_t ready = npos;
      for (std::size_t i = 0; i < n && ready == npos; ++i) {
        if (placed[i]) continue;
        bool all_placed = true;
        for (std::size_t j = 0; j < n; ++j)
          if (plan.depends[i][j] && !placed[j]) all_placed = false;
        if (all_placed) ready = i;
      }
      if (ready == npos) break;  // every remaining stage waits on another: a cycle
      placed[ready] = true;
      plan.order[plan.ordered++] = ready;
    }
    if (plan.ordered < n) {
      // Walk unplaced dependencies from an unplaced stage; after n steps we are on the cycle.
      std::size_t at = 0;
      while (placed[at]) ++at;
      for (std::size_t step = 0; step < n; ++step)
        for (std::size_t j = 0; j < n; ++j)
          if (plan.depends[at][j] && !placed[j]) {
            at = j;
            break;
          }
      plan.cycle_member = at;
    }

    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (plan.depends[i][j]) {
          ++plan.in_degree[i];
          plan.dependents[j][plan.dependent_count[j]++] = i;
        }
    for (std::size_t i = 0; i < n; ++i)
      if (plan.in_degree[i] == 0) plan.roots[plan.root_count++] = i;

    plan.ancestor = plan.depends;  // transitive closure (Warshall)
    for (std::size_t k = 0; k < n; ++k)
      for (std::size_t i = 0; i < n; ++i)
        if (plan.ancestor[i][k])
          for (std::size_t j = 0; j < n; ++j)
            if (plan.ancestor[k][j]) plan.ancestor[i][j] = true;
  }
  return plan;
}

// Each diagnostic is a class template so the compiler shows the offending stage types in the
// "in instantiation of" note right under the message.
template <class S>
struct stage_needs_a_name {
  static_assert(always_false<S>,
                "stageflow: a stage needs `static constexpr std::string_view name = \"...\";` "
                "(the stage type is the template argument of stage_needs_a_name<...> in this diagnostic)");
  static constexpr bool ok = false;
};

template <class First, class Second>
struct stage_names_must_be_unique {
  static_assert(always_false<First>,
                "stageflow: two stages of this Pipeline have the same name; stage names must be unique "
                "(they are the two template arguments of stage_names_must_be_unique<...> in this diagnostic)");
  static constexpr bool ok = false;
};

template <class S, class Dependency>
struct dependency_is_not_in_this_pipeline {
  static_assert(always_false<S>,
                "stageflow: a stage depends on a stage that is not in this Pipeline; add it to the Pipeline "
                "or remove it from depends_on (the stage and the missing dependency are the template "
                "arguments of dependency_is_not_in_this_pipeline<...> in this diagnostic)");
  static constexpr bool ok = false;
};

template <class S>
struct stage_is_on_a_dependency_cycle {
  static_assert(always_false<S>,
                "stageflow: the stages of this Pipeline depend on each other in a cycle, so none of them "
                "can start (a stage on the cycle is the template argument of stage_is_on_a_dependency_cycle<...> in this diagnostic)");
  static constexpr bool ok = false;
};

template <class S>
struct depends_on_must_be_after {
  static_assert(always_false<S>,
                "stageflow: a stage's `depends_on` must be stageflow::after<...> (the stage types it runs after); "
                "the stage is the template argument of depends_on_must_be_after<...> in this diagnostic");
  static constexpr bool ok = false;
};

template <class S>
consteval std::string_view name_or_empty() {
  if constexpr (Stage<S>)
    return S::name;
  else
    return {};
}

template <class S>
consteval bool check_named() {
  if constexpr (Stage<S>)
    return true;
  else
    return stage_needs_a_name<S>::ok;
}

template <class S, class... All, class... Deps>
consteval bool check_dependencies_exist(type_list<All...>, type_list<Deps...>) {
  bool ok = true;
  (
      [&] {
        if constexpr (!contains_v<Deps, All...>) ok = dependency_is_not_in_this_pipeline<S, Deps>::ok;
      }(),
      ...);
  return ok;
}

template <class... Stages>
consteval bool check_pipeline() {
  if constexpr (!(Stage<Stages> && ...)) {
    return (check_named<Stages>() && ...);
  } else if constexpr (!(depends_on_is_valid<Stages> && ...)) {
    return ([] {
      if constexpr (depends_on_is_valid<Stages>)
        return true;
      else
        return depends_on_must_be_after<Stages>::ok;
    }() && ...);
  } else {
    if (!(check_dependencies_exist<Stages>(type_list<Stages...>{}, dependencies_t<Stages>{}) && ...)) return false;
    constexpr auto plan = make_plan<Stages...>();
    if constexpr (plan.duplicate_first != npos)
      return stage_names_must_be_unique<nth_type<plan.duplicate_first, Stages...>,
                                        nth_type<plan.duplicate_second, Stages...>>::ok;
    else if constexpr (plan.cycle_member != npos)
      return stage_is_on_a_dependency_cycle<nth_type<plan.cycle_member, Stages...>>::ok;
    else
      return true;
  }
}

}  // namespace detail

template <class... Stages>
class Pipeline {
  static_assert(detail::check_pipeline<Stages...>(), "stageflow: this Pipeline is not a valid DAG (see above)");

 public:
  using stage_types = detail::type_list<Stages...>;
  static constexpr std::size_t size = sizeof...(Stages);
  static constexpr DagPlan<size> plan = detail::make_plan<Stages...>();
  static constexpr std::array<std::string_view, size> names{detail::name_or_empty<Stages>()...};
  /// Stage indices in the order a sequential run takes them.
  static constexpr std::array<std::size_t, size> order = plan.order;

  template <class S>
  static constexpr bool contains = detail::contains_v<S, Stages...>;

  /// S's position in the Pipeline's listing.
  template <class S>
  static constexpr std::size_t index_of() {
    static_assert(contains<S>, "stageflow: this stage type is not in the Pipeline");
    return detail::index_of<S, Stages...>();
  }

  /// True when Upstream finishes before S starts (a direct or transitive dependency).
  template <class S, class Upstream>
  static constexpr bool runs_after() {
    if constexpr (contains<S> && contains<Upstream>)
      return plan.ancestor[index_of<S>()][index_of<Upstream>()];
    else
      return false;
  }

  constexpr Pipeline() = default;
  /// Stages that carry configuration are passed in listing order.
  constexpr explicit Pipeline(Stages... stages)
    requires(sizeof...(Stages) > 0)
      : stages_(std::move(stages)...) {}

  template <class S>
  constexpr const S& stage() const noexcept {
    return std::get<index_of<S>()>(stages_);
  }
  template <std::size_t I>
  constexpr const auto& stage_at() const noexcept {
    return std::get<I>(stages_);
  }

 private:
  std::tuple<Stages...> stages_;
};

template <class T>
inline constexpr bool is_pipeline_v = false;
template <class... Stages>
inline constexpr bool is_pipeline_v<Pipeline<Stages...>> = true;

}  // namespace stageflow
