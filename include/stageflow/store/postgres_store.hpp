// SPDX-License-Identifier: BSL-1.0
// PostgresSnapshotStore: snapshot chains in PostgreSQL, for a fleet of services (link libpq).
//
//   stageflow::store::PostgresSnapshotStore store("host=127.0.0.1 port=5432 dbname=app user=app");
//   stageflow::store::PostgresSnapshotStore store(conninfo, {.table = "agent_snapshots"});
//
// The conninfo is libpq's (key=value pairs or a postgresql:// URI). The table (default
// stageflow_snapshots) is created when missing. Payloads are bytea, sent and received in binary.
#pragma once

#include <stageflow/store/snapshot_store.hpp>

#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::store {

/// PostgresSnapshotStore's options: the chain's rebase rules and the table.
struct PostgresStoreOptions {
  std::int64_t rebase_every = StoreOptions{}.rebase_every;
  double rebase_ratio = StoreOptions{}.rebase_ratio;
  std::string table = "stageflow_snapshots";  ///< letters, digits and '_' (it is put into SQL as is)
};

/// The PostgreSQL side of PostgresSnapshotStore: one connection.
class PostgresBackend {
 public:
  PostgresBackend(const std::string& conninfo, std::string table) : table_(std::move(table)) {
    if (table_.empty() || table_.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      throw StoreError("stageflow::store: table name \"" + table_ + "\": use lower-case letters, digits and '_'");
    connection_.reset(PQconnectdb(conninfo.c_str()));
    if (connection_ == nullptr || PQstatus(connection_.get()) != CONNECTION_OK)
      throw StoreError("stageflow::store: cannot connect to PostgreSQL: " +
                       std::string(connection_ ? PQerrorMessage(connection_.get()) : "out of memory"));
    PQsetNoticeProcessor(connection_.get(), [](void*, const char*) {}, nullptr);  // no "already exists" on stderr
    // Two processes creating the table at once may collide in the catalog: serialize with a lock.
    run("SELECT pg_advisory_lock(7261500402)", {});
    try {
      run("CREATE TABLE IF NOT EXISTS " + table_ +
              " (run_id text NOT NULL, version bigint NOT NULL, base boolean NOT NULL, hash bigint NOT NULL, "
              "created_ms bigint NOT NULL, payload bytea NOT NULL, PRIMARY KEY (run_id, version))",
          {});
    } catch (...) {
      run("SELECT pg_advisory_unlock(7261500402)", {});
      throw;
    }
    run("SELECT pg_advisory_unlock(7261500402)", {});
  }

  void insert(std::string_view run_id, const SnapshotRecord& record) {
    const Result r = query("INSERT INTO " + table_ + " (run_id, version, base, hash, created_ms, payload) VALUES "
                           "($1, $2::bigint, $3::boolean, $4::bigint, $5::bigint, $6::bytea)",
                           {Param::text(run_id), Param::number(record.version), Param::text(record.base ? "t" : "f"),
                            Param::number(static_cast<std::int64_t>(record.hash)), Param::number(record.created_ms),
                            Param::binary(record.payload)});
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) return;
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    if (state != nullptr && std::string_view(state) == "23505")  // unique_violation
      throw StoreConflictError("stageflow::store: run \"" + std::string(run_id) + "\" version " +
                                   std::to_string(record.version) +
                                   " was appended by another writer first; load the run and append again",
                               std::string(run_id), record.version);
    fail(r);
  }

  RecordHead latest(std::string_view run_id) {
    const Result r = checked("SELECT version, hash FROM " + table_ + " WHERE run_id = $1 ORDER BY version DESC LIMIT 1",
                             {Param::text(run_id)});
    if (PQntuples(r.get()) == 0) return {};
    return {integer(r, 0, 0), static_cast<std::uint64_t>(integer(r, 0, 1))};
  }

  std::vector<RecordSize> chain_sizes(std::string_view run_id, std::int64_t version) {
    const Result r = checked("SELECT version, base::int, octet_length(payload)::bigint FROM " + table_ + chain_where(),
                             {Param::text(run_id), Param::number(version)});
    std::vector<RecordSize> sizes;
    for (int row = 0; row < PQntuples(r.get()); ++row)
      sizes.push_back({integer(r, row, 0), integer(r, row, 1) != 0, static_cast<std::size_t>(integer(r, row, 2))});
    return sizes;
  }

  std::vector<SnapshotRecord> chain(std::string_view run_id, std::int64_t version) {
    const Result r = checked("SELECT version, base::int, hash, created_ms, payload FROM " + table_ + chain_where(),
                             {Param::text(run_id), Param::number(version)});
    std::vector<SnapshotRecord> records;
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      SnapshotRecord& record = records.emplace_back();
      record.version = integer(r, row, 0);
      record.base = integer(r, row, 1) != 0;
      record.hash = static_cast<std::uint64_t>(integer(r, row, 2));
      record.created_ms = integer(r, row, 3);
      record.payload.assign(PQgetvalue(r.get(), row, 4), static_cast<std::size_t>(PQgetlength(r.get(), row, 4)));
    }
    return records;
  }

  std::vector<std::int64_t> versions(std::string_view run_id) {
    const Result r = checked("SELECT version FROM " + table_ + " WHERE run_id = $1 ORDER BY version",
                             {Param::text(run_id)});
    std::vector<std::int64_t> result;
    for (int row = 0; row < PQntuples(r.get()); ++row) result.push_back(integer(r, row, 0));
    return result;
  }

  std::size_t erase(std::string_view run_id) {
    const Result r = checked("DELETE FROM " + table_ + " WHERE run_id = $1", {Param::text(run_id)});
    return static_cast<std::size_t>(std::stoull(PQcmdTuples(r.get())));
  }

  std::size_t erase_idle_since(std::int64_t cutoff_ms) {
    const Result r = checked("WITH idle AS (SELECT run_id FROM " + table_ +
                                 " GROUP BY run_id HAVING max(created_ms) < $1::bigint), gone AS (DELETE FROM " +
                                 table_ + " WHERE run_id IN (SELECT run_id FROM idle) RETURNING 1) "
                                 "SELECT count(*) FROM idle",
                             {Param::number(cutoff_ms)});
    return static_cast<std::size_t>(integer(r, 0, 0));
  }

  std::vector<std::string> runs() {
    const Result r = checked("SELECT DISTINCT run_id FROM " + table_ + " ORDER BY run_id", {});
    std::vector<std::string> result;
    for (int row = 0; row < PQntuples(r.get()); ++row)
      result.emplace_back(PQgetvalue(r.get(), row, 0), static_cast<std::size_t>(PQgetlength(r.get(), row, 0)));
    return result;
  }

  /// Runs one SQL statement (tests use it to reach into the table).
  void run(const std::string& sql, std::vector<std::string> text_params) {
    std::vector<Param> params;
    for (const std::string& p : text_params) params.push_back(Param::text(p));
    (void)checked(sql, params);
  }
  const std::string& table() const noexcept { return table_; }

 private:
  struct ClearResult {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  struct Finish {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  using Result = std::unique_ptr<PGresult, ClearResult>;

  struct Param {
    std::string value;
    int format = 0;  // 0 text, 1 binary
    static Param text(std::string_view v) { return {std::string(v), 0}; }
    static Param number(std::int64_t v) { return {std::to_string(v), 0}; }
    static Param binary(std::string_view v) { return {std::string(v), 1}; }
  };

  std::string chain_where() const {
    return " WHERE run_id = $1 AND version <= $2::bigint AND version >= (SELECT coalesce(max(version), 1) FROM " +
           table_ + " WHERE run_id = $1 AND base AND version <= $2::bigint) ORDER BY version";
  }

  // Results come back in binary: integers are big-endian, bytea is its bytes.
  static std::int64_t integer(const Result& r, int row, int column) {
    const char* p = PQgetvalue(r.get(), row, column);
    const int size = PQgetlength(r.get(), row, column);
    std::uint64_t value = 0;
    for (int i = 0; i < size; ++i) value = value << 8 | static_cast<unsigned char>(p[i]);
    if (size == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
    return static_cast<std::int64_t>(value);
  }

  Result query(const std::string& sql, const std::vector<Param>& params) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const Param& p : params) {
      values.push_back(p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.format);
    }
    Result r(PQexecParams(connection_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                          lengths.data(), formats.data(), /*resultFormat=*/1));
    if (r == nullptr) throw StoreError("stageflow::store: PostgreSQL: " + std::string(PQerrorMessage(connection_.get())));
    return r;
  }

  Result checked(const std::string& sql, const std::vector<Param>& params) {
    Result r = query(sql, params);
    const ExecStatusType status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r);
    return r;
  }

  [[noreturn]] static void fail(const Result& r) {
    throw StoreError("stageflow::store: PostgreSQL: " + std::string(PQresultErrorMessage(r.get())));
  }

  std::string table_;
  std::unique_ptr<PGconn, Finish> connection_;
};

/// Snapshot chains in PostgreSQL: PostgresSnapshotStore(conninfo) or (conninfo, options).
class PostgresSnapshotStore : public SnapshotStore<PostgresBackend> {
 public:
  explicit PostgresSnapshotStore(const std::string& conninfo, PostgresStoreOptions options = {})
      : SnapshotStore<PostgresBackend>(StoreOptions{options.rebase_every, options.rebase_ratio}, conninfo,
                                       std::move(options.table)) {}
};

}  // namespace stageflow::store
