// ImmutabilityInterceptor: proves that no stage mutated what it was handed.
//
//   stageflow::Runner<stageflow::debug_only<stageflow::pipeline::ImmutabilityInterceptor>> runner{
//       stageflow::pipeline::ImmutabilityInterceptor({.crash_on_violation = true})};
//
// Around each stage it fingerprints the exact objects the stage sees: the snapshot and every
// upstream output the stage may read. A change fails the stage (with `crash_on_violation`, the
// default), emits `immutability.violation` naming the stage and the changed fields, and reports
// them in the run's error:
//
//   stage 'reply' mutated what it was handed: messages[2].content, metadata.user.tier, enrich:tier
//
// Snapshot fields are named by their path (`messages[2].content`); an upstream output's fields by
// the stage that produced it, a colon and the path in it (`enrich:tier`, or `enrich:` for the whole
// value). It sees through everything C++ allows on a `const` snapshot: shared_ptr and unique_ptr
// are followed, `mutable` members and const_cast writes are data like any other. It reports no
// false positives: NaN equals itself here, and unordered containers hash the same whatever their
// order or bucket count.
//
// Cost: one fingerprint of the snapshot per stage boundary (the "after" of one stage is the
// "before" of the next), one per output when it is produced, and one per upstream output after
// each stage that may read it; about 1 ns per byte of JSON-equivalent. Building the list of changed
// fields costs only when something changed. Meant for debug and CI builds: wrap it in debug_only<>.
//
// What is checked: the snapshot must be walkable (serialization/walk.hpp lists what is; a
// ContextSnapshot is); outputs whose type cannot be walked are not checked.
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/serialization/fingerprint_tree.hpp>
#include <stageflow/serialization/walk.hpp>

#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace stageflow::events {
inline constexpr std::string_view immutability_violation = "immutability.violation";
}  // namespace stageflow::events

namespace stageflow::pipeline {

struct ImmutabilityOptions {
  /// Fail the stage (and so the run) that mutated its input. Off: report the violation and go on.
  bool crash_on_violation = true;
  /// Abort the process after reporting, for CI jobs that must stop at the first violation.
  bool abort_on_violation = false;
  /// How many changed fields a report names at most.
  std::size_t max_reported_fields = 16;
};

class ImmutabilityInterceptor {
 public:
  using Options = ImmutabilityOptions;

  ImmutabilityInterceptor() = default;
  explicit ImmutabilityInterceptor(Options options) : options_(options) {}
  const Options& options() const noexcept { return options_; }

  struct run_state {
    serialization::FingerprintTree snapshot_before;  // the snapshot as the current stage received it
    serialization::FingerprintTree snapshot_after;
    bool snapshot_recorded = false;
    struct RecordedOutput {
      std::string_view stage;
      serialization::FingerprintTree tree;
    };
    std::vector<RecordedOutput> outputs;  // each walkable output, as it was produced
    serialization::FingerprintTree scratch;
  };

  template <class Run, class Stage>
  void before_stage(run_state& state, Run& run, Stage&) const {
    using Snapshot = typename Run::snapshot_type;
    static_assert(serialization::walkable_kind<Snapshot>,
                  "stageflow: ImmutabilityInterceptor fingerprints the snapshot, so its type must be walkable: "
                  "adapt it with BOOST_HANA_ADAPT_STRUCT (or specialize serialization::walk_as)");
    if (!state.snapshot_recorded) {
      state.snapshot_before.record(run.snapshot());
      state.snapshot_recorded = true;
    }
  }

  template <class Run, class Stage>
  void after_stage(run_state& state, Run& run, Stage& stage) const {
    std::string changed;  // "path, path, stage:path"
    bool truncated = false;
    const serialization::FieldDiffOptions diff_options{.max_changes = options_.max_reported_fields};
    auto note = [&](std::string_view prefix, const serialization::FieldDiff& diff) {
      for (const auto& change : diff.changes) {
        if (!changed.empty()) changed += ", ";
        changed += prefix;
        changed += change.path;
        if (change.path.empty() && prefix.empty()) changed += "(whole snapshot)";
        if (change.kind == serialization::FieldChange::Kind::added) changed += " (added)";
        if (change.kind == serialization::FieldChange::Kind::removed) changed += " (removed)";
      }
      truncated = truncated || diff.truncated;
    };

    // The snapshot: record once per boundary; the after-tree becomes the next stage's before-tree.
    state.snapshot_after.record(run.snapshot());
    if (state.snapshot_after.root_hash() != state.snapshot_before.root_hash())
      note({}, serialization::changed_fields(state.snapshot_before, state.snapshot_after, diff_options));
    std::swap(state.snapshot_before, state.snapshot_after);

    // The upstream outputs this stage could read.
    stage.for_each_input([&](std::string_view producer, const auto& output) {
      using Output = std::remove_cvref_t<decltype(output)>;
      if constexpr (serialization::walkable_kind<Output>) {
        for (auto& recorded : state.outputs) {
          if (recorded.stage != producer) continue;
          state.scratch.record(output);
          if (state.scratch.root_hash() != recorded.tree.root_hash()) {
            const std::string prefix = std::string(producer) + ":";
            note(prefix, serialization::changed_fields(recorded.tree, state.scratch, diff_options));
            std::swap(recorded.tree, state.scratch);  // report each change once
          }
          break;
        }
      }
    });

    // This stage's own output, as it leaves the stage: what later stages must not change.
    if constexpr (serialization::walkable_kind<typename Stage::output_type>) {
      if (const auto* output = stage.output()) {
        state.outputs.push_back({Stage::name, {}});
        state.outputs.back().tree.record(*output);
      }
    }

    if (changed.empty()) return;
    if (truncated) changed += " and more";
    const std::string message = "stage '" + std::string(Stage::name) + "' mutated what it was handed: " + changed;
    run.emit(stageflow::events::immutability_violation, Stage::name, {{"fields", changed}, {"message", message}});
    if (options_.abort_on_violation) std::abort();
    if (options_.crash_on_violation) stage.fail(message);
  }

 private:
  Options options_{};
};

}  // namespace stageflow::pipeline
