// SPDX-License-Identifier: BSL-1.0
// The recording visitor of ValueImage, and the format it writes: a tag byte per record, then a
// payload of fixed or length-prefixed size. Internal; see <stageflow/serialization/value_image.hpp>.
#pragma once

#include <stageflow/serialization/order.hpp>

#include <boost/uuid/uuid.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

namespace stageflow::detail {

/// What each record of an image is; a payload of fixed or length-prefixed size follows the tag.
enum class ImageTag : std::uint8_t {
  null,
  boolean_false,
  boolean_true,
  integer,       // int64_t (and unsigned values that fit one)
  big_unsigned,  // uint64_t above INT64_MAX
  single,        // float
  floating,      // double
  not_a_number,  // any NaN, of any type
  long_double,   // its shortest round-trip text, length-prefixed (its padding bytes have no fixed value)
  string,        // text, its length first (4 bytes; texts of 4 GiB and more: string_long, 8 bytes)
  string_long,
  uuid,          // 16 bytes
  variant,       // the alternative's index; its value follows
  begin_struct,  // member count; then member records, each followed by its value
  member,        // length-prefixed name
  begin_named_struct,  // a Hana struct: the address of its static table of member names and their
                       // count; then the members' values, without names (the text is not copied)
  end_struct,
  begin_array,   // Order byte; then values
  end_array,
  begin_object,  // Order byte; then key records, each followed by its value
  key_text,
  key_text_long,
  key_integer,
  key_big_unsigned,
  key_false,
  key_true,
  key_uuid,
  end_object,
};

/// The recording visitor of ValueImage::record.
class ImageWriter {
 public:
  struct Buffers {
    std::vector<char> bytes;  // grown, never shrunk; `size` of them are in use
    std::size_t size = 0;
    struct Frame {
      std::size_t first_entry;
      std::size_t depth;
    };
    std::vector<Frame> frames;         // the open hash containers (only they need bookkeeping)
    std::vector<std::size_t> entries;  // where each entry of an open hash container starts
    std::vector<char> scratch;         // for reordering a hash container's entries
    struct Range {
      std::size_t begin, end;  // an entry's bytes in scratch
    };
    std::vector<Range> ranges;
  };

  explicit ImageWriter(Buffers& buffers) noexcept
      : b_(buffers), cur_(buffers.bytes.data() + buffers.size), limit_(buffers.bytes.data() + buffers.bytes.size()) {}

  /// Stores the recorded size in the buffers (the writer keeps it in a pointer while it runs).
  void finish() noexcept { b_.size = offset(); }

  void null() { tag(ImageTag::null); }
  void boolean(bool value) { tag(value ? ImageTag::boolean_true : ImageTag::boolean_false); }
  void integer(std::int64_t value) { fixed(ImageTag::integer, value); }
  void integer(std::uint64_t value) {
    // 7 and 7u are one number, as in the fingerprint.
    if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fixed(ImageTag::integer, static_cast<std::int64_t>(value));
    else
      fixed(ImageTag::big_unsigned, value);
  }
  template <class Float>
  void floating(Float value) {
    if (std::isnan(value)) {
      tag(ImageTag::not_a_number);
    } else if constexpr (std::is_same_v<Float, float>) {
      fixed(ImageTag::single, value);
    } else if constexpr (sizeof(Float) <= sizeof(double)) {
      fixed(ImageTag::floating, static_cast<double>(value));
    } else {
      char text[64];
      const char* const end = std::to_chars(text, text + sizeof text, value).ptr;
      sized_with<std::uint32_t>(ImageTag::long_double, std::string_view(text, static_cast<std::size_t>(end - text)));
    }
  }
  void string(std::string_view text) { sized(ImageTag::string, text); }
  void uuid(const boost::uuids::uuid& id) {
    char* p = reserve(1 + sizeof id.data);
    *p = static_cast<char>(ImageTag::uuid);
    std::memcpy(p + 1, id.data, sizeof id.data);
    cur_ += 1 + sizeof id.data;
  }
  void begin_variant(std::size_t index) { fixed(ImageTag::variant, static_cast<std::uint64_t>(index)); }

  void begin_struct(std::size_t count) { fixed(ImageTag::begin_struct, static_cast<std::uint64_t>(count)); }
  void member(std::string_view name, std::size_t) { sized_with<std::uint64_t>(ImageTag::member, name); }
  /// A Hana struct, whose member names are a static table (walker.hpp's member_names).
  void begin_struct(std::size_t count, const std::string_view* names) {
    const auto size = static_cast<std::uint32_t>(count);
    char* p = reserve(1 + sizeof names + sizeof size);
    *p = static_cast<char>(ImageTag::begin_named_struct);
    std::memcpy(p + 1, &names, sizeof names);
    std::memcpy(p + 1 + sizeof names, &size, sizeof size);
    cur_ += 1 + sizeof names + sizeof size;
  }
  void end_struct(std::size_t) { tag(ImageTag::end_struct); }

  void begin_array(serialization::Order order) { open(ImageTag::begin_array, order); }
  void element(std::size_t) { start_entry(); }
  void end_array(serialization::Order order, std::size_t) { close(ImageTag::end_array, order); }

  void begin_object(serialization::Order order) { open(ImageTag::begin_object, order); }
  void key(std::string_view text, std::size_t) {
    start_entry();
    sized(ImageTag::key_text, text);
  }
  void key(std::int64_t value, std::size_t) {
    start_entry();
    fixed(ImageTag::key_integer, value);
  }
  void key(std::uint64_t value, std::size_t) {
    start_entry();
    if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fixed(ImageTag::key_integer, static_cast<std::int64_t>(value));
    else
      fixed(ImageTag::key_big_unsigned, value);
  }
  void key(bool value, std::size_t) {
    start_entry();
    tag(value ? ImageTag::key_true : ImageTag::key_false);
  }
  void key(const boost::uuids::uuid& id, std::size_t) {
    start_entry();
    char* p = reserve(1 + sizeof id.data);
    *p = static_cast<char>(ImageTag::key_uuid);
    std::memcpy(p + 1, id.data, sizeof id.data);
    cur_ += 1 + sizeof id.data;
  }
  void end_entry(std::size_t) noexcept {}
  void end_object(serialization::Order order, std::size_t) { close(ImageTag::end_object, order); }

 private:
  // Called for every record: the check stays inline (GCC would otherwise call it), the growth
  // (rare once warm) does not.
#if defined(__GNUC__) || defined(__clang__)
  __attribute__((always_inline))
#endif
  char* reserve(std::size_t bytes) {
    if (static_cast<std::size_t>(limit_ - cur_) < bytes) [[unlikely]]
      grow(bytes);
    return cur_;
  }
#if defined(__GNUC__) || defined(__clang__)
  __attribute__((noinline))
#endif
  void grow(std::size_t bytes) {
    const std::size_t used = offset();
    b_.bytes.resize(std::max({used + bytes, b_.bytes.size() * 2, std::size_t{256}}));
    cur_ = b_.bytes.data() + used;
    limit_ = b_.bytes.data() + b_.bytes.size();
  }
  void tag(ImageTag t) {
    *reserve(1) = static_cast<char>(t);
    cur_ += 1;
  }
  template <class Payload>
  void fixed(ImageTag t, Payload value) {
    char* p = reserve(1 + sizeof value);
    *p = static_cast<char>(t);
    std::memcpy(p + 1, &value, sizeof value);
    cur_ += 1 + sizeof value;
  }
  // Text with its length first: 4 bytes, or for 4 GiB and more the next tag (the "_long" one) and 8.
  void sized(ImageTag t, std::string_view text) {
    if (text.size() > std::numeric_limits<std::uint32_t>::max()) [[unlikely]] {
      sized_with<std::uint64_t>(static_cast<ImageTag>(static_cast<std::uint8_t>(t) + 1), text);
      return;
    }
    sized_with<std::uint32_t>(t, text);
  }
  template <class Length>
  void sized_with(ImageTag t, std::string_view text) {
    const auto size = static_cast<Length>(text.size());
    char* p = reserve(1 + sizeof size + text.size());
    *p = static_cast<char>(t);
    std::memcpy(p + 1, &size, sizeof size);
    copy(p + 1 + sizeof size, text.data(), text.size());
    cur_ += 1 + sizeof size + text.size();
  }

  // Most texts are keys and short values: copy up to 64 bytes with overlapping loads and stores,
  // which read and write only [0, size) yet cost no call.
  static void copy(char* out, const char* in, std::size_t size) noexcept {
    if (size >= 8 && size <= 16) {
      std::uint64_t head, tail;
      std::memcpy(&head, in, 8);
      std::memcpy(&tail, in + size - 8, 8);
      std::memcpy(out, &head, 8);
      std::memcpy(out + size - 8, &tail, 8);
    } else if (size >= 4 && size < 8) {
      std::uint32_t head, tail;
      std::memcpy(&head, in, 4);
      std::memcpy(&tail, in + size - 4, 4);
      std::memcpy(out, &head, 4);
      std::memcpy(out + size - 4, &tail, 4);
    } else if (size > 16 && size <= 64) {
      // 16-byte blocks, the last one overlapping: no call for the texts most values are.
      char block[16];
      for (std::size_t i = 0; i + 16 < size; i += 16) {
        std::memcpy(block, in + i, 16);
        std::memcpy(out + i, block, 16);
      }
      std::memcpy(block, in + size - 16, 16);
      std::memcpy(out + size - 16, block, 16);
    } else if (size > 64) {
      std::memcpy(out, in, size);
    } else {
      for (std::size_t i = 0; i < size; ++i) out[i] = in[i];
    }
  }

  // Sequences and ordered maps (nearly every container) cost a depth count; only hash containers
  // push a frame, whose entries are sorted when it closes.
  void open(ImageTag t, serialization::Order order) {
    char* p = reserve(2);
    p[0] = static_cast<char>(t);
    p[1] = static_cast<char>(order);
    cur_ += 2;
    ++depth_;
    if (order == serialization::Order::unordered) [[unlikely]] {
      b_.frames.push_back({b_.entries.size(), depth_});
      unordered_depth_ = depth_;
    }
  }
  void start_entry() {
    if (depth_ == unordered_depth_) [[unlikely]]
      b_.entries.push_back(offset());
  }
  void close(ImageTag t, serialization::Order order) {
    if (order == serialization::Order::unordered) [[unlikely]] {
      sort_entries();
      b_.frames.pop_back();
      unordered_depth_ = b_.frames.empty() ? 0 : b_.frames.back().depth;
    }
    --depth_;
    tag(t);
  }

  // A hash container's entries, in the order of their bytes: the same whatever the bucket order.
  // An entry's bytes begin with its key (or are the element), length-prefixed, so two entries
  // never compare equal unless they are equal.
  void sort_entries() {
    const std::size_t first = b_.frames.back().first_entry;
    const std::size_t count = b_.entries.size() - first;
    if (count > 1) {
      const std::size_t region = b_.entries[first];
      b_.scratch.assign(b_.bytes.data() + region, cur_);
      using Range = Buffers::Range;
      auto& ranges = b_.ranges;
      ranges.clear();
      for (std::size_t i = 0; i < count; ++i)
        ranges.push_back({b_.entries[first + i] - region,
                          (i + 1 < count ? b_.entries[first + i + 1] : offset()) - region});
      const char* base = b_.scratch.data();
      std::sort(ranges.begin(), ranges.end(), [base](const Range& x, const Range& y) {
        return std::string_view(base + x.begin, x.end - x.begin) < std::string_view(base + y.begin, y.end - y.begin);
      });
      char* out = b_.bytes.data() + region;
      for (const Range& r : ranges) {
        std::memcpy(out, base + r.begin, r.end - r.begin);
        out += r.end - r.begin;
      }
    }
    b_.entries.resize(first);
  }

  std::size_t offset() const noexcept { return static_cast<std::size_t>(cur_ - b_.bytes.data()); }

  Buffers& b_;
  // The write position and the buffer's end as pointers: a record costs one compare and one
  // add, where an index into the vector meant reloading its data and size after every byte
  // stored (a char store may alias them).
  char* cur_;
  char* limit_;
  std::size_t depth_ = 0;            // open arrays and objects
  std::size_t unordered_depth_ = 0;  // depth of the innermost open hash container; 0: none
};

}  // namespace stageflow::detail
