// SPDX-License-Identifier: BSL-1.0
// from_json cannot fill a view (std::string_view points at nothing it owns): read a std::string.
// expect-error: cannot be read back
// expect-error: string_view
// expect-max-errors: 2
#include <stageflow/serialization/from_json.hpp>

#include <boost/hana/adapt_struct.hpp>

#include <string>
#include <string_view>

struct Named {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  std::string name;
#else
  std::string_view name;
#endif
};
BOOST_HANA_ADAPT_STRUCT(Named, name);

int main() { return static_cast<int>(stageflow::from_json<Named>(R"({"name":"n"})").name.size()); }
