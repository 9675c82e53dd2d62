// SPDX-License-Identifier: BSL-1.0
// The event sinks' timestamp text: ISO 8601 UTC with microseconds.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace stageflow::detail {

/// Appends an ISO 8601 UTC timestamp with microseconds: 2026-11-29T21:51:51.123456Z.
inline void append_utc_timestamp(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto micros = duration_cast<microseconds>(t.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(micros / 1'000'000);
  auto fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    --seconds;
  }
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[40];
  const int n = std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                              utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                              static_cast<long>(fraction));
  out.append(buffer, static_cast<std::size_t>(n));
}

}  // namespace stageflow::detail
