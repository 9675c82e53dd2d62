// SPDX-License-Identifier: BSL-1.0
// The fingerprint's visitor: a Merkle hash over the walk, optionally recording one node per value
// (the FingerprintTree). Internal; see <stageflow/serialization/fingerprint.hpp>.
//
// Every value gets a 64-bit XXH3 hash. A scalar's hash covers its bytes, seeded with a tag for its
// kind (so 1, 1.0, true and "1" differ). A container's hash is XXH3 over its children's hashes in
// walk order, seeded with the container's tag; a map's children are key hash then value hash. Hash
// containers make this independent of bucket order: each entry's key and value hashes are first
// combined into one, then the entry hashes are sorted. A variant mixes the alternative's index into
// the seed of its value, so switching alternatives is a change even when the JSON text is the same.
// NaN hashes the same whatever its payload, so an untouched NaN is never a change.
#pragma once

#include <stageflow/json/detail/number_text.hpp>
#include <stageflow/uuid/text.hpp>
#include <stageflow/serialization/order.hpp>

#include <boost/uuid/uuid.hpp>

#include <stageflow/detail/xxhash.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__GNUC__) || defined(__clang__)
#  define STAGEFLOW_FLATTEN __attribute__((flatten))
#else
#  define STAGEFLOW_FLATTEN
#endif

namespace stageflow::detail {

/// Seeds that keep the kinds of values apart (arbitrary distinct odd constants).
namespace fingerprint_tag {
inline constexpr std::uint64_t null = 0x9E3779B97F4A7C15ULL;
inline constexpr std::uint64_t boolean_false = 0xC2B2AE3D27D4EB4FULL;
inline constexpr std::uint64_t boolean_true = 0x165667B19E3779F9ULL;
inline constexpr std::uint64_t integer = 0x27D4EB2F165667C5ULL;
inline constexpr std::uint64_t big_unsigned = 0x85EBCA77C2B2AE63ULL;  // above INT64_MAX
inline constexpr std::uint64_t floating = 0xFF51AFD7ED558CCDULL;
inline constexpr std::uint64_t floating_text = 0xC4CEB9FE1A85EC53ULL;  // long double, by its shortest text
inline constexpr std::uint64_t not_a_number = 0x2545F4914F6CDD1DULL;
inline constexpr std::uint64_t string = 0x94D049BB133111EBULL;
inline constexpr std::uint64_t uuid = 0xBF58476D1CE4E5B9ULL;
inline constexpr std::uint64_t structure = 0xD6E8FEB86659FD93ULL;
inline constexpr std::uint64_t array = 0xA0761D6478BD642FULL;
inline constexpr std::uint64_t set = 0xE7037ED1A0B428DBULL;
inline constexpr std::uint64_t object = 0x8EBC6AF09C88C6E3ULL;
inline constexpr std::uint64_t entry = 0x589965CC75374CC3ULL;
inline constexpr std::uint64_t variant = 0x1D8E4E27C47D124FULL;
}  // namespace fingerprint_tag

enum class FingerprintNodeKind : std::uint8_t { scalar, structure, array, set, object };
enum class FingerprintLabel : std::uint8_t { none, text, index };

/// One value of a recorded tree, in depth-first preorder: its children follow it, up to `end`.
struct FingerprintNode {
  std::uint64_t hash;
  std::uint32_t end;         // one past the last node of this value's subtree
  std::uint32_t label_low;   // text: offset in the label arena; index: low 32 bits
  std::uint32_t label_high;  // text: size; index: high 32 bits
  std::uint16_t variant;     // the variant alternatives chosen on the way to this value (0: none)
  FingerprintNodeKind kind;
  FingerprintLabel label;    // how the parent names this value: member or key text, or element index
};

struct FingerprintFrame {
  std::size_t first_hash;  // where this container's children begin on the hash stack
  std::uint32_t node;      // the container's node (recording only)
  serialization::Order order;
  std::uint64_t seed;
};

/// The finished children of every open container, innermost last. Its push is a compare and a
/// store: std::vector's push_back stayed an out-of-line call in the walk's loop (8% of a fingerprint).
class HashStack {
 public:
  std::size_t size() const noexcept { return size_; }
  std::uint64_t* data() noexcept { return storage_.data(); }
  std::uint64_t& back() noexcept { return storage_[size_ - 1]; }
  std::uint64_t back() const noexcept { return storage_[size_ - 1]; }
  void push(std::uint64_t hash) {
    if (size_ == storage_.size()) [[unlikely]]
      grow();
    storage_[size_++] = hash;
  }
  void pop() noexcept { --size_; }
  /// Keeps the first `size` hashes.
  void truncate(std::size_t size) noexcept { size_ = size; }
  void clear() noexcept { size_ = 0; }

 private:
#if defined(__GNUC__) || defined(__clang__)
  __attribute__((noinline))
#endif
  void grow() {
    storage_.resize(std::max<std::size_t>(64, storage_.size() * 2));
  }

  std::vector<std::uint64_t> storage_;  // its size is the capacity; size_ of them are in use
  std::size_t size_ = 0;
};

/// Buffers for one walk, kept between walks so a warm fingerprint allocates nothing.
struct FingerprintBuffers {
  HashStack hashes;
  std::vector<FingerprintFrame> frames;
  std::vector<FingerprintNode> nodes;  // recording only
  std::string labels;                  // recording only: member names and map keys, back to back

  void clear() noexcept {
    hashes.clear();
    frames.clear();
    nodes.clear();
    labels.clear();
  }
};

template <bool Record>
class FingerprintHasher {
 public:
  explicit FingerprintHasher(FingerprintBuffers& buffers) noexcept : buffers_(buffers) {}

  std::uint64_t root_hash() const noexcept { return buffers_.hashes.back(); }

  void null() { leaf(hash_fixed<0>(nullptr, take_seed(fingerprint_tag::null))); }
  void boolean(bool value) {
    leaf(hash_fixed<0>(nullptr, take_seed(value ? fingerprint_tag::boolean_true : fingerprint_tag::boolean_false)));
  }
  void integer(std::int64_t value) { leaf(integer_hash(value, take_seed(0))); }
  void integer(std::uint64_t value) { leaf(integer_hash(value, take_seed(0))); }
  template <class Float>
  void floating(Float value) {
    leaf(floating_hash(value, take_seed(0)));
  }
  void string(std::string_view text) { leaf(hash(text.data(), text.size(), take_seed(fingerprint_tag::string))); }
  void uuid(const boost::uuids::uuid& id) { leaf(hash_fixed<sizeof id.data>(id.data, take_seed(fingerprint_tag::uuid))); }
  void begin_variant(std::size_t index) {
    // Nested variants on the way to one value all count: fold each index in.
    pending_variant_ = pending_variant_ * fingerprint_tag::variant + index + 1;
  }

  void begin_struct(std::size_t) {
    open(fingerprint_tag::structure, serialization::Order::canonical, FingerprintNodeKind::structure);
  }
  void member(std::string_view name, std::size_t) {
    if constexpr (Record) label_text(name);
  }
  void end_struct(std::size_t) { close(); }

  void begin_array(serialization::Order order) {
    if (order == serialization::Order::unordered)
      open(fingerprint_tag::set, order, FingerprintNodeKind::set);
    else
      open(fingerprint_tag::array, order, FingerprintNodeKind::array);
  }
  void element(std::size_t index) {
    if constexpr (Record) {
      pending_label_ = FingerprintLabel::index;
      pending_low_ = static_cast<std::uint32_t>(index);
      pending_high_ = static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32);
    }
  }
  void end_array(serialization::Order, std::size_t) { close(); }

  void begin_object(serialization::Order order) { open(fingerprint_tag::object, order, FingerprintNodeKind::object); }
  void key(std::string_view text, std::size_t) {
    buffers_.hashes.push(hash(text.data(), text.size(), fingerprint_tag::string));
    if constexpr (Record) label_text(text);
  }
  template <class Int>
    requires std::is_same_v<Int, std::int64_t> || std::is_same_v<Int, std::uint64_t>
  void key(Int value, std::size_t) {
    buffers_.hashes.push(integer_hash(value, 0));
    if constexpr (Record) {
      char text[24];
      const char* const end = std::to_chars(text, text + sizeof text, value).ptr;
      label_text(std::string_view(text, static_cast<std::size_t>(end - text)));
    }
  }
  void key(bool value, std::size_t) {
    buffers_.hashes.push(hash_fixed<0>(nullptr, value ? fingerprint_tag::boolean_true : fingerprint_tag::boolean_false));
    if constexpr (Record) label_text(value ? "true" : "false");
  }
  void key(const boost::uuids::uuid& id, std::size_t) {
    buffers_.hashes.push(hash_fixed<sizeof id.data>(id.data, fingerprint_tag::uuid));
    if constexpr (Record) {
      char text[uuid_text_size];
      write_uuid_text(text, id);
      label_text(std::string_view(text, sizeof text));
    }
  }
  void end_entry(std::size_t) {
    // In a hash container each entry must travel as one hash, so sorting cannot split key from value.
    if (buffers_.frames.back().order != serialization::Order::unordered) return;
    auto& hashes = buffers_.hashes;
    const std::uint64_t* const key_and_value = hashes.data() + hashes.size() - 2;
    const std::uint64_t entry = hash_fixed<2 * sizeof(std::uint64_t)>(key_and_value, fingerprint_tag::entry);
    hashes.pop();
    hashes.back() = entry;
  }
  void end_object(serialization::Order, std::size_t) { close(); }

 private:
  // Most inputs are short (keys, numbers, child hashes): inline XXH3's short-input paths here
  // rather than call them; its long-input loop stays out of line (xxHash marks it so).
  STAGEFLOW_FLATTEN static std::uint64_t hash(const void* data, std::size_t size, std::uint64_t seed) noexcept {
    return XXH3_64bits_withSeed(data, size, seed);
  }
  /// The same for a length known at compile time, which leaves a handful of instructions.
  template <std::size_t Size>
  STAGEFLOW_FLATTEN static std::uint64_t hash_fixed(const void* data, std::uint64_t seed) noexcept {
    return XXH3_64bits_withSeed(data, Size, seed);
  }

  static std::uint64_t integer_hash(std::int64_t value, std::uint64_t seed) noexcept {
    return hash_fixed<sizeof value>(&value, seed ^ fingerprint_tag::integer);
  }
  static std::uint64_t integer_hash(std::uint64_t value, std::uint64_t seed) noexcept {
    // An unsigned value that fits int64_t hashes as that signed value: 7 and 7u are one number.
    if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return integer_hash(static_cast<std::int64_t>(value), seed);
    return hash_fixed<sizeof value>(&value, seed ^ fingerprint_tag::big_unsigned);
  }

  template <class Float>
  static std::uint64_t floating_hash(Float value, std::uint64_t seed) noexcept {
    if (std::isnan(value)) return hash_fixed<0>(nullptr, seed ^ fingerprint_tag::not_a_number);
    if constexpr (sizeof(Float) <= sizeof(double)) {
      const double exact = value;  // float widens exactly
      return hash_fixed<sizeof exact>(&exact, seed ^ fingerprint_tag::floating);
    } else {
      // long double has padding bytes of no fixed value: hash its exact shortest text instead.
      if (std::isinf(value)) {
        const double infinity = static_cast<double>(value);
        return hash_fixed<sizeof infinity>(&infinity, seed ^ fingerprint_tag::floating);
      }
      char text[max_floating_chars];
      const auto size = static_cast<std::size_t>(write_json_floating(text, value) - text);
      return hash(text, size, seed ^ fingerprint_tag::floating_text);
    }
  }

  /// The seed for the value now starting: its kind's tag mixed with the variant alternatives that led to it.
  std::uint64_t take_seed(std::uint64_t tag) noexcept {
    if (pending_variant_ == 0) {  // the common case: no variant on the way
      node_variant_ = 0;
      return tag;
    }
    node_variant_ = static_cast<std::uint16_t>(pending_variant_ ^ (pending_variant_ >> 16) ^ (pending_variant_ >> 32) ^
                                               (pending_variant_ >> 48));
    const std::uint64_t seed = tag + pending_variant_ * fingerprint_tag::entry;
    pending_variant_ = 0;
    return seed;
  }

  void leaf(std::uint64_t value_hash) {
    buffers_.hashes.push(value_hash);
    if constexpr (Record) push_node(value_hash, FingerprintNodeKind::scalar, /*leaf=*/true);
  }

  void open(std::uint64_t tag, serialization::Order order, FingerprintNodeKind kind) {
    const std::uint64_t seed = take_seed(tag);
    std::uint32_t node = 0;
    if constexpr (Record) {
      node = static_cast<std::uint32_t>(buffers_.nodes.size());
      push_node(0, kind, /*leaf=*/false);
    }
    buffers_.frames.push_back({buffers_.hashes.size(), node, order, seed});
  }

  void close() {
    const FingerprintFrame frame = buffers_.frames.back();
    buffers_.frames.pop_back();
    auto& hashes = buffers_.hashes;
    std::uint64_t* const first = hashes.data() + frame.first_hash;
    const std::size_t count = hashes.size() - frame.first_hash;
    if (frame.order == serialization::Order::unordered) std::sort(first, first + count);
    const std::uint64_t value_hash = hash(first, count * sizeof(std::uint64_t), frame.seed);
    hashes.truncate(frame.first_hash);  // the children give way to the container's own hash
    hashes.push(value_hash);
    if constexpr (Record) {
      auto& node = buffers_.nodes[frame.node];
      node.hash = value_hash;
      node.end = static_cast<std::uint32_t>(buffers_.nodes.size());
    }
  }

  void label_text(std::string_view text) {
    pending_label_ = FingerprintLabel::text;
    pending_low_ = static_cast<std::uint32_t>(buffers_.labels.size());
    pending_high_ = static_cast<std::uint32_t>(text.size());
    buffers_.labels.append(text);
  }

  /// A leaf's subtree ends right after it; a container's end is set when it closes.
  void push_node(std::uint64_t value_hash, FingerprintNodeKind kind, bool leaf) {
    const auto end = static_cast<std::uint32_t>(leaf ? buffers_.nodes.size() + 1 : 0);
    buffers_.nodes.push_back({value_hash, end, pending_low_, pending_high_, node_variant_, kind, pending_label_});
    pending_label_ = FingerprintLabel::none;
  }

  FingerprintBuffers& buffers_;
  std::uint64_t pending_variant_ = 0;
  std::uint16_t node_variant_ = 0;
  FingerprintLabel pending_label_ = FingerprintLabel::none;
  std::uint32_t pending_low_ = 0;
  std::uint32_t pending_high_ = 0;
};

}  // namespace stageflow::detail

#undef STAGEFLOW_FLATTEN
