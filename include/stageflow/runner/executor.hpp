// SPDX-License-Identifier: BSL-1.0
// The executor protocol: how a Runner hands the stages of one run to whatever decides when and
// where they start. SequentialExecutor (the default) and ParallelExecutor implement it; so can yours.
//
// The runner calls, once per run,
//
//   executor.template execute<Pipeline>(steps, done, hints);
//
// and `steps` offers:
//
//   steps.template start<I>(k);   // begins stage I (compile-time index) ...
//   steps.start(i, k);             // ... or stage i (run-time index)
//   steps.ending();                // true once the run is ending: start nothing more
//   steps.reject(i, why);          // stage i could not be scheduled (its pool is stopped): the run
//                                  // fails with `why`; the stage counts as finished
//
// A step is one stage with its policies' hooks around it. `k(bool proceed)` is called exactly once,
// when the stage has finished: for a synchronous stage before start() returns, for a stage that
// completes later from whichever thread completes it. Do not assume start() returns when the stage
// is done. `proceed == false` means the run is ending (the stage failed, cancelled or timed out, or
// something else ended the run): start nothing more. Calling k is the stage's last action: its
// output and report are written, and everything it did happens-before whatever k's caller does
// next, in particular before its dependents start (an executor hands stages to other threads
// through synchronizing operations: an atomic counter, a queue).
//
// The executor must
//   - start a stage only after every stage it depends on has finished with proceed == true
//     (Pipeline::plan: roots, in_degree, dependents);
//   - start nothing after a proceed == false, or once steps.ending();
//   - call done() exactly once, after the last started stage has finished. execute() may return
//     before that (a concurrent executor) or after it (SequentialExecutor runs everything inline).
//
// `hints.caller_may_run`: the calling thread would only wait for done(), so the executor may run
// stages on it. `E::concurrent` says whether stages may run at the same time; the runner then
// synchronizes what runs share (the result, each policy's run_state) and keeps the run on the heap.
#pragma once

#include <stageflow/core/pipeline.hpp>

#include <concepts>
#include <cstddef>
#include <string_view>

namespace stageflow {

struct ExecuteHints {
  bool caller_may_run = true;
};

/// What the runner hands an executor: a copyable value with the members above.
template <class S>
concept Steps = std::copy_constructible<S> &&
                requires(const S& steps, std::size_t i, std::string_view why, void (*k)(bool)) {
                  { steps.ending() } -> std::convertible_to<bool>;
                  steps.start(i, k);
                  steps.reject(i, why);
                };

namespace detail {
/// The least a Steps offers, to check an executor against before any run exists.
struct steps_archetype {
  bool ending() const noexcept { return false; }
  template <std::size_t I, class K>
  void start(K&&) const {}
  template <class K>
  void start(std::size_t, K&&) const {}
  void reject(std::size_t, std::string_view) const {}
};
static_assert(Steps<steps_archetype>);
}  // namespace detail

/// An executor: a copyable value with `static constexpr bool concurrent` and
/// `execute<Pipeline>(steps, done, hints)` for any Steps. Checked where use_executor<E> is named.
template <class E>
concept Executor = std::copy_constructible<E> && requires { requires std::same_as<decltype(E::concurrent), const bool>; } &&
                   requires(const E& executor, detail::steps_archetype& steps, void (*done)()) {
                     executor.template execute<Pipeline<>>(steps, done, ExecuteHints{});
                   };

}  // namespace stageflow
