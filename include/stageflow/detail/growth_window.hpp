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
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace stageflow::detail {

class GrowthWindow {
 public:
  GrowthWindow() = default;
  explicit GrowthWindow(std::size_t capacity) : values_(capacity) {}

  std::size_t capacity() const noexcept { return values_.size(); }
  std::size_t size() const noexcept { return size_; }
  bool full() const noexcept { return size_ == values_.size() && size_ > 0; }

  /// Appends a value; the oldest one leaves when the window is full.
  void push(std::uint64_t value) noexcept {
    if (values_.empty()) return;
    if (size_ < values_.size()) {
      values_[(start_ + size_) % values_.size()] = value;
      ++size_;
    } else {
      values_[start_] = value;
      start_ = (start_ + 1) % values_.size();
    }
  }

  void clear() noexcept {
    start_ = 0;
    size_ = 0;
  }

  /// The i-th value, oldest first.
  std::uint64_t operator[](std::size_t i) const noexcept { return values_[(start_ + i) % values_.size()]; }
  std::uint64_t front() const noexcept { return (*this)[0]; }
  std::uint64_t back() const noexcept { return (*this)[size_ - 1]; }

  /// Least-squares slope over the window, in value units per sample. 0 with fewer than 2 values.
  double slope() const noexcept {
    if (size_ < 2) return 0.0;
    const double n = static_cast<double>(size_);
    const double mean_x = (n - 1.0) / 2.0;
    // Values relative to the first keep the sums small enough for a double to stay exact-ish.
    double mean_y = 0.0;
    for (std::size_t i = 0; i < size_; ++i) mean_y += relative(i);
    mean_y /= n;
    double covariance = 0.0;
    for (std::size_t i = 0; i < size_; ++i) covariance += (static_cast<double>(i) - mean_x) * (relative(i) - mean_y);
    const double variance_x = n * (n * n - 1.0) / 12.0;  // sum of (i - mean_x)^2 for i = 0..n-1
    return covariance / variance_x;
  }

  /// Kendall's tau-a: (concordant - discordant pairs) / all pairs; ties count as neither.
  double trend() const noexcept {
    if (size_ < 2) return 0.0;
    std::int64_t score = 0;
    for (std::size_t i = 0; i + 1 < size_; ++i) {
      const std::uint64_t earlier = (*this)[i];
      for (std::size_t j = i + 1; j < size_; ++j) {
        const std::uint64_t later = (*this)[j];
        score += (later > earlier) - (later < earlier);
      }
    }
    const double pairs = static_cast<double>(size_) * static_cast<double>(size_ - 1) / 2.0;
    return static_cast<double>(score) / pairs;
  }

 private:
  double relative(std::size_t i) const noexcept {
    const std::uint64_t value = (*this)[i];
    const std::uint64_t first = front();
    return value >= first ? static_cast<double>(value - first) : -static_cast<double>(first - value);
  }

  std::vector<std::uint64_t> values_;
  std::size_t start_ = 0;
  std::size_t size_ = 0;
};

}  // namespace stageflow::detail
