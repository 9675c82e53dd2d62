// SPDX-License-Identifier: BSL-1.0
// ContextSizeInterceptor: watches the size of what a run carries, and how fast it grows.
//
//   stageflow::Runner<stageflow::pipeline::ContextSizeInterceptor> runner{
//       stageflow::pipeline::ContextSizeInterceptor({.max_size_bytes = 1024 * 1024,
//                                                    .warn_on_growth_bytes = 100 * 1024})};
//   auto result = runner.run(pipeline, snapshot);
//   result.metric("enrich", "context_size_bytes");   // snapshot + outputs so far, after enrich
//
// The size is the real byte count of the canonical JSON form of the snapshot plus every stage
// output produced so far (bytes, not characters; nothing counted twice). It is computed once per
// run for the snapshot and once per output, then kept up to date: no stage boundary serializes
// anything twice. Emits `context.size_exceeded` when the size first passes `max_size_bytes`
// (naming the stage whose output did it, or none when the snapshot alone is too big) and
// `context.growth_warning` when one stage's output adds more than `warn_on_growth_bytes`. Per stage,
// the RunResult gets the metrics context_size_bytes and context_growth_bytes; the snapshot's own
// size is ("snapshot", "context_size_bytes").
//
// Outputs whose type cannot be walked are not counted (see serialization/walk.hpp).
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/walk.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace stageflow::events {
inline constexpr std::string_view context_size_exceeded = "context.size_exceeded";
inline constexpr std::string_view context_growth_warning = "context.growth_warning";
}  // namespace stageflow::events

namespace stageflow::pipeline {

struct ContextSizeOptions {
  /// Report once when snapshot + outputs pass this many bytes.
  std::size_t max_size_bytes = 1024 * 1024;
  /// Report a stage whose output adds more than this many bytes.
  std::size_t warn_on_growth_bytes = 100 * 1024;
  /// Also fail the run when the size passes max_size_bytes (off: report only, as the original).
  bool fail_when_exceeded = false;
};

class ContextSizeInterceptor {
 public:
  using Options = ContextSizeOptions;

  ContextSizeInterceptor() = default;
  explicit ContextSizeInterceptor(Options options) : options_(options) {}
  const Options& options() const noexcept { return options_; }

  struct run_state {
    std::size_t size_bytes = 0;
    bool exceeded = false;
  };

  template <class Run>
  void on_run_start(run_state& state, Run& run) const {
    using Snapshot = typename Run::snapshot_type;
    static_assert(serialization::walkable_kind<Snapshot>,
                  "stageflow: ContextSizeInterceptor measures the snapshot, so its type must be walkable: "
                  "adapt it with BOOST_HANA_ADAPT_STRUCT (or specialize serialization::walk_as)");
    state.size_bytes = serialization::byte_count(run.snapshot());
    run.record_metric("snapshot", "context_size_bytes", static_cast<double>(state.size_bytes));
    check_limit(state, run, {});
  }

  template <class Run, class Stage>
  void after_stage(run_state& state, Run& run, Stage& stage) const {
    std::size_t growth = 0;
    if constexpr (serialization::walkable_kind<typename Stage::output_type>) {
      if (const auto* output = stage.output()) growth = serialization::byte_count(*output);
    }
    state.size_bytes += growth;
    run.record_metric(Stage::name, "context_size_bytes", static_cast<double>(state.size_bytes));
    run.record_metric(Stage::name, "context_growth_bytes", static_cast<double>(growth));
    if (growth > options_.warn_on_growth_bytes) {
      run.emit(stageflow::events::context_growth_warning, Stage::name,
               {{"growth_bytes", growth},
                {"size_bytes", state.size_bytes},
                {"threshold_bytes", options_.warn_on_growth_bytes}});
    }
    check_limit(state, run, Stage::name);
  }

 private:
  template <class Run>
  void check_limit(run_state& state, Run& run, std::string_view stage) const {
    if (state.exceeded || state.size_bytes <= options_.max_size_bytes) return;
    state.exceeded = true;
    run.emit(stageflow::events::context_size_exceeded, stage,
             {{"size_bytes", state.size_bytes}, {"limit_bytes", options_.max_size_bytes}});
    if (options_.fail_when_exceeded)
      run.fail("context size " + std::to_string(state.size_bytes) + " bytes exceeds the limit of " +
               std::to_string(options_.max_size_bytes) + (stage.empty() ? "" : " after stage '" + std::string(stage) + "'"));
  }

  Options options_{};
};

}  // namespace stageflow::pipeline
