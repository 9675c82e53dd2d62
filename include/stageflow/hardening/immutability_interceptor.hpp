// SPDX-License-Identifier: BSL-1.0
// ImmutabilityInterceptor: proves that no stage mutated what it was handed.
//
//   stageflow::Runner<stageflow::pipeline::ImmutabilityInterceptor> runner{
//       stageflow::pipeline::ImmutabilityInterceptor({.crash_on_violation = true})};
//
// Around each stage it records the exact objects the stage sees: the snapshot and every upstream
// output the stage may read. A change fails the stage (with `crash_on_violation`, the default),
// emits `immutability.violation` naming the stage and the changed fields, and reports them in the
// run's error and, as data, in the RunResult:
//
//   stage 'reply' mutated what it was handed: messages[2].content, metadata.user.tier, enrich:tier
//   result.changed_fields() == {"messages[2].content", "metadata.user.tier", "enrich:tier"}
//
// Snapshot fields are named by their path (`messages[2].content`, the empty path for the whole
// snapshot); an upstream output's fields by the stage that produced it, a colon and the path in it
// (`enrich:tier`, or `enrich:` for the whole value). It sees through everything C++ allows on a
// `const` snapshot: shared_ptr and unique_ptr are followed, `mutable` members and const_cast
// writes are data like any other. It reports no false positives: NaN equals itself here, and
// unordered containers compare equal whatever their order or bucket count.
//
// Cost: one ValueImage (serialization/value_image.hpp) of the snapshot per stage boundary (the
// "after" of one stage is the "before" of the next) and a memcmp with the previous one; one image
// per output when it is produced and one per upstream output after each stage that may read it.
// The images are kept warm between runs, per thread (at most `keep_warm_bytes` each), so a run
// allocates nothing once the thread has run one like it. The list of changed fields is worked out
// only when something changed. docs/benchmarks.md ("What each hardening policy costs") has the figures
// against the memcmp floor and says when to keep it on in production and how to sample it.
//
// Under a concurrent executor each stage's before/after pair is its own; a change found after a
// stage while others ran at the same time names all of them (event field `stages`) and fails the
// run without failing any one stage.
//
// What is checked, with no silent gap: the snapshot and every upstream output must be walkable
// (serialization/walk.hpp lists what is; a ContextSnapshot is). An upstream output that is not is
// a compile error naming the reading stage and the output's type, unless its type is opted out:
//
//   template <> struct stageflow::pipeline::unchecked_output<Connection> : std::true_type {};
//
// Opted-out outputs are reported at run time: the metric `immutability.unchecked` (1) under the
// producing stage in the RunResult, and one `immutability.unchecked` event per run listing them
// (field `outputs`).
#pragma once

#include <stageflow/core/events.hpp>
#include <stageflow/detail/type_list.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/serialization/fingerprint_tree.hpp>
#include <stageflow/serialization/value_image.hpp>
#include <stageflow/serialization/walk.hpp>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace stageflow::events {
inline constexpr std::string_view immutability_violation = "immutability.violation";
/// Once per run, when some upstream outputs were not checked (their type is opted out).
inline constexpr std::string_view immutability_unchecked = "immutability.unchecked";
}  // namespace stageflow::events

namespace stageflow::pipeline {

/// Specialize as std::true_type for a stage output type the ImmutabilityInterceptor may leave
/// unchecked (a handle, a connection, a type that cannot be walked): without it, a stage reading
/// such an output is a compile error. Unchecked outputs are reported at run time.
template <class T>
struct unchecked_output : std::false_type {};

struct ImmutabilityOptions {
  /// Fail the stage (and so the run) that mutated its input. Off: report the violation and go on.
  bool crash_on_violation = true;
  /// Abort the process after reporting, for CI jobs that must stop at the first violation.
  bool abort_on_violation = false;
  /// How many changed fields a report names at most.
  std::size_t max_reported_fields = 16;
  /// A thread keeps the images of its last runs for the next ones, up to this many bytes per run
  /// state (and at most ImmutabilityInterceptor::warm_states_per_thread states); 0 frees them
  /// after every run.
  std::size_t keep_warm_bytes = std::size_t{64} << 20;
};

}  // namespace stageflow::pipeline

namespace stageflow::detail {

template <class Reader, class Output>
void reject_unwalkable_output() {
  static_assert(always_false<Output>,
                "stageflow: ImmutabilityInterceptor cannot check an upstream output this stage reads: its type cannot "
                "be walked. Make the type walkable (BOOST_HANA_ADAPT_STRUCT, or specialize "
                "stageflow::serialization::walk_as), or leave it unchecked on purpose: "
                "template <> struct stageflow::pipeline::unchecked_output<T> : std::true_type {}; "
                "The compiler names the reading stage (Reader = ...) and the type (Output = ...) in the "
                "instantiation notes.");
}

/// What one run of the interceptor keeps: the last verified image of each thing a stage is
/// handed, and the stages that may have touched it since (those that were running at any moment
/// after it was verified). Under SequentialExecutor that is exactly the stage that just ran.
struct ImmutabilityImages {
  struct Watched {
    std::string_view stage;  // the producing stage of an output; empty for the snapshot
    serialization::ValueImage image;
    std::vector<std::string_view> suspects;
  };
  Watched snapshot;
  bool snapshot_recorded = false;
  std::vector<Watched> outputs;  // the first output_count are this run's, in production order
  std::size_t output_count = 0;
  std::vector<std::string_view> running;
  std::vector<std::string_view> unchecked;  // producers of upstream outputs not checked
  serialization::ValueImage scratch;

  std::span<Watched> recorded_outputs() noexcept { return {outputs.data(), output_count}; }

  std::size_t capacity() const noexcept {
    std::size_t bytes = snapshot.image.capacity() + scratch.capacity();
    for (const auto& w : outputs) bytes += w.image.capacity();
    return bytes;
  }
  /// Ready for another run; buffers are kept.
  void reset() noexcept {
    snapshot.suspects.clear();
    snapshot.image.clear();
    snapshot_recorded = false;
    for (auto& w : recorded_outputs()) w.suspects.clear();
    output_count = 0;
    running.clear();
    unchecked.clear();
  }
};

/// The images of finished runs, per thread, for the next runs to reuse.
inline std::vector<std::unique_ptr<ImmutabilityImages>>& warm_immutability_images() {
  thread_local std::vector<std::unique_ptr<ImmutabilityImages>> pool;
  return pool;
}

}  // namespace stageflow::detail

namespace stageflow::pipeline {

class ImmutabilityInterceptor {
 public:
  using Options = ImmutabilityOptions;
  /// How many finished runs' images a thread keeps at most (each up to Options::keep_warm_bytes).
  static constexpr std::size_t warm_states_per_thread = 4;

  ImmutabilityInterceptor() = default;
  explicit ImmutabilityInterceptor(Options options) : options_(options) {}
  const Options& options() const noexcept { return options_; }

  /// One run's images, taken from this thread's warm ones when it has some, given back at the end.
  class run_state {
   public:
    run_state() : run_state(Options{}.keep_warm_bytes) {}
    explicit run_state(std::size_t keep_warm_bytes) : keep_warm_bytes_(keep_warm_bytes) {
      auto& pool = detail::warm_immutability_images();
      if (pool.empty()) {
        images_ = std::make_unique<detail::ImmutabilityImages>();
      } else {
        images_ = std::move(pool.back());
        pool.pop_back();
      }
    }
    run_state(run_state&&) noexcept = default;
    run_state& operator=(run_state&&) noexcept = default;
    ~run_state() {
      if (images_ == nullptr) return;
      auto& pool = detail::warm_immutability_images();
      if (pool.size() >= warm_states_per_thread || images_->capacity() > keep_warm_bytes_) return;
      images_->reset();
      pool.push_back(std::move(images_));
    }

    detail::ImmutabilityImages& operator*() noexcept { return *images_; }
    detail::ImmutabilityImages* operator->() noexcept { return images_.get(); }

   private:
    std::unique_ptr<detail::ImmutabilityImages> images_;
    std::size_t keep_warm_bytes_;
  };

  run_state make_run_state() const { return run_state(options_.keep_warm_bytes); }

  template <class Run, class Stage>
  void before_stage(run_state& rs, Run& run, Stage& stage) const {
    using Snapshot = typename Run::snapshot_type;
    static_assert(serialization::walkable_kind<Snapshot>,
                  "stageflow: ImmutabilityInterceptor records the snapshot, so its type must be walkable: "
                  "adapt it with BOOST_HANA_ADAPT_STRUCT (or specialize serialization::walk_as)");
    auto& state = *rs;
    if (!state.snapshot_recorded) {
      state.snapshot.image.record(run.snapshot());
      state.snapshot.suspects = state.running;
      state.snapshot_recorded = true;
    }
    add_once(state.snapshot.suspects, Stage::name);
    stage.for_each_input([&](std::string_view producer, const auto&) {
      for (auto& recorded : state.recorded_outputs())
        if (same_stage(recorded.stage, producer)) add_once(recorded.suspects, Stage::name);
    });
    state.running.push_back(Stage::name);
  }

  template <class Run, class Stage>
  void after_stage(run_state& rs, Run& run, Stage& stage) const {
    auto& state = *rs;
    std::erase_if(state.running, [](std::string_view name) { return same_stage(name, Stage::name); });
    Violation violation;

    // What was verified now is watched anew: only stages still running may touch it from here.
    auto verify = [&](detail::ImmutabilityImages::Watched& watched, std::string_view prefix) {
      if (state.scratch == watched.image) {
        watched.suspects = state.running;
        return;
      }
      violation.note(prefix, watched, state.scratch, options_.max_reported_fields);
      std::swap(watched.image, state.scratch);  // report each change once
      watched.suspects = state.running;
    };

    state.scratch.record(run.snapshot());
    verify(state.snapshot, {});

    // The upstream outputs this stage could read.
    stage.for_each_input([&](std::string_view producer, const auto& output) {
      using Output = std::remove_cvref_t<decltype(output)>;
      if constexpr (serialization::walkable_kind<Output>) {
        for (auto& recorded : state.recorded_outputs()) {
          if (!same_stage(recorded.stage, producer)) continue;
          state.scratch.record(output);
          verify(recorded, producer);
          break;
        }
      } else if constexpr (unchecked_output<Output>::value) {
        for (auto name : state.unchecked)
          if (same_stage(name, producer)) return;
        state.unchecked.push_back(producer);
        run.record_metric(producer, "immutability.unchecked", 1.0);
      } else {
        detail::reject_unwalkable_output<typename Stage::stage_type, Output>();
      }
    });

    // This stage's own output, as it leaves the stage: what later stages must not change.
    if constexpr (serialization::walkable_kind<typename Stage::output_type>) {
      if (const auto* output = stage.output()) {
        if (state.output_count == state.outputs.size()) state.outputs.emplace_back();
        auto& recorded = state.outputs[state.output_count++];
        recorded.stage = Stage::name;
        recorded.suspects.clear();
        recorded.image.record(*output);
      }
    }

    if (!violation.fields.empty()) report(violation, run, stage);
  }

  template <class Run>
  void on_run_end(run_state& rs, Run& run) const {
    const auto& unchecked = rs->unchecked;
    if (!unchecked.empty())
      run.emit(stageflow::events::immutability_unchecked, {},
               {{"outputs", std::span<const std::string_view>(unchecked)}});
  }

 private:
  /// The changes found after one stage.
  struct Violation {
    std::vector<std::string> fields;       // "messages[2].content", "enrich:tier"
    std::vector<std::string_view> kinds;   // "modified", "added" or "removed", one per field
    std::vector<std::string_view> suspects;
    bool truncated = false;

    void note(std::string_view producer, const detail::ImmutabilityImages::Watched& watched,
              const serialization::ValueImage& now, std::size_t max_fields) {
      serialization::FingerprintTree before, after;  // only now, from the images: naming costs only on a change
      before.record(watched.image);
      after.record(now);
      const auto diff = serialization::changed_fields(before, after, {.max_changes = max_fields});
      for (const auto& change : diff.changes) {
        fields.push_back(producer.empty() ? change.path : std::string(producer) + ":" + change.path);
        kinds.push_back(change.kind == serialization::FieldChange::Kind::added     ? "added"
                        : change.kind == serialization::FieldChange::Kind::removed ? "removed"
                                                                                   : "modified");
      }
      for (auto name : watched.suspects) add_once(suspects, name);
      truncated = truncated || diff.truncated;
    }

    /// "messages[2].content, metadata.plan (added), enrich:tier and more"
    std::string summary() const {
      std::string text;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!text.empty()) text += ", ";
        text += fields[i].empty() ? std::string("(whole snapshot)") : fields[i];
        if (kinds[i] != "modified") (text += " (") += std::string(kinds[i]) + ")";
      }
      if (truncated) text += " and more";
      return text;
    }
  };

  template <class Run, class Stage>
  void report(const Violation& violation, Run& run, Stage& stage) const {
    const std::string changed = violation.summary();
    const auto& suspects = violation.suspects;
    const bool only_this_stage = suspects.empty() || (suspects.size() == 1 && suspects.front() == Stage::name);
    std::string stages;
    for (auto name : suspects) {
      if (!stages.empty()) stages += ", ";
      stages += name;
    }
    const std::string message =
        only_this_stage ? "stage '" + std::string(Stage::name) + "' mutated what it was handed: " + changed
                        : "found after stage '" + std::string(Stage::name) + "': " + changed +
                              " changed while these stages ran at the same time: " + stages;
    const std::vector<std::string_view> fields(violation.fields.begin(), violation.fields.end());
    run.emit(stageflow::events::immutability_violation, Stage::name,
             {{"paths", std::span<const std::string_view>(fields)},
              {"changes", std::span<const std::string_view>(violation.kinds)},
              {"truncated", violation.truncated},
              {"stages", stages},
              {"message", message}});
    // The RunResult's copy of the paths, in the report of the stage after which they were found.
    stage.record_changed_fields(violation.fields);
    if (options_.abort_on_violation) std::abort();
    if (options_.crash_on_violation) {
      if (only_this_stage)
        stage.fail(message);
      else
        run.fail(message);  // the run fails, but no single stage is blamed
    }
  }

  static void add_once(std::vector<std::string_view>& names, std::string_view name) {
    for (auto n : names)
      if (same_stage(n, name)) return;
    names.push_back(name);
  }
  /// Stage names are Pipeline::names and Stage::name, one literal each: the address nearly always decides.
  static bool same_stage(std::string_view a, std::string_view b) noexcept {
    return (a.data() == b.data() && a.size() == b.size()) || a == b;
  }

  Options options_{};
};

}  // namespace stageflow::pipeline
