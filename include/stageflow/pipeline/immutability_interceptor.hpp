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
// Under a concurrent executor each stage's before/after pair is its own; a change found after a
// stage while others ran at the same time names all of them (event field `stages`) and fails the
// run without failing any one stage.
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

  // The last verified fingerprint of each thing a stage is handed, and the stages that may have
  // touched it since: those that were running at any moment after it was verified. Under
  // SequentialExecutor that is exactly the stage that just ran; under a concurrent one a change is
  // reported with every stage that was running in that window, never pinned on one falsely.
  struct Watched {
    serialization::FingerprintTree tree;
    std::vector<std::string_view> suspects;
  };
  struct run_state {
    Watched snapshot;
    bool snapshot_recorded = false;
    struct RecordedOutput {
      std::string_view stage;
      Watched watched;
    };
    std::vector<RecordedOutput> outputs;  // each walkable output, as it was produced
    std::vector<std::string_view> running;
    serialization::FingerprintTree scratch;
  };

  template <class Run, class Stage>
  void before_stage(run_state& state, Run& run, Stage& stage) const {
    using Snapshot = typename Run::snapshot_type;
    static_assert(serialization::walkable_kind<Snapshot>,
                  "stageflow: ImmutabilityInterceptor fingerprints the snapshot, so its type must be walkable: "
                  "adapt it with BOOST_HANA_ADAPT_STRUCT (or specialize serialization::walk_as)");
    if (!state.snapshot_recorded) {
      state.snapshot.tree.record(run.snapshot());
      state.snapshot.suspects = state.running;
      state.snapshot_recorded = true;
    }
    add_once(state.snapshot.suspects, Stage::name);
    stage.for_each_input([&](std::string_view producer, const auto&) {
      for (auto& recorded : state.outputs)
        if (recorded.stage == producer) add_once(recorded.watched.suspects, Stage::name);
    });
    state.running.push_back(Stage::name);
  }

  template <class Run, class Stage>
  void after_stage(run_state& state, Run& run, Stage& stage) const {
    std::erase(state.running, Stage::name);
    std::string changed;  // "path, path, stage:path"
    std::vector<std::string_view> suspects;
    bool truncated = false;
    const serialization::FieldDiffOptions diff_options{.max_changes = options_.max_reported_fields};
    auto note = [&](std::string_view prefix, const serialization::FieldDiff& diff, const Watched& watched) {
      for (const auto& change : diff.changes) {
        if (!changed.empty()) changed += ", ";
        changed += prefix;
        changed += change.path;
        if (change.path.empty() && prefix.empty()) changed += "(whole snapshot)";
        if (change.kind == serialization::FieldChange::Kind::added) changed += " (added)";
        if (change.kind == serialization::FieldChange::Kind::removed) changed += " (removed)";
      }
      for (auto name : watched.suspects) add_once(suspects, name);
      truncated = truncated || diff.truncated;
    };
    // What was verified now is watched anew: only stages still running may touch it from here.
    auto reverify = [&](Watched& watched) {
      std::swap(watched.tree, state.scratch);
      watched.suspects = state.running;
    };

    state.scratch.record(run.snapshot());
    if (state.scratch.root_hash() != state.snapshot.tree.root_hash())
      note({}, serialization::changed_fields(state.snapshot.tree, state.scratch, diff_options), state.snapshot);
    reverify(state.snapshot);

    // The upstream outputs this stage could read.
    stage.for_each_input([&](std::string_view producer, const auto& output) {
      using Output = std::remove_cvref_t<decltype(output)>;
      if constexpr (serialization::walkable_kind<Output>) {
        for (auto& recorded : state.outputs) {
          if (recorded.stage != producer) continue;
          state.scratch.record(output);
          if (state.scratch.root_hash() != recorded.watched.tree.root_hash()) {
            const std::string prefix = std::string(producer) + ":";
            note(prefix, serialization::changed_fields(recorded.watched.tree, state.scratch, diff_options),
                 recorded.watched);
            reverify(recorded.watched);  // report each change once
          }
          break;
        }
      }
    });

    // This stage's own output, as it leaves the stage: what later stages must not change.
    if constexpr (serialization::walkable_kind<typename Stage::output_type>) {
      if (const auto* output = stage.output()) {
        state.outputs.push_back({Stage::name, {}});
        state.outputs.back().watched.tree.record(*output);
      }
    }

    if (changed.empty()) return;
    if (truncated) changed += " and more";
    const bool only_this_stage = suspects.empty() || (suspects.size() == 1 && suspects.front() == Stage::name);
    std::string message;
    std::string stages;
    for (auto name : suspects) {
      if (!stages.empty()) stages += ", ";
      stages += name;
    }
    if (only_this_stage)
      message = "stage '" + std::string(Stage::name) + "' mutated what it was handed: " + changed;
    else
      message = "found after stage '" + std::string(Stage::name) + "': " + changed +
                " changed while these stages ran at the same time: " + stages;
    run.emit(stageflow::events::immutability_violation, Stage::name,
             {{"paths", changed}, {"stages", stages}, {"message", message}});
    if (options_.abort_on_violation) std::abort();
    if (options_.crash_on_violation) {
      if (only_this_stage)
        stage.fail(message);
      else
        run.fail(message);  // the run fails, but no single stage is blamed
    }
  }

 private:
  static void add_once(std::vector<std::string_view>& names, std::string_view name) {
    for (auto n : names)
      if (n == name) return;
    names.push_back(name);
  }

  Options options_{};
};

}  // namespace stageflow::pipeline
