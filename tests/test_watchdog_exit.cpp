// SPDX-License-Identifier: BSL-1.0
// A static runner on a ParallelExecutor; a run abandoned at its deadline while a stage with a
// timeout still runs. At exit the runner's pool joins that stage, whose timeout alarm is disarmed
// then: after the watchdog's own static reference is gone (statics die in reverse order of
// construction, and the watchdog was built after the runner). Issue 25, item 12: the watchdog was
// destroyed first and the late disarm wrote into its freed map; AddressSanitizer and
// ThreadSanitizer report it (CI runs this program under both), the plain build corrupted silently.
#include <stageflow/runner/parallel_executor.hpp>
#include <stageflow/runner/runner.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string_view>
#include <thread>

namespace {

struct Empty {};
struct Late {
  static constexpr std::string_view name = "late";
  static constexpr auto timeout = std::chrono::seconds(10);
  int execute() const {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ignores its stop token
    return 1;
  }
};

const stageflow::Runner<stageflow::use_executor<stageflow::ParallelExecutor>> runner{stageflow::ParallelExecutor(1)};

}  // namespace

int main() {
  const auto result = runner.run(stageflow::Pipeline<Late>{}, std::make_shared<const Empty>(),
                                 stageflow::RunOptions{.deadline = std::chrono::steady_clock::now() +
                                                                   std::chrono::milliseconds(20),
                                                       .on_deadline = stageflow::DeadlineMode::abandon});
  if (result.status != stageflow::RunStatus::timed_out) {
    std::fprintf(stderr, "expected the run to be abandoned at its deadline\n");
    return 1;
  }
  return 0;  // the stage is still running: the statics' destructors meet it
}
