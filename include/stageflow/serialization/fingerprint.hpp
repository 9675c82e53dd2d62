// SPDX-License-Identifier: BSL-1.0
// A 64-bit fingerprint of a value's whole content, for telling whether it changed.
//
//   const std::uint64_t before = stageflow::serialization::fingerprint(snapshot);
//   run_stage(snapshot);
//   if (stageflow::serialization::fingerprint(snapshot) != before) { /* mutated */ }
//
// Deep: smart pointers are followed, so a change behind a shared_ptr, in a `mutable` member or
// through a const_cast is a change. Exact where it matters: no false positives for unchanged data,
// NaN (all NaNs are one value) or hash containers that rehashed or were filled in another order;
// 1, 1.0, true, "1" and null are all different, and so are two alternatives of a variant. The hash
// is XXH3 (xxHash) over a Merkle tree of the value; see detail/fingerprint_hasher.hpp.
//
// Why 64 bits: the fingerprint compares one object with itself a moment later, so what matters is
// the chance that a real change goes unseen: 2^-64 per comparison, nothing in practice. 128 bits
// would double the cost of the per-node hashes the FingerprintTree stores for no gain. It is not a
// cryptographic hash (XXH3 can be attacked by a party crafting collisions) and not a stable format:
// compare fingerprints within one build, do not store them.
//
// fingerprint(x) equals FingerprintTree::record(x) (fingerprint_tree.hpp), which also keeps one hash
// per field so the changed field paths can be named afterwards.
#pragma once

#include <stageflow/serialization/detail/fingerprint_hasher.hpp>
#include <stageflow/serialization/walk.hpp>

#include <cstdint>

namespace stageflow::detail {

/// Per-thread buffers, so a fingerprint allocates nothing once warm. `busy` guards re-entry (a
/// walk_as view that takes a fingerprint itself gets fresh buffers).
struct ThreadFingerprintBuffers {
  FingerprintBuffers buffers;
  bool busy = false;
};

inline ThreadFingerprintBuffers& thread_fingerprint_buffers() noexcept {
  thread_local ThreadFingerprintBuffers state;
  return state;
}

template <class T>
std::uint64_t fingerprint_with(FingerprintBuffers& buffers, const T& value) {
  buffers.clear();
  FingerprintHasher<false> hasher(buffers);
  serialization::walk(value, hasher);
  return hasher.root_hash();
}

}  // namespace stageflow::detail

namespace stageflow::serialization {

/// The 64-bit XXH3 fingerprint of `value`'s content (see the top of this header for what it covers).
template <class T>
std::uint64_t fingerprint(const T& value) {
  auto& state = detail::thread_fingerprint_buffers();
  if (state.busy) {
    detail::FingerprintBuffers fresh;
    return detail::fingerprint_with(fresh, value);
  }
  state.busy = true;
  struct Release {
    bool& busy;
    ~Release() { busy = false; }
  } release{state.busy};
  return detail::fingerprint_with(state.buffers, value);
}

}  // namespace stageflow::serialization
