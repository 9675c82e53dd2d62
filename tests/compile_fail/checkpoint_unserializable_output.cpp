// SPDX-License-Identifier: BSL-1.0
// A stage whose output cannot be serialized cannot be checkpointed: a compile error naming the
// stage and the type, not a gap in the checkpoint; the control variant reflects the type, which compiles.
// expect-error: cannot be checkpointed
// expect-error: probe::MakesHandle
// expect-error: probe::Handle
// expect-max-errors: 2
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/store/checkpoint.hpp>

#include <boost/hana/define_struct.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace probe {

#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
struct Handle {
  BOOST_HANA_DEFINE_STRUCT(Handle, (int, fd));
};
#else
struct Handle {  // not reflected: nothing can write it down
  int fd = 3;
};
#endif
struct MakesHandle {
  static constexpr std::string_view name = "makes_handle";
  Handle execute() const { return {}; }
};
struct Store {  // what Checkpoint needs of a store
  std::int64_t append(std::string_view, std::string_view) { return 1; }
};

}  // namespace probe

int main() {
  probe::Store store;
  const stageflow::Runner<stageflow::store::Checkpoint<probe::Store>> runner{stageflow::store::Checkpoint(store)};
  return runner.run(stageflow::Pipeline<probe::MakesHandle>{}, stageflow::ContextSnapshot{}).ok() ? 0 : 1;
}
