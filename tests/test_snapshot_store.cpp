// SPDX-License-Identifier: BSL-1.0
// The snapshot stores: one suite, run against SQLite (always) and PostgreSQL (when the server of
// scripts/test-servers is there; SKIP with the reason otherwise).
#include <stageflow/json/parse.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/store/sqlite_store.hpp>
#if STAGEFLOW_TEST_HAVE_LIBPQ
#  include <stageflow/store/postgres_store.hpp>
#endif

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catch2_shim.hpp"
#include "shared_data.hpp"
#include "store_fixtures.hpp"
#include "test_servers.hpp"

namespace ss = stageflow::store;
using stageflow::JsonValue;
using stageflow::serialization::parse_json;
using stageflow::serialization::to_json;
#if STAGEFLOW_TEST_HAVE_LIBPQ
using stageflow::testing::PostgresFixture;
#endif
using stageflow::testing::SqliteFixture;
using stageflow::testing::unique_suffix;

static_assert(ss::snapshot_store<ss::SqliteSnapshotStore>);
static_assert(ss::SnapshotBackend<ss::SqliteBackend>);
#if STAGEFLOW_TEST_HAVE_LIBPQ
static_assert(ss::snapshot_store<ss::PostgresSnapshotStore>);
static_assert(ss::SnapshotBackend<ss::PostgresBackend>);
#endif

namespace {

/// Version i of a small document: a few fields change each time.
std::string document(int i) {
  JsonValue doc = JsonValue::object({{"run", "r"}, {"tier", "gold"}, {"count", i}, {"items", JsonValue::array()}});
  for (int k = 0; k <= i % 5; ++k) doc["items"].push_back(JsonValue::object({{"k", k}, {"v", "edit-" + std::to_string(i)}}));
  doc["nested"] = JsonValue::object({{"deep", JsonValue::object({{"i", i * 1.5}, {"s", std::string(40, 'x')}})}});
  return to_json(doc);
}

bool same_json(const std::string& a, const std::string& b) { return parse_json(a) == parse_json(b); }

/// True when `versions` is exactly 1, 2, ..., count.
bool store_versions_are(const std::vector<std::int64_t>& versions, std::int64_t count) {
  std::vector<std::int64_t> expected;
  for (std::int64_t v = 1; v <= count; ++v) expected.push_back(v);
  return versions == expected;
}

template <class Error, class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& error) {
    return error;
  }
  FAIL("no error of the expected type");
  throw std::logic_error("unreachable");
}

}  // namespace

TEMPLATE_TEST_CASE("append, load, versions and erase", "[store]", STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  auto store = fixture.open({.rebase_every = 4});
  const std::string run = "run-" + unique_suffix();
  for (int i = 1; i <= 10; ++i) CHECK(store->append(run, document(i)) == i);
  CHECK(store->versions(run) == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(same_json(store->load(run), document(10)));
  for (int i = 1; i <= 10; ++i) CHECK(same_json(store->load(run, i), document(i)));
  // Another store object (a fresh process, no cached head) reads the same and appends on top.
  auto other = fixture.open({.rebase_every = 4});
  for (int i = 1; i <= 10; ++i) CHECK(same_json(other->load(run, i), document(i)));
  CHECK(other->append(run, document(11)) == 11);
  CHECK(same_json(store->load(run), document(11)));
  CHECK(store->append(run, document(12)) == 12);  // the first object's cached head is stale: reloaded
  CHECK(same_json(other->load(run, 12), document(12)));

  const auto missing = error_of<ss::StoreNotFoundError>([&] { store->load(run, 13); });
  CHECK(missing.run_id() == run);
  CHECK(missing.version() == 13);
  CHECK_THROWS_AS(store->load("no-such-run"), ss::StoreNotFoundError);
  CHECK_THROWS_AS(store->load(run, 0), ss::StoreNotFoundError);
  CHECK(store->versions("no-such-run").empty());

  // Text that is not JSON is refused, and nothing is stored.
  CHECK_THROWS_AS(store->append(run, "{\"unclosed\": "), stageflow::JsonParseError);
  CHECK_THROWS_AS(store->append("new-run", "nope"), stageflow::JsonParseError);
  CHECK(store->versions(run).size() == 12);
  CHECK(store->versions("new-run").empty());

  CHECK(store->erase(run) == 12);
  CHECK(store->versions(run).empty());
  CHECK_THROWS_AS(store->load(run), ss::StoreNotFoundError);
  CHECK(store->append(run, document(1)) == 1);  // a run can start again
}

TEMPLATE_TEST_CASE("bases every rebase_every versions, or when the deltas outgrow rebase_ratio", "[store]",
                   STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  const std::string run = "run-" + unique_suffix();
  {
    auto store = fixture.open({.rebase_every = 3, .rebase_ratio = 100.0});
    for (int i = 1; i <= 7; ++i) store->append(run, document(i));
    std::vector<std::int64_t> bases;
    for (std::int64_t v = 1; v <= 7; ++v)
      if (store->backend().chain_sizes(run, v).back().base) bases.push_back(v);
    CHECK(bases == std::vector<std::int64_t>{1, 4, 7});
    CHECK(store->footprint(run).bases == 3);
  }
  {
    // rebase_ratio 0: any delta outgrows it, so every other version is a base.
    const std::string run2 = run + "-ratio";
    auto store = fixture.open({.rebase_every = 1000, .rebase_ratio = 0.0});
    for (int i = 1; i <= 6; ++i) store->append(run2, document(i));
    CHECK(store->footprint(run2).bases == 3);
    for (int i = 1; i <= 6; ++i) CHECK(same_json(store->load(run2, i), document(i)));
  }
  CHECK_THROWS_AS(fixture.open({.rebase_every = 0}), ss::StoreError);
}

TEMPLATE_TEST_CASE("a corrupted record is reported with its run and version, never returned", "[store]",
                   STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  const std::string run = "run-" + unique_suffix();
  auto store = fixture.open({.rebase_every = 100, .rebase_ratio = 100.0});
  for (int i = 1; i <= 6; ++i) store->append(run, document(i));
  REQUIRE(!store->backend().chain_sizes(run, 4).back().base);

  SECTION("a flipped byte in a delta that still applies: the hash catches it") {
    fixture.replace_in_payload(*store, run, 4, "edit-4", "edjt-4");  // one byte, 'i' -> 'j'
    auto fresh = fixture.open({.rebase_every = 100, .rebase_ratio = 100.0});
    for (auto* s : {store.get(), fresh.get()}) {
      CHECK(same_json(s->load(run, 3), document(3)));
      const auto error = error_of<ss::StoreCorruptionError>([&] { s->load(run, 4); });
      CHECK(error.run_id() == run);
      CHECK(error.version() == 4);
      CHECK(std::string(error.what()).find("version 4 is corrupt") != std::string::npos);
      // Versions 5 and 6 replace every value the flip touched: each is still proven by its own hash,
      // so it comes back, and exactly; had the flip reached them, they would throw instead.
      for (const int v : {5, 6}) CHECK(same_json(s->load(run, v), document(v)));
    }
    // An append on top of version 4 (a writer that expects it) must load it: refused.
    CHECK_THROWS_AS(fresh->append(run, document(7), 4), ss::StoreConflictError);
    // Appending on top of a corrupt chain is refused too (the object with no cached head must load it).
  }
  SECTION("a flipped byte that breaks the delta") {
    fixture.replace_in_payload(*store, run, 5, "\"op\"", "\"oq\"");
    const auto error = error_of<ss::StoreCorruptionError>([&] { store->load(run); });
    CHECK(error.version() == 5);
    CHECK(std::string(error.what()).find("does not apply") != std::string::npos);
  }
  SECTION("a flipped byte in the base reaches every version of its chain") {
    fixture.replace_in_payload(*store, run, 1, "gold", "gole");  // "tier" never changes after version 1
    auto fresh = fixture.open({.rebase_every = 100, .rebase_ratio = 100.0});
    for (const std::int64_t v : {1, 2, 6}) CHECK(error_of<ss::StoreCorruptionError>([&] { store->load(run, v); }).version() == 1);
    // A writer without the head in memory must load the latest version first: corruption, nothing appended.
    CHECK_THROWS_AS(fresh->append(run, document(7)), ss::StoreCorruptionError);
    CHECK(fresh->versions(run).size() == 6);
  }
}

TEMPLATE_TEST_CASE("two writers: one gets the version, the other a conflict, nothing is lost", "[store]",
                   STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  const std::string run = "run-" + unique_suffix();
  auto a = fixture.open();
  auto b = fixture.open();
  CHECK(a->append(run, document(1), 0) == 1);
  const auto late = error_of<ss::StoreConflictError>([&] { b->append(run, document(2), 0); });
  CHECK(late.run_id() == run);
  CHECK(late.version() == 1);
  CHECK(b->append(run, document(2), 1) == 2);
  const auto conflict = error_of<ss::StoreConflictError>([&] { a->append(run, document(3), 1); });
  CHECK(conflict.version() == 2);
  CHECK(std::string(conflict.what()).find("another writer") != std::string::npos);
  CHECK(same_json(a->load(run), document(2)));  // the loser's text was not stored
  CHECK(a->append(run, document(3), 2) == 3);
  // The database's unique version is what decides, below the store's check.
  ss::SnapshotRecord record;
  record.version = 3;
  record.base = true;
  record.payload = "{}";
  CHECK_THROWS_AS(b->backend().insert(run, record), ss::StoreConflictError);
  CHECK(store_versions_are(a->versions(run), 3));
}

TEMPLATE_TEST_CASE("a run erased and written again elsewhere: a writer's remembered head is not reused", "[store]",
                   STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  const std::string run = "run-" + unique_suffix();
  auto a = fixture.open({.rebase_ratio = 100.0});  // version 3 a delta
  auto b = fixture.open();
  a->append(run, document(1));
  a->append(run, document(2));  // a remembers version 2
  b->erase(run);
  b->append(run, R"({"x":1})");
  b->append(run, R"({"x":2})");  // version 2 again, another document
  CHECK(a->append(run, document(9)) == 3);
  CHECK(same_json(b->load(run, 3), document(9)));
  CHECK(same_json(b->load(run, 2), R"({"x":2})"));
}

TEMPLATE_TEST_CASE("two processes append to one run at once: every accepted version loads back", "[store]",
                   STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  const std::string run = "run-" + unique_suffix();
  fixture.open()->append(run, document(0));  // the table exists before the race
  constexpr int per_writer = 40;
  const std::filesystem::path report =
      std::filesystem::temp_directory_path() / ("stageflow_store_writer_" + unique_suffix() + ".txt");
  // Each writer appends its documents, retrying each after a conflict, and writes "version index" lines.
  const auto write = [&](typename TestType::Store& store, const std::string& who, std::ostream& out) {
    int conflicts = 0;
    for (int i = 0; i < per_writer; ++i) {
      const std::string doc = "{\"writer\":\"" + who + "\",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
                              std::string(200, static_cast<char>('a' + i % 26)) + "\"}";
      for (;;) {
        try {
          out << store.append(run, doc) << ' ' << i << '\n';
          break;
        } catch (const ss::StoreConflictError&) {
          ++conflicts;
        }
      }
    }
    return conflicts;
  };
  // Both start together: the child says it is ready, the parent answers go.
  int ready[2];
  int go[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(go) == 0);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int status = 0;
    try {
      std::ofstream out(report);
      auto store = fixture.open();  // connected before the start
      char byte = 'r';
      if (::write(ready[1], &byte, 1) != 1 || ::read(go[0], &byte, 1) != 1) std::_Exit(2);
      const int conflicts = write(*store, "child", out);
      out << "conflicts " << conflicts << '\n';
    } catch (...) {
      status = 1;
    }
    std::_Exit(status);
  }
  auto parent_store = fixture.open();
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  REQUIRE(::write(go[1], &byte, 1) == 1);
  std::ostringstream parent_lines;
  const int parent_conflicts = write(*parent_store, "parent", parent_lines);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  for (const int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  auto store = fixture.open();
  const std::vector<std::int64_t> versions = store->versions(run);
  CHECK(versions.size() == 1 + 2 * per_writer);
  CHECK(store_versions_are(versions, static_cast<std::int64_t>(1 + 2 * per_writer)));
  const auto check_lines = [&](std::istream& in, const std::string& who) {
    std::int64_t version = 0;
    int index = 0;
    int seen = 0;
    while (in >> version >> index) {
      const JsonValue doc = parse_json(store->load(run, version));
      CHECK(doc.at("writer").as_string() == who);
      CHECK(doc.at("i").as_int() == index);
      ++seen;
    }
    CHECK(seen == per_writer);
  };
  std::istringstream parent_in(parent_lines.str());
  check_lines(parent_in, "parent");
  std::ifstream child_in(report);
  check_lines(child_in, "child");
  child_in.clear();
  std::string word;
  int child_conflicts = -1;
  child_in >> word >> child_conflicts;
  CHECK(word == "conflicts");
  std::filesystem::remove(report);
  WARN("conflicts met and retried: parent " << parent_conflicts << ", child " << child_conflicts);
}

TEMPLATE_TEST_CASE("one store object shared by threads", "[store][threads]", STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  auto store = fixture.open({.rebase_every = 5});
  const std::string shared_run = "shared-" + unique_suffix();
  constexpr int threads = 4;
  constexpr int per_thread = 12;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      try {
        const std::string own = shared_run + "-own-" + std::to_string(t);
        for (int i = 1; i <= per_thread; ++i) {
          if (store->append(own, document(i)) != i) ++failures;
          store->append(shared_run, document(100 * t + i));  // one object: appends never conflict
        }
      } catch (...) {
        ++failures;
      }
    });
  for (auto& worker : workers) worker.join();
  CHECK(failures == 0);
  CHECK(store_versions_are(store->versions(shared_run), threads * per_thread));
  for (int t = 0; t < threads; ++t) {
    const std::string own = shared_run + "-own-" + std::to_string(t);
    for (int i = 1; i <= per_thread; ++i) CHECK(same_json(store->load(own, i), document(i)));
  }
}

TEMPLATE_TEST_CASE("retention: runs not appended to for max_age are removed", "[store]", STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  auto store = fixture.open();
  const std::string old_run = "old-" + unique_suffix();
  const std::string new_run = "new-" + unique_suffix();
  store->append(old_run, document(1));
  store->append(old_run, document(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  store->append(new_run, document(1));
  CHECK(store->erase_idle(std::chrono::milliseconds(150)) == 1);
  CHECK(store->versions(old_run).empty());
  CHECK(store->versions(new_run).size() == 1);
  CHECK(store->runs() == std::vector<std::string>{new_run});
  CHECK(store->erase_idle(std::chrono::hours(1)) == 0);
}

TEMPLATE_TEST_CASE("100 versions of twitter.json with a few edits each take at most 5% of 100 copies",
                   "[store][corpus]", STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  const auto path = stageflow::testing::shared_data_file("json/twitter.json");
  if (!path) STAGEFLOW_SKIP("shared data absent: no json/twitter.json under STAGEFLOW_DATA_DIR");
  JsonValue doc = parse_json(stageflow::testing::read_file(*path));
  const std::size_t copy_bytes = to_json(doc).size();  // minified: the smallest full copy
  auto store = fixture.open();
  const std::string run = "twitter-" + unique_suffix();
  std::vector<std::string> texts;
  auto& statuses = doc["statuses"].as_array();
  for (int v = 1; v <= 100; ++v) {
    // A few edits: a counter, a changed text, an added and a removed member.
    auto& status = statuses[static_cast<std::size_t>(v) % statuses.size()];
    status["retweet_count"] = v * 7;
    status["text"] = "edited in version " + std::to_string(v);
    doc["search_metadata"]["version"] = v;
    if (v % 10 == 0) statuses[static_cast<std::size_t>(v / 10)].as_object().erase("source");
    texts.push_back(to_json(doc));
    CHECK(store->append(run, texts.back()) == v);
  }
  const ss::RunFootprint footprint = store->footprint(run);
  const double share = static_cast<double>(footprint.payload_bytes) / (100.0 * static_cast<double>(copy_bytes));
  WARN("100 versions: " << footprint.payload_bytes << " bytes in " << footprint.bases << " bases and "
                        << footprint.versions - footprint.bases << " deltas = " << share * 100
                        << "% of 100 minified copies (" << copy_bytes << " bytes each)");
  CHECK(footprint.versions == 100);
  CHECK(share <= 0.05);
  auto fresh = fixture.open();
  for (const int v : {1, 50, 64, 65, 99, 100}) CHECK(same_json(fresh->load(run, v), texts[static_cast<std::size_t>(v - 1)]));
}
