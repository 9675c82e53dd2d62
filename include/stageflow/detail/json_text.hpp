// Small JSON text helpers shared by the event sinks: string escaping and UTC timestamps.
#pragma once

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace stageflow::detail {

/// Appends `text` as a JSON string literal (quotes included). Bytes >= 0x80 pass through, so valid
/// UTF-8 stays valid; control characters are escaped.
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out.push_back(hex[byte >> 4]);
          out.push_back(hex[byte & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

/// Appends the canonical 36-character text of a UUID (lower case).
inline void append_uuid(std::string& out, const boost::uuids::uuid& id) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[id.data[i] >> 4]);
    out.push_back(hex[id.data[i] & 0xF]);
  }
}

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
