// SPDX-License-Identifier: BSL-1.0
// Map keys become JSON object keys, so they need a text form: a double key is refused.
// expect-error: map key type has no JSON text
// expect-error: double
// expect-max-errors: 2
#include <stageflow/serialization/json_writer.hpp>

#include <map>

int main() {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  const std::map<int, int> scores{{1, 2}};
#else
  const std::map<double, int> scores{{1.5, 2}};
#endif
  return static_cast<int>(stageflow::serialization::to_json(scores).size());
}
