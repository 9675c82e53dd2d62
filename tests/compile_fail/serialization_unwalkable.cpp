// SPDX-License-Identifier: BSL-1.0
// A struct without Boost.Hana reflection cannot be serialized: one readable error that names it.
// expect-error: cannot be walked
// expect-error: BOOST_HANA_ADAPT_STRUCT
// expect-error: NotReflected
// expect-max-errors: 2
#include <stageflow/serialization/json_writer.hpp>

#include <string>

#include <boost/hana/define_struct.hpp>

#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
struct NotReflected {
  BOOST_HANA_DEFINE_STRUCT(NotReflected, (std::string, name), (int, age));
};
#else
struct NotReflected {
  std::string name;
  int age = 0;
};
#endif

int main() { return static_cast<int>(stageflow::serialization::to_json(NotReflected{}).size()); }
