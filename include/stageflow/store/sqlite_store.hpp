// SPDX-License-Identifier: BSL-1.0
// SqliteSnapshotStore: snapshot chains in one SQLite file (the embedded default; link libsqlite3).
//
//   stageflow::store::SqliteSnapshotStore store("runs.db");   // created if missing, WAL journal
//   stageflow::store::SqliteSnapshotStore store("runs.db", {.rebase_every = 16});
//
// WAL lets readers run beside the one writer; several processes may open the same file (a busy
// database is waited for, up to `busy_timeout`). Records live in the table `stageflow_snapshots`.
#pragma once

#include <stageflow/store/snapshot_store.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::store {

/// The SQLite side of SqliteSnapshotStore: one connection, prepared statements.
class SqliteBackend {
 public:
  explicit SqliteBackend(const std::string& path, std::chrono::milliseconds busy_timeout = std::chrono::seconds(10)) {
    sqlite3* db = nullptr;
    const int opened = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db_.reset(db);
    if (opened != SQLITE_OK)
      throw StoreError("stageflow::store: cannot open the SQLite database \"" + path +
                       "\": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(opened)));
    sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");  // with WAL: durable across a crash of the process
    exec("CREATE TABLE IF NOT EXISTS stageflow_snapshots (run_id TEXT NOT NULL, version INTEGER NOT NULL, "
         "base INTEGER NOT NULL, hash INTEGER NOT NULL, created_ms INTEGER NOT NULL, payload BLOB NOT NULL, "
         "PRIMARY KEY (run_id, version)) WITHOUT ROWID");
  }

  void insert(std::string_view run_id, const SnapshotRecord& record) {
    Statement s = prepare(
        "INSERT INTO stageflow_snapshots (run_id, version, base, hash, created_ms, payload) VALUES (?,?,?,?,?,?)");
    s.text(1, run_id);
    s.integer(2, record.version);
    s.integer(3, record.base ? 1 : 0);
    s.integer(4, static_cast<std::int64_t>(record.hash));
    s.integer(5, record.created_ms);
    s.blob(6, record.payload);
    const int status = s.step_status();
    if (status == SQLITE_DONE) return;
    if ((sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_CONSTRAINT)
      throw StoreConflictError("stageflow::store: run \"" + std::string(run_id) + "\" version " +
                                   std::to_string(record.version) +
                                   " was appended by another writer first; load the run and append again",
                               std::string(run_id), record.version);
    fail("insert");
  }

  RecordHead latest(std::string_view run_id) {
    Statement s = prepare("SELECT version, hash FROM stageflow_snapshots WHERE run_id = ? ORDER BY version DESC LIMIT 1");
    s.text(1, run_id);
    if (!s.next_row()) return {};
    return {s.column_integer(0), static_cast<std::uint64_t>(s.column_integer(1))};
  }

  std::vector<RecordSize> chain_sizes(std::string_view run_id, std::int64_t version) {
    Statement s = chain_query("SELECT version, base, length(payload)", run_id, version);
    std::vector<RecordSize> sizes;
    while (s.next_row())
      sizes.push_back({s.column_integer(0), s.column_integer(1) != 0, static_cast<std::size_t>(s.column_integer(2))});
    return sizes;
  }

  std::vector<SnapshotRecord> chain(std::string_view run_id, std::int64_t version) {
    Statement s = chain_query("SELECT version, base, hash, created_ms, payload", run_id, version);
    std::vector<SnapshotRecord> records;
    while (s.next_row()) {
      SnapshotRecord& r = records.emplace_back();
      r.version = s.column_integer(0);
      r.base = s.column_integer(1) != 0;
      r.hash = static_cast<std::uint64_t>(s.column_integer(2));
      r.created_ms = s.column_integer(3);
      r.payload = s.column_blob(4);
    }
    return records;
  }

  std::vector<std::int64_t> versions(std::string_view run_id) {
    Statement s = prepare("SELECT version FROM stageflow_snapshots WHERE run_id = ? ORDER BY version");
    s.text(1, run_id);
    std::vector<std::int64_t> result;
    while (s.next_row()) result.push_back(s.column_integer(0));
    return result;
  }

  std::size_t erase(std::string_view run_id) {
    Statement s = prepare("DELETE FROM stageflow_snapshots WHERE run_id = ?");
    s.text(1, run_id);
    s.step_done();
    return static_cast<std::size_t>(sqlite3_changes(db_.get()));
  }

  std::size_t erase_idle_since(std::int64_t cutoff_ms) {
    exec("BEGIN IMMEDIATE");
    try {
      Statement count = prepare("SELECT count(*) FROM (SELECT run_id FROM stageflow_snapshots GROUP BY run_id "
                                "HAVING max(created_ms) < ?)");
      count.integer(1, cutoff_ms);
      count.step_row();
      const auto runs = static_cast<std::size_t>(count.column_integer(0));
      Statement s = prepare("DELETE FROM stageflow_snapshots WHERE run_id IN (SELECT run_id FROM "
                            "stageflow_snapshots GROUP BY run_id HAVING max(created_ms) < ?)");
      s.integer(1, cutoff_ms);
      s.step_done();
      exec("COMMIT");
      return runs;
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::vector<std::string> runs() {
    Statement s = prepare("SELECT DISTINCT run_id FROM stageflow_snapshots ORDER BY run_id");
    std::vector<std::string> result;
    while (s.next_row()) result.push_back(s.column_blob(0));
    return result;
  }

  /// Runs one SQL statement (tests use it to reach into the table).
  void exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message != nullptr ? message : "unknown error";
      sqlite3_free(message);
      throw StoreError("stageflow::store: SQLite: " + text + " (in: " + sql + ")");
    }
  }

 private:
  struct CloseDb {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  struct FinalizeStatement {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
  };

  [[noreturn]] void fail(const char* what) const {
    throw StoreError(std::string("stageflow::store: SQLite ") + what + " failed: " + sqlite3_errmsg(db_.get()));
  }

  // A prepared statement of the cache, reset (and its bindings cleared) when done with, so that
  // it keeps no read transaction open and is ready for the next call.
  class Statement {
   public:
    Statement(SqliteBackend& owner, sqlite3_stmt* statement) : owner_(owner), s_(statement) {}
    void text(int i, std::string_view value) {
      sqlite3_bind_text(s_.get(), i, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    }
    void blob(int i, std::string_view value) {
      sqlite3_bind_blob(s_.get(), i, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    }
    void integer(int i, std::int64_t value) { sqlite3_bind_int64(s_.get(), i, value); }
    int step_status() { return sqlite3_step(s_.get()); }
    bool next_row() {
      const int status = sqlite3_step(s_.get());
      if (status == SQLITE_ROW) return true;
      if (status != SQLITE_DONE) owner_.fail("query");
      return false;
    }
    void step_row() {
      if (!next_row()) owner_.fail("query (no row)");
    }
    void step_done() {
      if (sqlite3_step(s_.get()) != SQLITE_DONE) owner_.fail("statement");
    }
    std::int64_t column_integer(int i) { return sqlite3_column_int64(s_.get(), i); }
    std::string column_blob(int i) {
      const void* data = sqlite3_column_blob(s_.get(), i);
      const int size = sqlite3_column_bytes(s_.get(), i);
      return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
    }

   private:
    struct Reset {
      void operator()(sqlite3_stmt* s) const noexcept {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    };
    SqliteBackend& owner_;
    std::unique_ptr<sqlite3_stmt, Reset> s_;
  };

  // Statements are prepared once per connection: preparing costs more than running most of them
  // (an append's insert took about twice as long when prepared each time).
  Statement prepare(std::string_view sql) {
    auto found = statements_.find(sql);
    if (found == statements_.end()) {
      sqlite3_stmt* statement = nullptr;
      if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                             &statement, nullptr) != SQLITE_OK)
        fail("prepare");
      found = statements_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, FinalizeStatement>(statement)).first;
    }
    return Statement(*this, found->second.get());
  }

  /// `select` over the records of a run from its last base up to `version`, in order.
  Statement chain_query(std::string_view select, std::string_view run_id, std::int64_t version) {
    Statement s = prepare(std::string(select) +
                          " FROM stageflow_snapshots WHERE run_id = ?1 AND version <= ?2 AND version >= (SELECT "
                          "coalesce(max(version), 1) FROM stageflow_snapshots WHERE run_id = ?1 AND base = 1 AND "
                          "version <= ?2) ORDER BY version");
    s.text(1, run_id);
    s.integer(2, version);
    return s;
  }

  std::unique_ptr<sqlite3, CloseDb> db_;
  // After db_: finalized before the connection closes.
  std::map<std::string, std::unique_ptr<sqlite3_stmt, FinalizeStatement>, std::less<>> statements_;
};

/// Snapshot chains in one SQLite file: SqliteSnapshotStore(path) or (path, options).
class SqliteSnapshotStore : public SnapshotStore<SqliteBackend> {
 public:
  explicit SqliteSnapshotStore(const std::string& path, StoreOptions options = {})
      : SnapshotStore<SqliteBackend>(options, path) {}
};

}  // namespace stageflow::store
