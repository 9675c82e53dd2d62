// SPDX-License-Identifier: BSL-1.0
// Reads a sink's JSON Lines output back: one parsed object per line.
#pragma once

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

/// Every line of `text`, parsed; throws nlohmann::json::parse_error for a line that is not valid
/// JSON, invalid UTF-8 included.
inline std::vector<nlohmann::json> parse_json_lines(const std::string& text) {
  std::istringstream lines(text);
  std::vector<nlohmann::json> parsed;
  for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
  return parsed;
}
