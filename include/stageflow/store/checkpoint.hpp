// SPDX-License-Identifier: BSL-1.0
// Checkpoint<Store>: after each stage that completes, the run's context (its snapshot and every
// outcome so far) goes to a snapshot store under the run's id; runner.resume() continues a run from
// its latest checkpoint, restoring what completed and running only the rest.
//
//   stageflow::store::SqliteSnapshotStore store("runs.db");
//   stageflow::Runner<stageflow::store::Checkpoint<stageflow::store::SqliteSnapshotStore>> runner{
//       stageflow::store::Checkpoint(store)};
//   runner.run(pipeline, snapshot);                        // version k: the first k stages done
//   // ... the process dies; later, anywhere with the same database:
//   auto result = runner.resume(pipeline, run_id, store);  // the same result as one whole run
//
// A version is one JSON document: {"format": "stageflow.checkpoint/1", "run_id", "snapshot",
// "stages": {name: {"status": "ok", "output": ...} or {"status": "skip", "reason": ...}}}. Stages
// that failed, were cancelled or timed out are not in it: resume runs them again. Under a
// concurrent executor the appends of one run take turns (the runner serializes a policy's
// run_state), so versions follow completion order. A failed append (the database is gone, another
// writer took the version) fails the stage with the store's error: a run never silently goes on
// without the checkpoints it was asked to keep.
//
// Every stage output must be serializable (walkable, a compile error naming the type if not) and
// readable back with from_json. The snapshot must be walkable and readable too; its run id is the
// run's (ContextSnapshot carries it), so a resumed run reports the id it started with.
// Declare Checkpoint first among the policies: its after_stage then runs last, after every other
// policy had its say about the stage.
#pragma once

#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/core/run_result.hpp>
#include <stageflow/json/parse.hpp>
#include <stageflow/json/value.hpp>
#include <stageflow/runner/run_options.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/serialization/from_json.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/serialization/walk.hpp>
#include <stageflow/store/errors.hpp>

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace stageflow::store {

inline constexpr std::string_view checkpoint_format = "stageflow.checkpoint/1";

namespace detail {

/// What a resumed run starts from: the checkpoint read back, typed for its pipeline.
template <class Pipeline, class Snapshot, std::size_t... I>
auto optional_outputs(std::index_sequence<I...>) -> std::tuple<std::optional<
    stage_output_t<Snapshot, Pipeline, stageflow::detail::list_element_t<I, typename Pipeline::stage_types>>>...>;

template <class Pipeline, class Snapshot>
struct RestorePlan {
  std::string run_id;
  std::int64_t version = 0;
  decltype(optional_outputs<Pipeline, Snapshot>(std::make_index_sequence<Pipeline::size>{})) outputs;
  std::array<StageStatus, Pipeline::size> status{};  // ok, skip, or not_run (runs again)
  std::array<std::string, Pipeline::size> reasons;
  std::array<std::string, Pipeline::size> entries;  // the stage's JSON, kept in the next versions
};

/// Resumes waiting for their run to start, keyed by the snapshot the run is given.
struct PendingResumes {
  struct Entry {
    std::shared_ptr<void> plan;
    const std::type_info* type;
  };
  std::mutex mutex;
  std::map<const void*, Entry> by_snapshot;
};

/// A stage's output must be serializable to be checkpointed: an error naming the stage and the type.
template <class Stage, class Output>
constexpr bool check_checkpointable() {
  static_assert(serialization::Walkable<Output>,
                "stageflow::store::Checkpoint: a stage's output cannot be serialized, so it cannot be checkpointed: "
                "make it a Hana-adapted struct, a container, a string, a number, an optional or a JsonValue (the "
                "stage and its output type are check_checkpointable<Stage, Output> in the notes)");
  return serialization::Walkable<Output>;
}

inline std::string run_id_text(const boost::uuids::uuid& id) { return boost::uuids::to_string(id); }
inline std::string run_id_text(std::string_view id) { return std::string(id); }

}  // namespace detail

template <class Store>
class Checkpoint {
 public:
  /// `store` must outlive the runner; it is shared by every run (stores lock for themselves).
  explicit Checkpoint(Store& store) : store_(&store), pending_(std::make_shared<detail::PendingResumes>()) {}

  struct run_state {
    std::string run_id;
    std::string snapshot;                          // its JSON, written once per run
    std::map<std::string_view, std::string> done;  // stage name -> its entry, in name order
    std::shared_ptr<void> plan;                    // a RestorePlan when the run resumes
    std::vector<bool> restored;                    // by stage index: in the checkpoint resumed from
    std::int64_t last_version = 0;
  };

  Store& store() const noexcept { return *store_; }
  /// The version the run's last checkpoint got (0: none yet).
  static std::int64_t version(const run_state& state) noexcept { return state.last_version; }

  template <class Run>
  void on_run_start(run_state& state, Run& run) const {
    using Snapshot = typename Run::snapshot_type;
    static_assert(serialization::Walkable<Snapshot>,
                  "stageflow::store::Checkpoint: the snapshot type must be walkable (Hana-adapted) to be stored");
    state.run_id = detail::run_id_text(run.pipeline_run_id());
    if (auto plan = take_plan<typename Run::pipeline_type, Snapshot>(&run.snapshot())) {
      state.run_id = plan->run_id;
      state.restored.assign(Run::pipeline_type::size, false);
      for (std::size_t i = 0; i < Run::pipeline_type::size; ++i) {
        if (plan->entries[i].empty()) continue;
        state.done[Run::pipeline_type::names[i]] = std::move(plan->entries[i]);
        state.restored[i] = true;
      }
      state.last_version = plan->version;
      state.plan = std::move(plan);
    }
    state.snapshot = serialization::to_json(run.snapshot());
  }

  /// A resumed run: a stage the checkpoint has is restored, not run.
  template <class Run, class Stage>
  void before_stage(run_state& state, Run&, Stage& stage) const {
    if (!state.plan) return;
    using Plan = detail::RestorePlan<typename Run::pipeline_type, typename Run::snapshot_type>;
    auto& plan = *static_cast<Plan*>(state.plan.get());
    constexpr std::size_t i = Stage::index;
    if (plan.status[i] == StageStatus::ok) {
      auto& output = std::get<i>(plan.outputs);
      stage.restore(std::move(*output));
      output.reset();
    } else if (plan.status[i] == StageStatus::skip) {
      stage.restore_skipped(std::move(plan.reasons[i]));
    }
  }

  template <class Run, class Stage>
  void after_stage(run_state& state, Run&, Stage& stage) const {
    if constexpr (detail::check_checkpointable<typename Stage::stage_type, typename Stage::output_type>())
      record(state, stage);
  }

  /// Called by Runner::resume (through detail::Resume): the run about to start on `snapshot`
  /// continues from `plan`.
  template <class Pipeline, class Snapshot>
  void expect(const Snapshot* snapshot, std::shared_ptr<detail::RestorePlan<Pipeline, Snapshot>> plan) const {
    const std::lock_guard lock(pending_->mutex);
    pending_->by_snapshot[snapshot] = {std::move(plan), &typeid(detail::RestorePlan<Pipeline, Snapshot>)};
  }
  /// Forgets a plan no run took (the run was refused before it started).
  void forget(const void* snapshot) const {
    const std::lock_guard lock(pending_->mutex);
    pending_->by_snapshot.erase(snapshot);
  }

  /// The checkpoint document of this run's state (what after_stage appends).
  static std::string document(const run_state& state) {
    std::string doc = R"({"format":")";
    doc += checkpoint_format;
    doc += R"(","run_id":)";
    serialization::append_json(doc, state.run_id);
    doc += R"(,"snapshot":)";
    doc += state.snapshot;
    doc += R"(,"stages":{)";
    bool first = true;
    for (const auto& [name, entry] : state.done) {
      if (!first) doc += ',';
      first = false;
      serialization::append_json(doc, name);
      doc += ':';
      doc += entry;
    }
    doc += "}}";
    return doc;
  }

 private:
  // The stage's entry (ok with its output, or skip with its reason) and one more version.
  template <class Stage>
  void record(run_state& state, Stage& stage) const {
    constexpr std::size_t i = Stage::index;
    if (state.plan && state.restored[i]) return;  // already in the checkpoint it resumed from
    std::string entry;
    if (stage.status() == StageStatus::ok && stage.output() != nullptr) {
      entry = R"({"status":"ok","output":)";
      serialization::append_json(entry, *stage.output());
      entry += '}';
    } else if (stage.status() == StageStatus::skip) {
      entry = R"({"status":"skip","reason":)";
      serialization::append_json(entry, stage.reason());
      entry += '}';
    } else {
      return;  // failed, cancelled, timed out: runs again on resume
    }
    state.done[Stage::name] = std::move(entry);
    state.last_version = store_->append(state.run_id, document(state));
  }

  template <class Pipeline, class Snapshot>
  std::shared_ptr<detail::RestorePlan<Pipeline, Snapshot>> take_plan(const void* snapshot) const {
    const std::lock_guard lock(pending_->mutex);
    const auto found = pending_->by_snapshot.find(snapshot);
    if (found == pending_->by_snapshot.end() ||
        *found->second.type != typeid(detail::RestorePlan<Pipeline, Snapshot>))
      return nullptr;
    auto plan = std::static_pointer_cast<detail::RestorePlan<Pipeline, Snapshot>>(std::move(found->second.plan));
    pending_->by_snapshot.erase(found);
    return plan;
  }

  Store* store_;
  std::shared_ptr<detail::PendingResumes> pending_;
};

namespace detail {

template <class P>
inline constexpr bool is_checkpoint_v = false;
template <class S>
inline constexpr bool is_checkpoint_v<Checkpoint<S>> = true;

template <class... Policies>
struct find_checkpoint;
template <class P, class... Rest>
struct find_checkpoint<P, Rest...> {
  using type = std::conditional_t<is_checkpoint_v<P>, P, typename find_checkpoint<Rest...>::type>;
};
template <>
struct find_checkpoint<> {
  using type = void;
};

inline std::string describe_checkpoint(const std::string& run_id, std::int64_t version) {
  return "stageflow::store::resume: run \"" + run_id + "\" version " + std::to_string(version);
}
inline std::string json_path(std::string_view prefix, const FromJsonError& error) {
  std::string path(prefix);
  if (!error.path().empty()) path += (error.path().front() == '[' ? "" : ".") + error.path();
  return path + ": " + error.reason();
}

/// The latest checkpoint of `run_id`, read back for this pipeline and snapshot type. Nothing runs
/// before it is whole: every mismatch is an error here.
template <class Pipeline, class Snapshot, class Store>
std::pair<Snapshot, std::shared_ptr<RestorePlan<Pipeline, Snapshot>>> read_checkpoint(Store& store,
                                                                                      const std::string& run_id) {
  const auto versions = store.versions(run_id);
  if (versions.empty())
    throw StoreNotFoundError("stageflow::store::resume: run \"" + run_id + "\" has no checkpoint in the store", run_id, 0);
  auto plan = std::make_shared<RestorePlan<Pipeline, Snapshot>>();
  plan->run_id = run_id;
  plan->version = versions.back();
  const std::string where = describe_checkpoint(run_id, plan->version);
  const auto mismatch = [&](const std::string& what) { return CheckpointError(where + ": " + what, run_id, plan->version); };
  JsonValue doc;
  try {
    doc = serialization::parse_json(store.load(run_id, plan->version));  // StoreCorruptionError passes through
  } catch (const JsonParseError& error) {
    throw mismatch(std::string("not JSON: ") + error.what());
  }
  const JsonValue* format = doc.is_object() ? doc.find("format") : nullptr;
  if (format == nullptr || !format->is_string() || format->as_string() != checkpoint_format)
    throw mismatch("not a checkpoint (no \"format\": \"" + std::string(checkpoint_format) + "\")");
  const JsonValue* snapshot_json = doc.find("snapshot");
  const JsonValue* stages = doc.find("stages");
  if (snapshot_json == nullptr || stages == nullptr || !stages->is_object())
    throw mismatch("a checkpoint needs \"snapshot\" and an object \"stages\"");
  Snapshot snapshot{};
  try {
    snapshot = from_json<Snapshot>(*snapshot_json);
  } catch (const FromJsonError& error) {
    throw mismatch(json_path("snapshot", error));
  }
  for (const auto& [name, entry] : stages->as_object()) {
    std::size_t i = 0;
    while (i < Pipeline::size && Pipeline::names[i] != name) ++i;
    if (i == Pipeline::size) throw mismatch("it has stage \"" + std::string(name) + "\", which this pipeline does not");
    const JsonValue* status = entry.is_object() ? entry.find("status") : nullptr;
    const std::string prefix = "stages." + std::string(name);
    if (status != nullptr && status->is_string() && status->as_string() == "ok" && entry.contains("output")) {
      try {
        const JsonValue& output = entry.at("output");  // (clang 14 cannot capture a structured binding)
        [&]<std::size_t... I>(std::index_sequence<I...>) {
          ((i == I ? (void)std::get<I>(plan->outputs).emplace(
                         from_json<typename std::tuple_element_t<I, decltype(plan->outputs)>::value_type>(output))
                   : void()),
           ...);
        }(std::make_index_sequence<Pipeline::size>{});
      } catch (const FromJsonError& error) {
        throw mismatch(json_path(prefix + ".output", error));
      }
      plan->status[i] = StageStatus::ok;
    } else if (status != nullptr && status->is_string() && status->as_string() == "skip") {
      const JsonValue* reason = entry.find("reason");
      plan->reasons[i] = reason != nullptr && reason->is_string() ? reason->as_string() : std::string();
      plan->status[i] = StageStatus::skip;
    } else {
      throw mismatch(prefix + ": expected {\"status\": \"ok\", \"output\": ...} or {\"status\": \"skip\"}");
    }
    plan->entries[i] = serialization::to_json(entry);
  }
  return {std::move(snapshot), std::move(plan)};
}

}  // namespace detail
}  // namespace stageflow::store

namespace stageflow::detail {

template <class Config, class... Policies>
struct Resume<BasicRunner<Config, Policies...>> {
  using Runner = BasicRunner<Config, Policies...>;
  using Checkpoint = typename store::detail::find_checkpoint<Policies...>::type;

  template <class Snapshot, class Pipeline, class Store, class RunId>
  static RunResult<Pipeline, Snapshot> run(const Runner& runner, const Pipeline& pipeline, const RunId& run_id,
                                           Store& store, RunOptions options) {
    static_assert(!std::is_void_v<Checkpoint>,
                  "stageflow: runner.resume needs a stageflow::store::Checkpoint<Store> policy in the runner: it "
                  "restores the completed stages and checkpoints the rest");
    const std::string id = store::detail::run_id_text(run_id);
    auto [snapshot, plan] = store::detail::read_checkpoint<Pipeline, Snapshot>(store, id);
    auto owned = std::make_shared<const Snapshot>(std::move(snapshot));
    const Checkpoint& policy = runner.template policy<Checkpoint>();
    policy.template expect<Pipeline, Snapshot>(owned.get(), std::move(plan));
    struct Forget {  // a run refused before on_run_start leaves no plan behind
      const Checkpoint& policy;
      const void* key;
      ~Forget() { policy.forget(key); }
    } forget{policy, owned.get()};
    return runner.run(pipeline, std::move(owned), std::move(options));
  }
};

}  // namespace stageflow::detail
