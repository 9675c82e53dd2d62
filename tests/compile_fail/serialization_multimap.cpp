// SPDX-License-Identifier: BSL-1.0
// JSON object keys are unique: a multimap is refused with a hint.
// expect-error: multimaps cannot be walked
// expect-error: std::vector
// expect-max-errors: 2
#include <stageflow/serialization/json_writer.hpp>

#include <map>
#include <string>
#include <vector>

int main() {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  const std::map<std::string, std::vector<int>> tags{{"a", {1, 2}}};
#else
  const std::multimap<std::string, int> tags{{"a", 1}, {"a", 2}};
#endif
  return static_cast<int>(stageflow::serialization::to_json(tags).size());
}
