// SPDX-License-Identifier: BSL-1.0
// NullSink: events go nowhere, at no cost.
//
// It is what a Runner without an event sink has; naming it explicitly changes nothing:
// Runner<NullSink> is the same type as Runner<>, so no event is even built.
#pragma once

namespace stageflow {

struct NullSink {
  /// Read by the Runner, which drops this policy at compile time.
  static constexpr bool discards_events = true;
};

}  // namespace stageflow
