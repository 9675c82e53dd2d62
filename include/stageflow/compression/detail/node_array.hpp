// SPDX-License-Identifier: BSL-1.0
// The elements of an editable array in apply_delta: a gap buffer. A patch edits an array at one
// place after another (front inserts "add /a/0" repeated, removes from the front, inserts at
// ascending or descending indexes, appends): each edit moves the gap from the previous place to
// this one, so a run of such edits costs about one pass over the array, not one pass per edit
// (a std::vector insert at the front made 1M front inserts quadratic: issue 25, defect 14).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace stageflow::detail::compression {

template <class T>
class GapArray {
 public:
  std::size_t size() const noexcept { return data_.size() - gap_size_; }
  bool empty() const noexcept { return size() == 0; }

  T& operator[](std::size_t i) noexcept { return data_[i < gap_begin_ ? i : i + gap_size_]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i < gap_begin_ ? i : i + gap_size_]; }

  void reserve(std::size_t count) {
    if (count > size()) grow(count - size());
  }

  void push_back(const T& value) { insert(size(), value); }

  /// Inserts before element `at` (at == size() appends).
  void insert(std::size_t at, const T& value) {
    if (gap_size_ == 0) grow(std::max<std::size_t>(16, size()));
    move_gap(at);
    data_[gap_begin_++] = value;
    --gap_size_;
  }

  /// Removes element `at`.
  void erase(std::size_t at) {
    move_gap(at);
    ++gap_size_;  // the element after the gap joins it
  }

  /// The elements in order.
  std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(size());
    out.insert(out.end(), data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(gap_begin_));
    out.insert(out.end(), data_.begin() + static_cast<std::ptrdiff_t>(gap_begin_ + gap_size_), data_.end());
    return out;
  }

 private:
  using Offset = std::ptrdiff_t;

  // Makes the gap start before element `at`: the elements between the old and the new place move
  // across it.
  void move_gap(std::size_t at) noexcept {
    const auto begin = data_.begin();
    if (at < gap_begin_) {
      std::move_backward(begin + static_cast<Offset>(at), begin + static_cast<Offset>(gap_begin_),
                         begin + static_cast<Offset>(gap_begin_ + gap_size_));
    } else if (at > gap_begin_) {
      std::move(begin + static_cast<Offset>(gap_begin_ + gap_size_), begin + static_cast<Offset>(at + gap_size_),
                begin + static_cast<Offset>(gap_begin_));
    }
    gap_begin_ = at;
  }

  // Widens the gap by `extra` slots (at least doubling the storage: amortized constant inserts).
  void grow(std::size_t extra) {
    const std::size_t after = data_.size() - gap_begin_ - gap_size_;
    std::vector<T> bigger;
    bigger.reserve(data_.size() + extra);
    bigger.insert(bigger.end(), data_.begin(), data_.begin() + static_cast<Offset>(gap_begin_));
    bigger.resize(gap_begin_ + gap_size_ + extra);
    bigger.insert(bigger.end(), data_.end() - static_cast<Offset>(after), data_.end());
    data_ = std::move(bigger);
    gap_size_ += extra;
  }

  std::vector<T> data_;  // [0, gap_begin_) elements, then gap_size_ unused slots, then elements
  std::size_t gap_begin_ = 0;
  std::size_t gap_size_ = 0;
};

}  // namespace stageflow::detail::compression
