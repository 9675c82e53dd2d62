// SPDX-License-Identifier: BSL-1.0
// A small open-addressing hash index from object keys to member positions (the last occurrence
// of a duplicated key wins, as most JSON readers do). Reused across calls: no allocation once warm.
#pragma once

#include <stageflow/detail/xxhash.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace stageflow::detail::compression {

class KeyIndex {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;

  /// Indexes keys(0) .. keys(count - 1); `key_of(i)` returns a std::string_view that stays valid.
  template <class KeyOf>
  void build(std::uint32_t count, KeyOf&& key_of) {
    std::size_t capacity = 8;
    while (capacity < 2 * static_cast<std::size_t>(count)) capacity *= 2;
    slots_.assign(capacity, Slot{});
    keys_.resize(count);
    mask_ = capacity - 1;
    duplicates_ = false;
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::string_view key = key_of(i);
      keys_[i] = key;
      const std::uint64_t hash = hash_of(key);
      for (std::size_t at = hash & mask_;; at = (at + 1) & mask_) {
        Slot& slot = slots_[at];
        if (slot.index == npos) {
          slot = {hash, i};
          break;
        }
        if (slot.hash == hash && keys_[slot.index] == key) {
          slot.index = i;  // a later duplicate wins
          duplicates_ = true;
          break;
        }
      }
    }
  }

  /// Position of the (last) member with this key, or npos.
  std::uint32_t find(std::string_view key) const noexcept {
    if (slots_.empty()) return npos;
    const std::uint64_t hash = hash_of(key);
    for (std::size_t at = hash & mask_;; at = (at + 1) & mask_) {
      const Slot& slot = slots_[at];
      if (slot.index == npos) return npos;
      if (slot.hash == hash && keys_[slot.index] == key) return slot.index;
    }
  }

  bool has_duplicates() const noexcept { return duplicates_; }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t index = npos;
  };

  static std::uint64_t hash_of(std::string_view key) noexcept { return XXH3_64bits(key.data(), key.size()); }

  std::vector<Slot> slots_;
  std::vector<std::string_view> keys_;
  std::size_t mask_ = 0;
  bool duplicates_ = false;
};

}  // namespace stageflow::detail::compression
