// SPDX-License-Identifier: BSL-1.0
// expect-error: this pipeline has async stages
// expect-error: runner.async_run
// expect-max-errors: 4
#include <stageflow/runner/runner.hpp>

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>

struct Fetch {
  static constexpr std::string_view name = "fetch";
  boost::asio::awaitable<int> execute() const { co_return 1; }
};
struct Compute {
  static constexpr std::string_view name = "compute";
  int execute() const { return 1; }
};

struct Snapshot {};

int main() {
  stageflow::Runner<> runner;
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  runner.run(stageflow::Pipeline<Compute>{}, Snapshot{});
#else
  runner.run(stageflow::Pipeline<Fetch, Compute>{}, Snapshot{});  // async stages need async_run
#endif
}
