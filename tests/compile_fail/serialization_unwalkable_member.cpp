// SPDX-License-Identifier: BSL-1.0
// A reflected struct with a member the walk does not know: the error names the member's type,
// for every consumer (here the fingerprint, which the immutability check uses).
// expect-error: cannot be walked
// expect-error: Opaque
// expect-max-errors: 2
#include <stageflow/serialization/fingerprint.hpp>

#include <boost/hana/define_struct.hpp>

#include <vector>

struct Opaque {
  int handle = 0;
};

struct Snapshot {
#ifdef STAGEFLOW_COMPILE_FAIL_CONTROL
  BOOST_HANA_DEFINE_STRUCT(Snapshot, (std::vector<int>, items));
#else
  BOOST_HANA_DEFINE_STRUCT(Snapshot, (std::vector<Opaque>, items));
#endif
};

int main() { return static_cast<int>(stageflow::serialization::fingerprint(Snapshot{}) & 1); }
