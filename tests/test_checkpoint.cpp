// SPDX-License-Identifier: BSL-1.0
// Checkpoint<Store> and runner.resume: on SQLite (always) and PostgreSQL (SKIP without the server of
// scripts/test-servers). The central case kills a child process mid-run and resumes in the parent.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/stage_output.hpp>
#include <stageflow/json/parse.hpp>
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/store/checkpoint.hpp>
#include <stageflow/store/sqlite_store.hpp>
#if STAGEFLOW_TEST_HAVE_LIBPQ
#  include <stageflow/store/postgres_store.hpp>
#endif

#include <boost/hana.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"
#include "store_fixtures.hpp"
#include "test_servers.hpp"

namespace ss = stageflow::store;
using stageflow::ContextSnapshot;
using stageflow::StageOutput;
#if STAGEFLOW_TEST_HAVE_LIBPQ
using stageflow::testing::PostgresFixture;
#endif
using stageflow::testing::SqliteFixture;

namespace ckpt {
struct Parsed {
  BOOST_HANA_DEFINE_STRUCT(Parsed, (std::string, text), (int, words));
  bool operator==(const Parsed&) const = default;
};
}  // namespace ckpt

namespace {

// How often each stage executed in this process (a forked child has its own copy).
std::atomic<int> executed[5];
// What the stages are told to do; the parent and a forked child set them independently.
std::atomic<bool> fail_enrich{false};
int hang_fd = -1;  // >= 0: `enrich` writes a byte here and then waits to be killed

struct Parse {
  static constexpr std::string_view name = "parse";
  template <class Ctx>
  ckpt::Parsed execute(const Ctx& ctx) const {
    ++executed[0];
    const std::string& text = ctx.snapshot().input_text;
    int words = text.empty() ? 0 : 1;
    for (char c : text) words += c == ' ' ? 1 : 0;
    return {text, words};
  }
};
struct Enrich {
  static constexpr std::string_view name = "enrich";
  using depends_on = stageflow::after<Parse>;
  template <class Ctx>
  std::vector<int> execute(const Ctx& ctx) const {
    ++executed[1];
    if (hang_fd >= 0) {
      const char byte = 'k';
      (void)::write(hang_fd, &byte, 1);
      for (;;) ::pause();  // killed here, after parse's checkpoint
    }
    if (fail_enrich) throw std::runtime_error("enrich: the model is down");
    const auto& parsed = *ctx.template input<Parse>();
    return {parsed.words, static_cast<int>(parsed.text.size())};
  }
};
struct Maybe {
  static constexpr std::string_view name = "maybe";
  using depends_on = stageflow::after<Parse>;
  template <class Ctx>
  StageOutput<std::string> execute(const Ctx&) const {
    ++executed[2];
    return stageflow::skip("nothing to add");
  }
};
struct Answer {
  static constexpr std::string_view name = "answer";
  using depends_on = stageflow::after<Enrich, Maybe>;
  template <class Ctx>
  std::optional<std::string> execute(const Ctx& ctx) const {
    ++executed[3];
    const auto& e = *ctx.template input<Enrich>();
    return ctx.snapshot().input_text + " -> " + std::to_string(e[0]) + "/" + std::to_string(e[1]);
  }
};
using Chat = stageflow::Pipeline<Parse, Enrich, Maybe, Answer>;

void reset_counts() {
  for (auto& count : executed) count = 0;
}

ContextSnapshot chat_snapshot() {
  ContextSnapshot snapshot;
  snapshot.run = stageflow::RunIdentity::generate();
  snapshot.input_text = "how long is the river nile";
  snapshot.messages.push_back({"user", "how long is the river nile"});
  return snapshot;
}

template <class Store>
using CheckpointRunner = stageflow::Runner<ss::Checkpoint<Store>>;

template <class Result>
void require_same_outcome(const Result& resumed, const Result& whole) {
  REQUIRE(resumed.status == whole.status);
  REQUIRE(resumed.pipeline_run_id == whole.pipeline_run_id);
  REQUIRE(resumed.template output<Parse>() != nullptr);
  CHECK(*resumed.template output<Parse>() == *whole.template output<Parse>());
  REQUIRE(resumed.template output<Enrich>() != nullptr);
  CHECK(*resumed.template output<Enrich>() == *whole.template output<Enrich>());
  CHECK(resumed.template output<Maybe>() == nullptr);
  REQUIRE(resumed.template output<Answer>() != nullptr);
  CHECK(*resumed.template output<Answer>() == *whole.template output<Answer>());
  for (std::size_t i = 0; i < Chat::size; ++i) {
    CHECK(resumed.stages[i].status == whole.stages[i].status);
    CHECK(resumed.stages[i].reason == whole.stages[i].reason);
  }
}

template <class E, class F>
E error_of(F&& f) {
  try {
    f();
  } catch (const E& error) {
    return error;
  }
  FAIL("no error of the expected type");
  throw std::logic_error("unreachable");
}

}  // namespace

TEMPLATE_TEST_CASE("each completed stage appends one version: snapshot and outcomes so far", "[checkpoint]",
                   STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  auto store = fixture.open();
  const CheckpointRunner<typename TestType::Store> runner{ss::Checkpoint(*store)};
  const auto snapshot = chat_snapshot();
  const auto result = runner.run(Chat{}, snapshot);
  REQUIRE(result.status == stageflow::RunStatus::completed);
  const std::string id = boost::uuids::to_string(result.pipeline_run_id);
  REQUIRE(store->versions(id).size() == 4);  // parse, enrich, maybe (skipped), answer

  const auto first = stageflow::serialization::parse_json(store->load(id, 1));
  CHECK(first.at("format").as_string() == "stageflow.checkpoint/1");
  CHECK(first.at("run_id").as_string() == id);
  CHECK(stageflow::from_json<ContextSnapshot>(first.at("snapshot")).input_text == snapshot.input_text);
  CHECK(first.at("stages").size() == 1);
  CHECK(stageflow::from_json<ckpt::Parsed>(first.at("stages").at("parse").at("output")) ==
        *result.template output<Parse>());
  const auto last = stageflow::serialization::parse_json(store->load(id));
  CHECK(last.at("stages").size() == 4);
  CHECK(last.at("stages").at("maybe").at("status").as_string() == "skip");
  CHECK(last.at("stages").at("maybe").at("reason").as_string() == "nothing to add");
}

TEMPLATE_TEST_CASE("a child killed mid-run is resumed by another process with the same result", "[checkpoint]",
                   STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  const auto snapshot = chat_snapshot();
  const std::string id = boost::uuids::to_string(snapshot.pipeline_run_id());

  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: its own connection; enrich signals after parse's checkpoint and waits to die.
    ::close(pipe_fds[0]);
    hang_fd = pipe_fds[1];
    auto store = fixture.open();
    const CheckpointRunner<typename TestType::Store> runner{ss::Checkpoint(*store)};
    (void)runner.run(Chat{}, snapshot);
    ::_exit(3);  // never reached: enrich does not return
  }
  ::close(pipe_fds[1]);
  char byte = 0;
  ssize_t got = 0;
  do got = ::read(pipe_fds[0], &byte, 1);
  while (got < 0 && errno == EINTR);
  ::close(pipe_fds[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(got == 1);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);

  auto store = fixture.open();
  REQUIRE(store->versions(id).size() == 1);  // parse completed, then the process died
  const CheckpointRunner<typename TestType::Store> runner{ss::Checkpoint(*store)};
  reset_counts();
  const auto resumed = runner.resume(Chat{}, id, *store);
  CHECK(executed[0] == 0);  // parse restored, not run
  CHECK(executed[1] == 1);
  CHECK(executed[2] == 1);
  CHECK(executed[3] == 1);
  CHECK(store->versions(id).size() == 4);  // the resumed run goes on checkpointing under the same id

  const auto whole = stageflow::Runner<>{}.run(Chat{}, snapshot);  // the same run, uninterrupted
  require_same_outcome(resumed, whole);
}

TEMPLATE_TEST_CASE("a failed run resumes from the stage that failed; a finished one runs nothing",
                   "[checkpoint]", STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  auto store = fixture.open();
  const CheckpointRunner<typename TestType::Store> runner{ss::Checkpoint(*store)};
  const auto snapshot = chat_snapshot();
  const std::string id = boost::uuids::to_string(snapshot.pipeline_run_id());
  fail_enrich = true;
  const auto failed = runner.run(Chat{}, snapshot);
  fail_enrich = false;
  REQUIRE(failed.status == stageflow::RunStatus::failed);
  const auto checkpointed = store->versions(id).size();
  CHECK((checkpointed == 1 || checkpointed == 2));  // parse, and maybe if it ran before enrich failed

  reset_counts();
  const auto resumed = runner.resume(Chat{}, id, *store);
  REQUIRE(resumed.status == stageflow::RunStatus::completed);
  CHECK(executed[0] == 0);
  CHECK(executed[1] == 1);
  CHECK(executed[3] == 1);

  reset_counts();
  const auto again = runner.resume(Chat{}, id, *store);
  CHECK(executed[0] + executed[1] + executed[2] + executed[3] == 0);
  require_same_outcome(again, resumed);
  CHECK(store->versions(id).size() == 4);  // nothing new to record
}

TEMPLATE_TEST_CASE("resume errors: no checkpoint, a corrupt store, a checkpoint of another pipeline",
                   "[checkpoint]", STORE_FIXTURES) {
  TestType fixture;
  REQUIRE_BACKEND(fixture);
  auto store = fixture.open();
  const CheckpointRunner<typename TestType::Store> runner{ss::Checkpoint(*store)};

  const auto missing = error_of<ss::StoreNotFoundError>([&] { (void)runner.resume(Chat{}, "no-such-run", *store); });
  CHECK(std::string(missing.what()).find("\"no-such-run\" has no checkpoint") != std::string::npos);

  const auto snapshot = chat_snapshot();
  const std::string id = boost::uuids::to_string(snapshot.pipeline_run_id());
  REQUIRE(runner.run(Chat{}, snapshot).status == stageflow::RunStatus::completed);

  // A pipeline without `maybe` cannot take this checkpoint: nothing runs, the error names the stage.
  reset_counts();
  using Shorter = stageflow::Pipeline<Parse, Enrich>;
  const auto other = error_of<ss::CheckpointError>([&] { (void)runner.resume(Shorter{}, id, *store); });
  CHECK(std::string(other.what()).find("stage \"answer\", which this pipeline does not") != std::string::npos);
  CHECK(other.version() == 4);
  CHECK(executed[0] + executed[1] == 0);

  // A stored output that does not read back as its stage's type: the path of the mismatch.
  store->append(id, R"({"format":"stageflow.checkpoint/1","run_id":")" + id + R"(","snapshot":)" +
                        stageflow::serialization::to_json(snapshot) +
                        R"(,"stages":{"parse":{"status":"ok","output":{"text":"x","words":"many"}}}})");
  const auto typed = error_of<ss::CheckpointError>([&] { (void)runner.resume(Chat{}, id, *store); });
  CHECK(std::string(typed.what()).find("stages.parse.output.words: expected") != std::string::npos);

  // A flipped byte in the base: the store's corruption error, never a wrong resume.
  fixture.replace_in_payload(*store, id, 1, "river", "rivet");
  auto reopened = fixture.open();  // no cached head
  const CheckpointRunner<typename TestType::Store> fresh{ss::Checkpoint(*reopened)};
  const auto corrupt = error_of<ss::StoreCorruptionError>([&] { (void)fresh.resume(Chat{}, id, *reopened); });
  CHECK(corrupt.run_id() == id);
  CHECK(executed[0] + executed[1] == 0);
}

namespace {
/// A store whose appends fail from the `fail_from`-th on, as a database that went away would.
struct FailingStore {
  int appended = 0;
  int fail_from = 2;
  std::int64_t append(std::string_view run_id, std::string_view) {
    if (++appended >= fail_from)
      throw ss::StoreConflictError("run \"" + std::string(run_id) + "\" version 2 was appended by another writer first",
                                   std::string(run_id), 2);
    return appended;
  }
};
}  // namespace

TEST_CASE("a checkpoint that cannot be written fails the stage that completed, with the store's error",
          "[checkpoint][no_server]") {
  FailingStore store;
  const stageflow::Runner<ss::Checkpoint<FailingStore>> runner{ss::Checkpoint(store)};
  reset_counts();
  const auto result = runner.run(Chat{}, chat_snapshot());
  REQUIRE(result.status == stageflow::RunStatus::failed);
  CHECK(result.error_stage == "enrich");  // parse's checkpoint was written, enrich's was not
  CHECK(result.error.find("appended by another writer first") != std::string::npos);
  CHECK(result.output<Parse>() != nullptr);
  CHECK(result.output<Enrich>() == nullptr);  // a stage whose checkpoint failed keeps no output
  CHECK(executed[3] == 0);                    // and nothing after it runs
}

TEST_CASE("concurrent stages: appends take turns, one version per completed stage, in completion order",
          "[checkpoint][threads]") {
  SqliteFixture fixture;
  auto store = fixture.open();
  using Parallel = stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>,
                                     ss::Checkpoint<ss::SqliteSnapshotStore>>;
  const Parallel runner{stageflow::ParallelExecutor(4), ss::Checkpoint(*store)};
  for (int round = 0; round < 5; ++round) {
    const auto snapshot = chat_snapshot();
    const std::string id = boost::uuids::to_string(snapshot.pipeline_run_id());
    const auto result = runner.run(Chat{}, snapshot);
    REQUIRE(result.status == stageflow::RunStatus::completed);
    REQUIRE(store->versions(id).size() == 4);
    for (std::int64_t v = 1; v <= 4; ++v)  // each version has one stage more than the one before
      CHECK(stageflow::serialization::parse_json(store->load(id, v)).at("stages").size() == static_cast<std::size_t>(v));
    reset_counts();
    const auto again = runner.resume(Chat{}, id, *store);
    CHECK(executed[0] + executed[1] + executed[2] + executed[3] == 0);
    require_same_outcome(again, result);
  }
}
