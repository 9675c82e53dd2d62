// SPDX-License-Identifier: BSL-1.0
// What a delta saves: sizes, ratio and operation count, returned with every delta.
#pragma once

#include <cstddef>

namespace stageflow::compression {

/// What a delta saves. All sizes are in bytes.
struct CompressionMetrics {
  /// Size of the current document minified: what would be sent without compression.
  std::size_t original_bytes = 0;
  /// Size of the delta (a minified JSON Patch document).
  std::size_t delta_bytes = 0;
  /// delta_bytes / original_bytes (lower is better; above 1 when the delta is larger); 0 when both are 0.
  double compression_ratio = 0.0;
  /// original_bytes - delta_bytes, or 0 when the delta is not smaller.
  std::size_t reduction_bytes = 0;
  /// Number of operations in the delta.
  std::size_t operations = 0;
};

/// Metrics for a delta of `delta_bytes` with `operations` operations against a document of
/// `original_bytes` (minified).
constexpr CompressionMetrics make_metrics(std::size_t original_bytes, std::size_t delta_bytes,
                                          std::size_t operations) noexcept {
  CompressionMetrics metrics;
  metrics.original_bytes = original_bytes;
  metrics.delta_bytes = delta_bytes;
  metrics.compression_ratio =
      original_bytes == 0 ? 0.0 : static_cast<double>(delta_bytes) / static_cast<double>(original_bytes);
  metrics.reduction_bytes = original_bytes > delta_bytes ? original_bytes - delta_bytes : 0;
  metrics.operations = operations;
  return metrics;
}

}  // namespace stageflow::compression
