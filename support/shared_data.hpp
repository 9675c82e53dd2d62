// SPDX-License-Identifier: BSL-1.0
// Locates ../shared/data (JSON documents, JSONTestSuite) for tests and benchmarks.
// Meson passes the folder in STAGEFLOW_DATA_DIR; when it is missing the caller skips clearly.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace stageflow::testing {

/// The shared data folder, or nullopt when it is not there.
inline std::optional<std::filesystem::path> shared_data_dir() {
  const char* dir = std::getenv("STAGEFLOW_DATA_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  std::filesystem::path path(dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return std::nullopt;
  return path;
}

/// A file under the shared data folder, or nullopt when the folder or file is absent.
inline std::optional<std::filesystem::path> shared_data_file(const std::filesystem::path& relative) {
  auto dir = shared_data_dir();
  if (!dir) return std::nullopt;
  auto path = *dir / relative;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  return path;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

}  // namespace stageflow::testing
