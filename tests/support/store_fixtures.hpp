// SPDX-License-Identifier: BSL-1.0
// The snapshot-store backends as Catch2 template-test fixtures: a fresh SQLite file, or a fresh
// PostgreSQL table in the server of scripts/test-servers (SKIP with the reason without it), each
// removed at the end. Used by test_snapshot_store.cpp and test_checkpoint.cpp; name a backend's
// cases with "*SqliteFixture" / "*PostgresFixture".
#pragma once

#include <stageflow/store/sqlite_store.hpp>
#if STAGEFLOW_TEST_HAVE_LIBPQ
#  include <stageflow/store/postgres_store.hpp>
#endif

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "catch2_shim.hpp"
#include "test_servers.hpp"

namespace stageflow::testing {

namespace ss = stageflow::store;

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

/// A fresh SQLite file per test case, removed at the end.
struct SqliteFixture {
  using Store = ss::SqliteSnapshotStore;
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("stageflow_store_" + unique_suffix() + ".db");

  ~SqliteFixture() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix, ec);
  }
  bool available(std::string&) { return true; }
  std::unique_ptr<Store> open(ss::StoreOptions options = {}) { return std::make_unique<Store>(path.string(), options); }
  /// Replaces `from` by `to` in the stored payload of one version (a corrupted record).
  void replace_in_payload(Store& store, const std::string& run, std::int64_t version, const std::string& from,
                          const std::string& to) {
    store.backend().exec(("UPDATE stageflow_snapshots SET payload = CAST(replace(CAST(payload AS TEXT), '" + from +
                          "', '" + to + "') AS BLOB) WHERE run_id = '" + run +
                          "' AND version = " + std::to_string(version))
                             .c_str());
  }
};

#if STAGEFLOW_TEST_HAVE_LIBPQ
/// A fresh table per test case in the test server's database, dropped at the end.
struct PostgresFixture {
  using Store = ss::PostgresSnapshotStore;
  std::optional<std::string> conninfo;
  std::string table = "stageflow_test_" + unique_suffix();

  ~PostgresFixture() {
    if (!conninfo) return;
    try {
      ss::PostgresBackend(*conninfo, table).run("DROP TABLE IF EXISTS " + table, {});
    } catch (...) {
    }
  }
  bool available(std::string& why_not) {
    conninfo = stageflow::testing::postgres_conninfo(why_not);
    return conninfo.has_value();
  }
  std::unique_ptr<Store> open(ss::StoreOptions options = {}) {
    return std::make_unique<Store>(*conninfo, ss::PostgresStoreOptions{options.rebase_every, options.rebase_ratio, table});
  }
  void replace_in_payload(Store& store, const std::string& run, std::int64_t version, const std::string& from,
                          const std::string& to) {
    store.backend().run("UPDATE " + table +
                            " SET payload = convert_to(replace(convert_from(payload, 'UTF8'), $1, $2), 'UTF8') "
                            "WHERE run_id = $3 AND version = " + std::to_string(version),
                        {from, to, run});
  }
};
#  define STORE_FIXTURES SqliteFixture, PostgresFixture
#else
#  define STORE_FIXTURES SqliteFixture
#endif

#define REQUIRE_BACKEND(fixture)                                 \
  do {                                                           \
    std::string why_not;                                         \
    if (!(fixture).available(why_not)) STAGEFLOW_SKIP(why_not);  \
  } while (false)

}  // namespace stageflow::testing
