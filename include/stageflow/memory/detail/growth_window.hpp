// SPDX-License-Identifier: BSL-1.0
// The last N values of one memory figure, and the two statistics that tell a leak from noise:
//
//   slope  least-squares growth per sample (bytes/sample): how fast;
//   trend  Kendall's tau over the window, in [-1, 1]: how steadily. 1 means every later value is
//          above every earlier one; noise around a flat line stays near 0; a single step up in the
//          middle of the window gives about 0.5, and three evenly spaced steps about 0.77.
//
// A leak grows by a similar amount sample after sample, so it needs both: a slope above a byte
// threshold (small drift is not worth a warning) and a trend near 1 (one-off growth, such as a cache
// warming up, is the absolute threshold's business, not a leak).
//
// Both are kept up to date as values arrive, in exact integer arithmetic: a push costs two passes
// over the window (compare and sign, which vectorize), reading either statistic costs O(1).
// Only the sliding and the statistics live here; MemoryTracker decides what is a warning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace stageflow::detail {

class GrowthWindow {
 public:
  /// Bounds the integer sums: sum(i * y) stays far inside 64 bits for any realistic memory size.
  static constexpr std::size_t max_capacity = 1024;

  GrowthWindow() = default;
  explicit GrowthWindow(std::size_t capacity) : values_(capacity) {}

  std::size_t capacity() const noexcept { return values_.size(); }
  std::size_t size() const noexcept { return size_; }
  bool full() const noexcept { return size_ == values_.size() && size_ > 0; }

  /// Appends a value; the oldest one leaves when the window is full.
  void push(std::uint64_t value) noexcept {
    const std::size_t n = values_.size();
    if (n == 0) return;
    if (size_ == 0) reference_ = value;
    if (size_ < n) {  // still filling: start_ is 0, the values are values_[0, size_)
      concordance_ += signs_against(value);
      sum_iy_ += static_cast<std::uint64_t>(size_) * relative(value);
      sum_y_ += relative(value);
      values_[size_++] = value;
      return;
    }
    const std::uint64_t oldest = values_[start_];
    // Pairs (oldest, later) leave; pairs (earlier, value) arrive. The oldest's pair with itself is 0.
    concordance_ -= signs_from(oldest);
    concordance_ += signs_against(value) - sign(value, oldest);
    // Every remaining value moves down one position; the new one takes the last.
    sum_iy_ = sum_iy_ - (sum_y_ - relative(oldest)) + static_cast<std::uint64_t>(n - 1) * relative(value);
    sum_y_ = sum_y_ - relative(oldest) + relative(value);
    values_[start_] = value;
    start_ = start_ + 1 == n ? 0 : start_ + 1;
    rebase_if_far(values_[start_]);
  }

  void clear() noexcept {
    start_ = 0;
    size_ = 0;
    sum_y_ = 0;
    sum_iy_ = 0;
    concordance_ = 0;
  }

  /// The i-th value, oldest first.
  std::uint64_t operator[](std::size_t i) const noexcept { return values_[wrap(start_ + i)]; }
  std::uint64_t front() const noexcept { return (*this)[0]; }
  std::uint64_t back() const noexcept { return (*this)[size_ - 1]; }

  /// Least-squares slope over the window, in value units per sample. 0 with fewer than 2 values.
  double slope() const noexcept {
    if (size_ < 2) return 0.0;
    const double n = static_cast<double>(size_);
    const double mean_x = (n - 1.0) / 2.0;
    // The sums wrap modulo 2^64 on the way (defined for unsigned); their true values fit in 64 bits.
    const auto sum_y = static_cast<double>(static_cast<std::int64_t>(sum_y_));
    const auto sum_iy = static_cast<double>(static_cast<std::int64_t>(sum_iy_));
    const double covariance = sum_iy - mean_x * sum_y;
    const double variance_x = n * (n * n - 1.0) / 12.0;  // sum of (i - mean_x)^2 for i = 0..n-1
    return covariance / variance_x;
  }

  /// Kendall's tau-a: (concordant - discordant pairs) / all pairs; ties count as neither.
  double trend() const noexcept {
    if (size_ < 2) return 0.0;
    const double pairs = static_cast<double>(size_) * static_cast<double>(size_ - 1) / 2.0;
    return static_cast<double>(concordance_) / pairs;
  }

 private:
  static std::int64_t sign(std::uint64_t later, std::uint64_t earlier) noexcept {
    return static_cast<std::int64_t>(later > earlier) - static_cast<std::int64_t>(later < earlier);
  }

  /// Sum of sign(value - v) over the values in the window. Contiguous: [0, size_) while filling,
  /// the whole buffer once full.
  std::int64_t signs_against(std::uint64_t value) const noexcept {
    std::int64_t total = 0;
    for (std::size_t i = 0; i < size_; ++i) total += sign(value, values_[i]);
    return total;
  }

  /// Sum of sign(v - value) over the values in the window (the window is full here).
  std::int64_t signs_from(std::uint64_t value) const noexcept {
    std::int64_t total = 0;
    for (const std::uint64_t v : values_) total += sign(v, value);
    return total;
  }

  std::size_t wrap(std::size_t index) const noexcept {
    return index >= values_.size() ? index - values_.size() : index;
  }

  /// The value minus the reference, modulo 2^64 (read as signed, it is the signed difference).
  std::uint64_t relative(std::uint64_t value) const noexcept { return value - reference_; }

  /// Keeps values relative to a nearby reference, so sums stay small over a long-running window.
  void rebase_if_far(std::uint64_t oldest) noexcept {
    const std::uint64_t shift = relative(oldest);
    const auto signed_shift = static_cast<std::int64_t>(shift);
    if (signed_shift > -(std::int64_t{1} << 32) && signed_shift < (std::int64_t{1} << 32)) return;
    const auto n = static_cast<std::uint64_t>(size_);
    sum_iy_ -= shift * (n * (n - 1) / 2);
    sum_y_ -= shift * n;
    reference_ = oldest;
  }

  std::vector<std::uint64_t> values_;
  std::size_t start_ = 0;
  std::size_t size_ = 0;
  std::uint64_t reference_ = 0;
  std::uint64_t sum_y_ = 0;       // sum of (value - reference), modulo 2^64
  std::uint64_t sum_iy_ = 0;      // sum of position * (value - reference), position 0 = oldest
  std::int64_t concordance_ = 0;  // Kendall's S: sum over pairs i < j of sign(v_j - v_i)
};

}  // namespace stageflow::detail
