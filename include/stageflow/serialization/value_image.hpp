// SPDX-License-Identifier: BSL-1.0
// ValueImage: a value's walk recorded as bytes, so "did it change?" is one memcmp.
//
//   ValueImage before, after;              // keep them: their buffers are reused
//   before.record(snapshot);
//   run_stage(snapshot);
//   after.record(snapshot);
//   if (after != before) {                 // size check and memcmp: the whole comparison
//     FingerprintTree old_tree, new_tree;  // only now: an image walks as the value it recorded
//     old_tree.record(before);
//     new_tree.record(after);
//     changed_fields(old_tree, new_tree);  // "messages[2].content, metadata.user.tier"
//   }
//
// Why: the immutability check compares each value with itself a moment later, and nearly always
// finds it unchanged. Hashing every field (the FingerprintTree) pays for what only a change needs;
// an image pays one tag byte per value and a copy of each text, and the comparison is the memcmp
// floor itself. What changed is worked out from the two images only when they differ.
//
// Compare images of values of one type, as the interceptor does: a Hana struct's member names are
// recorded by the address of their static table, not copied. Within one type, equal images mean
// equal values in the fingerprint's sense (fingerprint.hpp): pointers are
// followed, NaN is one value, 7 and 7u are one number, a variant's alternative counts, and hash
// containers record their entries in a canonical order (sorted by their bytes), so neither bucket
// order nor insertion order makes a difference.
//
// An image is walkable (walk.hpp): walking it replays the recorded value, so to_json(image),
// fingerprint(image) and FingerprintTree::record(image) give what they give for the value (a hash
// container's entries come in the image's canonical order; the JSON and hashes do not depend on it).
// It owns its bytes: it may outlive the value. The bytes are an in-process format, not for storage.
#pragma once

#include <stageflow/serialization/detail/image_replay.hpp>
#include <stageflow/serialization/detail/image_writer.hpp>
#include <stageflow/serialization/walk.hpp>

#include <string_view>

namespace stageflow::serialization {

class ValueImage {
 public:
  /// Records `value` (replacing what was recorded). Throws SerializationError on a pointer cycle,
  /// leaving the image empty.
  template <class T>
  void record(const T& value) {
    clear();
    try {
      detail::ImageWriter writer(buffers_);
      walk(value, writer);
      writer.finish();
    } catch (...) {
      clear();  // never leave a half-recorded image that could be compared
      throw;
    }
  }

  bool empty() const noexcept { return buffers_.size == 0; }
  void clear() noexcept {
    buffers_.size = 0;
    buffers_.frames.clear();
    buffers_.entries.clear();
  }
  /// The recorded bytes (an in-process format; compare them, do not store them).
  std::string_view bytes() const noexcept { return {buffers_.bytes.data(), buffers_.size}; }
  /// Bytes held, recorded or not: what keeping this image warm costs in memory.
  std::size_t capacity() const noexcept { return buffers_.bytes.capacity() + buffers_.scratch.capacity(); }
  /// Gives back the memory (an image kept warm for a very large value would hold it).
  void release() noexcept { buffers_ = {}; }

  /// Equal images: equal values, in the fingerprint's sense. A size check and a memcmp.
  friend bool operator==(const ValueImage& a, const ValueImage& b) noexcept { return a.bytes() == b.bytes(); }

  /// Calls the visitor's hooks (walk.hpp's protocol) as walking the recorded value did.
  template <class Visitor>
  void replay(Visitor& visitor) const {
    if (empty()) return;
    detail::ImageReplay<Visitor>{visitor}.value(buffers_.bytes.data());
  }

 private:
  detail::ImageWriter::Buffers buffers_;
};

}  // namespace stageflow::serialization
