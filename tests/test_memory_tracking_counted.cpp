// SPDX-License-Identifier: BSL-1.0
// MemoryTracking with the exact allocation counter installed in this program.
#include <stageflow/helpers/allocation_counter.hpp>  // this program's operator new/delete count

#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/runner.hpp>

#include "catch2_shim.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

using namespace stageflow;

namespace {

struct KeepsEightMiB {
  static constexpr std::string_view name = "keeps_8mib";
  std::vector<char> execute() const { return std::vector<char>(std::size_t{8} << 20); }
};
struct Nothing {
  static constexpr std::string_view name = "nothing";
  using depends_on = after<KeepsEightMiB>;
  int execute() const { return 0; }
};

}  // namespace

TEST_CASE("with the counter, a stage keeping 8 MiB grows the heap by exactly 8 MiB in 1 allocation",
          "[memory_tracking][counter]") {
  Runner<pipeline::MemoryTracking> runner{
      pipeline::MemoryTracking(helpers::MemoryTrackerOptions{.heap_source = helpers::HeapSource::counter,
                                                             .read_rss = false})};
  const auto r = runner.run(Pipeline<KeepsEightMiB, Nothing>{}, ContextSnapshot{});
  REQUIRE(r.ok());
  CHECK(r.metric("keeps_8mib", "heap_delta_bytes") == 8.0 * 1024 * 1024);
  CHECK(r.metric("keeps_8mib", "allocations") == 1.0);
  CHECK(r.metric("nothing", "heap_delta_bytes") == 0.0);
  CHECK(r.metric("nothing", "allocations") == 0.0);
}

namespace {
struct AsyncKeepsOneKiB {
  static constexpr std::string_view name = "async_keeps_1kib";
  boost::asio::awaitable<std::vector<char>> execute() const {
    co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    co_return std::vector<char>(1024);
  }
};
}  // namespace

TEST_CASE("in an async run, synchronous stages keep exact figures and async stages get none",
          "[memory_tracking][counter]") {
  Runner<pipeline::MemoryTracking> runner{
      pipeline::MemoryTracking(helpers::MemoryTrackerOptions{.heap_source = helpers::HeapSource::counter,
                                                             .read_rss = false})};
  boost::asio::io_context io;
  const Pipeline<KeepsEightMiB, AsyncKeepsOneKiB> pipeline;
  std::optional<RunResult<Pipeline<KeepsEightMiB, AsyncKeepsOneKiB>, ContextSnapshot>> r;
  const ContextSnapshot snapshot;
  runner.async_run(pipeline, snapshot, {}, boost::asio::bind_executor(io, [&](auto result) { r = std::move(result); }));
  io.run();
  REQUIRE(r);
  REQUIRE(r->ok());
  CHECK(r->metric("keeps_8mib", "heap_delta_bytes") == 8.0 * 1024 * 1024);
  CHECK(r->metric("keeps_8mib", "allocations") == 1.0);
  // Its thread ran other stages' work while it waited: nothing to attribute.
  CHECK(!r->metric("async_keeps_1kib", "heap_delta_bytes"));
  CHECK(r->metric("pipeline", "memory_per_stage") == 1.0);
}
