// SPDX-License-Identifier: BSL-1.0
// A stage reading an upstream output the ImmutabilityInterceptor cannot walk is a compile error
// naming the reading stage and the output's type, never a silent gap; the control variant opts
// the type out (unchecked_output), which compiles.
// expect-error: ImmutabilityInterceptor cannot check an upstream output
// expect-error: unchecked_output
// expect-error: probe::ReadsHandle
// expect-error: probe::Handle
// expect-max-errors: 2
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/hardening/immutability_interceptor.hpp>
#include <stageflow/runner/runner.hpp>

#include <type_traits>

namespace probe {

struct Handle {  // not reflected: the interceptor cannot see inside it
  int fd = 3;
};
struct MakesHandle {
  static constexpr std::string_view name = "makes_handle";
  Handle execute() const { return {}; }
};
struct ReadsHandle {
  static constexpr std::string_view name = "reads_handle";
  using depends_on = stageflow::after<MakesHandle>;
  int execute(const auto& ctx) const { return stageflow::input<MakesHandle>(ctx)->fd; }
};

}  // namespace probe

#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
template <>
struct stageflow::pipeline::unchecked_output<probe::Handle> : std::true_type {};
#endif

int main() {
  const stageflow::Runner<stageflow::pipeline::ImmutabilityInterceptor> runner;
  return runner.run(stageflow::Pipeline<probe::MakesHandle, probe::ReadsHandle>{}, stageflow::ContextSnapshot{}).ok() ? 0 : 1;
}
