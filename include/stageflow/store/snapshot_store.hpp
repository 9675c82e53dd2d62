// SPDX-License-Identifier: BSL-1.0
// Durable snapshots as chains of a base and RFC 6902 deltas, on any database backend.
//
//   stageflow::store::SqliteSnapshotStore store("runs.db");        // <stageflow/store/sqlite_store.hpp>
//   std::int64_t v = store.append(run_id, snapshot_json);          // 1, 2, 3...
//   std::string json = store.load(run_id);                         // the latest; load(run_id, v) for one version
//
// Each run's versions are numbered from 1. The first version, and every `rebase_every`-th after the
// last base, or any version once the deltas since the last base add up to more than `rebase_ratio`
// of the base's bytes, is stored whole (a base); the others as the RFC 6902 delta from the previous
// version (compression::compress). load() applies the deltas since the last base as one patch
// (RFC 6902 patches compose by concatenation), so a load costs about one parse of the document.
//
// Documents come back minified (equal as JSON to what was appended, not byte for byte). Each record
// carries the XXH3-64 of the document it yields; load() checks it and throws StoreCorruptionError
// naming the run and the first version that does not check out, never wrong data.
//
// Writers: version numbers are unique per run (the database's primary key). Two processes appending
// to one run at once: one gets the version, the other StoreConflictError and nothing of its append
// is stored. append(run, json, expected_version) appends only on top of that version (optimistic
// concurrency for a writer that knows what it last saw). One store object is safe to share between
// threads (a mutex: one database connection); several objects or processes may share one database.
//
// A backend (SqliteBackend, PostgresBackend) only stores and finds records: see SnapshotBackend.
#pragma once

#include <stageflow/compression/delta.hpp>
#include <stageflow/detail/xxhash.hpp>
#include <stageflow/store/errors.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::store {

/// When a version is stored whole rather than as a delta.
struct StoreOptions {
  std::int64_t rebase_every = 64;  ///< a base at most every this many versions (1: every version whole)
  double rebase_ratio = 0.5;       ///< a base once the deltas since the last one exceed this share of its bytes
};

/// One stored version: whole (a base) or a delta from the version before.
struct SnapshotRecord {
  std::int64_t version = 0;
  bool base = false;
  std::uint64_t hash = 0;        ///< XXH3-64 of the document this version yields (minified)
  std::int64_t created_ms = 0;   ///< Unix time of the append, milliseconds
  std::string payload;           ///< the document (base) or the RFC 6902 delta
};

/// The latest version of a run and the hash of its document (version 0: no such run).
struct RecordHead {
  std::int64_t version = 0;
  std::uint64_t hash = 0;
};

/// Size of one record without its payload, for rebase decisions.
struct RecordSize {
  std::int64_t version = 0;
  bool base = false;
  std::size_t payload_bytes = 0;
};

/// What a database backend does. Records of a run are found by (run_id, version), which is unique:
/// insert() of an existing pair throws StoreConflictError and stores nothing.
template <class B>
concept SnapshotBackend = requires(B& backend, const B& const_backend, std::string_view run_id, std::int64_t version,
                                   const SnapshotRecord& record, std::int64_t cutoff_ms) {
  backend.insert(run_id, record);
  { backend.latest(run_id) } -> std::same_as<RecordHead>;
  { backend.chain_sizes(run_id, version) } -> std::same_as<std::vector<RecordSize>>;  // last base..version
  { backend.chain(run_id, version) } -> std::same_as<std::vector<SnapshotRecord>>;    // last base..version
  { backend.versions(run_id) } -> std::same_as<std::vector<std::int64_t>>;
  { backend.erase(run_id) } -> std::same_as<std::size_t>;                 // records removed
  { backend.erase_idle_since(cutoff_ms) } -> std::same_as<std::size_t>;   // runs removed
  { backend.runs() } -> std::same_as<std::vector<std::string>>;
};

/// Bytes a run takes in the store (payloads only; each row adds a few dozen bytes of its own).
struct RunFootprint {
  std::int64_t versions = 0;
  std::int64_t bases = 0;
  std::size_t payload_bytes = 0;
};

/// What a snapshot store offers, whatever its database.
template <class S>
concept snapshot_store = requires(S& store, std::string_view run_id, std::string_view json, std::int64_t version) {
  { store.append(run_id, json) } -> std::same_as<std::int64_t>;
  { store.load(run_id) } -> std::same_as<std::string>;
  { store.load(run_id, version) } -> std::same_as<std::string>;
  { store.versions(run_id) } -> std::same_as<std::vector<std::int64_t>>;
  { store.erase(run_id) } -> std::same_as<std::size_t>;
};

namespace detail {
inline std::uint64_t document_hash(std::string_view minified) noexcept {
  return XXH3_64bits(minified.data(), minified.size());
}
inline std::int64_t now_unix_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
/// The minified form of a JSON text (and proof that it is JSON): an empty patch applied.
inline std::string minified(std::string_view json) { return compression::apply_delta(json, "[]"); }
}  // namespace detail

/// The delta-chain logic over a backend; SqliteSnapshotStore and PostgresSnapshotStore are this.
template <SnapshotBackend Backend>
class SnapshotStore {
 public:
  template <class... Args>
  explicit SnapshotStore(StoreOptions options, Args&&... backend_args)
      : options_(options), backend_(std::forward<Args>(backend_args)...) {
    if (options_.rebase_every < 1) throw StoreError("stageflow::store: rebase_every must be at least 1");
  }

  /// Appends `json` as the run's next version and returns its number. Throws ParseError
  /// (compression/errors.hpp) for text that is not JSON, StoreConflictError when another writer
  /// took that version first.
  std::int64_t append(std::string_view run_id, std::string_view json) {
    const std::lock_guard lock(mutex_);
    return append_after(run_id, json, backend_.latest(run_id));
  }

  /// Appends `json` as version expected_version + 1, only if that is the next version; otherwise
  /// StoreConflictError (another writer appended since `expected_version`; 0 means a new run).
  std::int64_t append(std::string_view run_id, std::string_view json, std::int64_t expected_version) {
    const std::lock_guard lock(mutex_);
    const RecordHead latest = backend_.latest(run_id);
    if (latest.version != expected_version)
      throw StoreConflictError(describe(run_id, expected_version + 1) + ": the run is at version " +
                                   std::to_string(latest.version) + ", not " + std::to_string(expected_version) +
                                   " (another writer appended); load it and append again",
                               std::string(run_id), expected_version + 1);
    return append_after(run_id, json, latest);
  }

  /// The document of the latest version (minified). StoreNotFoundError when the run has none.
  std::string load(std::string_view run_id) {
    const std::lock_guard lock(mutex_);
    const RecordHead latest = backend_.latest(run_id);
    if (latest.version == 0) throw StoreNotFoundError(describe(run_id, 0) + ": no such run", std::string(run_id), 0);
    return load_version(run_id, latest.version);
  }

  /// The document of one version (minified). StoreNotFoundError when it is not stored,
  /// StoreCorruptionError when a record on its chain does not yield what was written.
  std::string load(std::string_view run_id, std::int64_t version) {
    const std::lock_guard lock(mutex_);
    return load_version(run_id, version);
  }

  /// The run's versions, ascending (empty for an unknown run).
  std::vector<std::int64_t> versions(std::string_view run_id) {
    const std::lock_guard lock(mutex_);
    return backend_.versions(run_id);
  }

  /// Removes every version of the run; returns how many.
  std::size_t erase(std::string_view run_id) {
    const std::lock_guard lock(mutex_);
    if (const auto found = cache_.find(run_id); found != cache_.end()) cache_.erase(found);
    return backend_.erase(run_id);
  }

  /// Retention by age: removes every run not appended to for `max_age`; returns how many runs.
  std::size_t erase_idle(std::chrono::milliseconds max_age) {
    const std::lock_guard lock(mutex_);
    cache_.clear();
    return backend_.erase_idle_since(detail::now_unix_ms() - max_age.count());
  }

  /// The ids of the runs in the store.
  std::vector<std::string> runs() {
    const std::lock_guard lock(mutex_);
    return backend_.runs();
  }

  /// Versions, bases and payload bytes of the run.
  RunFootprint footprint(std::string_view run_id) {
    const std::lock_guard lock(mutex_);
    RunFootprint result;
    for (const std::int64_t version : backend_.versions(run_id)) {
      result.versions += 1;
      const RecordSize last = backend_.chain_sizes(run_id, version).back();
      result.bases += last.base ? 1 : 0;
      result.payload_bytes += last.payload_bytes;
    }
    return result;
  }

  const StoreOptions& options() const noexcept { return options_; }
  /// The backend (for its own operations and for tests that reach into the database).
  Backend& backend() noexcept { return backend_; }

 private:
  // The last document this object wrote or read for a run, with its chain since the last base, so
  // that an append needs no replay while no one else writes to the run.
  struct Head {
    std::int64_t version = 0;
    std::uint64_t hash = 0;  // of the document: tells a cached head from a run erased and written again
    std::string document;  // minified
    std::int64_t base_version = 0;
    std::size_t base_bytes = 0;
    std::size_t chain_bytes = 0;  // deltas since the base
  };

  static std::string describe(std::string_view run_id, std::int64_t version) {
    std::string text = "stageflow::store: run \"" + std::string(run_id) + "\"";
    if (version != 0) text += " version " + std::to_string(version);
    return text;
  }

  std::int64_t append_after(std::string_view run_id, std::string_view json, RecordHead latest) {
    const std::int64_t version = latest.version + 1;
    SnapshotRecord record;
    record.version = version;
    record.created_ms = detail::now_unix_ms();
    Head next;
    next.version = version;
    const Head* head = latest.version == 0 ? nullptr : &head_at(run_id, latest);
    const bool rebase = head == nullptr || version - head->base_version >= options_.rebase_every ||
                        static_cast<double>(head->chain_bytes) >
                            options_.rebase_ratio * static_cast<double>(head->base_bytes);
    if (!rebase) {
      compression::CompressResult delta = compression::compress(head->document, json);
      next.document = compression::apply_delta(head->document, delta.delta);  // what load() will yield
      record.payload = std::move(delta.delta);
      next.base_version = head->base_version;
      next.base_bytes = head->base_bytes;
      next.chain_bytes = head->chain_bytes + record.payload.size();
    }
    if (rebase) {
      next.document = detail::minified(json);
      record.base = true;
      record.payload = next.document;
      next.base_version = version;
      next.base_bytes = record.payload.size();
    }
    record.hash = next.hash = detail::document_hash(next.document);
    try {
      backend_.insert(run_id, record);
    } catch (const StoreConflictError&) {
      if (const auto found = cache_.find(run_id); found != cache_.end()) cache_.erase(found);
      throw;
    }
    remember(run_id, std::move(next));
    return version;
  }

  // The head of the run at `version`, from the cache or read from the backend.
  Head& head_at(std::string_view run_id, RecordHead latest) {
    const std::int64_t version = latest.version;
    auto found = cache_.find(run_id);
    if (found != cache_.end() && found->second.version == version && found->second.hash == latest.hash)
      return found->second;
    Head head;
    head.version = version;
    head.hash = latest.hash;
    const std::vector<RecordSize> sizes = backend_.chain_sizes(run_id, version);
    if (sizes.empty() || !sizes.front().base)
      throw corrupt(run_id, version, "its chain of records has no base");
    head.base_version = sizes.front().version;
    head.base_bytes = sizes.front().payload_bytes;
    for (std::size_t i = 1; i < sizes.size(); ++i) head.chain_bytes += sizes[i].payload_bytes;
    head.document = load_version(run_id, version);
    return remember(run_id, std::move(head));
  }

  // Heads of a few runs are kept (a document each): enough for the runs a process is writing.
  Head& remember(std::string_view run_id, Head head) {
    static constexpr std::size_t max_cached_runs = 16;
    if (cache_.size() >= max_cached_runs && cache_.find(run_id) == cache_.end()) cache_.erase(cache_.begin());
    return cache_.insert_or_assign(std::string(run_id), std::move(head)).first->second;
  }

  std::string load_version(std::string_view run_id, std::int64_t version) {
    std::vector<SnapshotRecord> chain = backend_.chain(run_id, version);
    if (chain.empty() || chain.back().version != version)
      throw StoreNotFoundError(describe(run_id, version) + ": not in the store", std::string(run_id), version);
    if (!chain.front().base || chain.front().version + static_cast<std::int64_t>(chain.size()) - 1 != version)
      throw StoreCorruptionError(describe(run_id, version) + ": its chain of records is broken (a record is missing)",
                                 std::string(run_id), version);
    if (chain.size() > 1) {
      // Every delta since the base as one patch: their operations, in order.
      std::string patch = "[";
      for (std::size_t i = 1; i < chain.size(); ++i) {
        const std::string_view ops = chain[i].payload;
        if (ops.size() < 2 || ops.front() != '[' || ops.back() != ']') return replay(run_id, chain);
        const std::string_view inner = ops.substr(1, ops.size() - 2);
        if (inner.empty()) continue;
        if (patch.size() > 1) patch += ',';
        patch += inner;
      }
      patch += ']';
      try {
        std::string document = compression::apply_delta(chain.front().payload, patch);
        if (detail::document_hash(document) == chain.back().hash) return document;
      } catch (const std::exception&) {
      }
      return replay(run_id, chain);  // finds the first record that does not check out
    }
    if (detail::document_hash(chain.front().payload) != chain.front().hash)
      throw corrupt(run_id, version, "its document does not match its XXH3-64");
    return std::move(chain.front().payload);
  }

  // Version by version, each checked against its own hash: names the first bad record.
  std::string replay(std::string_view run_id, const std::vector<SnapshotRecord>& chain) {
    std::string document = chain.front().payload;
    if (detail::document_hash(document) != chain.front().hash)
      throw corrupt(run_id, chain.front().version, "its document does not match its XXH3-64");
    for (std::size_t i = 1; i < chain.size(); ++i) {
      try {
        document = compression::apply_delta(document, chain[i].payload);
      } catch (const std::exception& error) {
        throw corrupt(run_id, chain[i].version, std::string("its delta does not apply: ") + error.what());
      }
      if (detail::document_hash(document) != chain[i].hash)
        throw corrupt(run_id, chain[i].version, "the document its delta yields does not match its XXH3-64");
    }
    return document;
  }

  static StoreCorruptionError corrupt(std::string_view run_id, std::int64_t version, const std::string& why) {
    return StoreCorruptionError(describe(run_id, version) + " is corrupt: " + why, std::string(run_id), version);
  }

  StoreOptions options_;
  Backend backend_;
  std::mutex mutex_;
  std::map<std::string, Head, std::less<>> cache_;
};

}  // namespace stageflow::store
