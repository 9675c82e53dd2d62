// SPDX-License-Identifier: BSL-1.0
// Replays a ValueImage's records as the walk's visitor calls, so an image walks as the value it
// recorded. Internal; see <stageflow/serialization/value_image.hpp>.
#pragma once

#include <stageflow/serialization/detail/image_writer.hpp>  // ImageTag: the format
#include <stageflow/serialization/order.hpp>

#include <boost/uuid/uuid.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

namespace stageflow::detail {

/// Replays an image's records as the walk's visitor calls (ValueImage::replay).
template <class Visitor>
struct ImageReplay {
  Visitor& v;
  using Tag = detail::ImageTag;

  template <class Payload>
  static Payload read(const char* p) noexcept {
    Payload value;
    std::memcpy(&value, p, sizeof value);
    return value;
  }
  template <class Length = std::uint32_t>
  static std::string_view text(const char*& p) noexcept {
    const auto size = static_cast<std::size_t>(read<Length>(p));
    const std::string_view t(p + sizeof(Length), size);
    p += sizeof(Length) + size;
    return t;
  }
  static boost::uuids::uuid uuid_at(const char*& p) noexcept {
    boost::uuids::uuid id;
    std::memcpy(id.data, p, sizeof id.data);
    p += sizeof id.data;
    return id;
  }

  /// Replays the value whose record starts at `p`; returns the end of its records.
  const char* value(const char* p) {
    const auto tag = static_cast<Tag>(*p++);
    switch (tag) {
      case Tag::null: v.null(); return p;
      case Tag::boolean_false: v.boolean(false); return p;
      case Tag::boolean_true: v.boolean(true); return p;
      case Tag::integer: v.integer(read<std::int64_t>(p)); return p + 8;
      case Tag::big_unsigned: v.integer(read<std::uint64_t>(p)); return p + 8;
      case Tag::single: v.floating(read<float>(p)); return p + sizeof(float);
      case Tag::floating: v.floating(read<double>(p)); return p + sizeof(double);
      case Tag::not_a_number: v.floating(std::numeric_limits<double>::quiet_NaN()); return p;
      case Tag::long_double: {
        const std::string_view t = text(p);
        long double value = 0;
        std::from_chars(t.data(), t.data() + t.size(), value);
        v.floating(value);
        return p;
      }
      case Tag::string: v.string(text(p)); return p;
      case Tag::string_long: v.string(text<std::uint64_t>(p)); return p;
      case Tag::uuid: v.uuid(uuid_at(p)); return p;
      case Tag::begin_named_struct: {
        const auto* const names = read<const std::string_view*>(p);
        const auto count = static_cast<std::size_t>(read<std::uint32_t>(p + sizeof names));
        p += sizeof names + sizeof(std::uint32_t);
        v.begin_struct(count);
        for (std::size_t i = 0; i < count; ++i) {
          v.member(names[i], i);
          p = value(p);
        }
        v.end_struct(count);
        return p + 1;  // Tag::end_struct
      }
      case Tag::variant:
        v.begin_variant(static_cast<std::size_t>(read<std::uint64_t>(p)));
        return value(p + 8);
      case Tag::begin_struct: {
        const auto count = static_cast<std::size_t>(read<std::uint64_t>(p));
        p += 8;
        v.begin_struct(count);
        for (std::size_t i = 0; static_cast<Tag>(*p) != Tag::end_struct; ++i) {
          ++p;  // Tag::member
          v.member(text<std::uint64_t>(p), i);
          p = value(p);
        }
        v.end_struct(count);
        return p + 1;
      }
      case Tag::begin_array: {
        const auto order = static_cast<serialization::Order>(*p++);
        v.begin_array(order);
        std::size_t i = 0;
        for (; static_cast<Tag>(*p) != Tag::end_array; ++i) {
          v.element(i);
          p = value(p);
        }
        v.end_array(order, i);
        return p + 1;
      }
      case Tag::begin_object: {
        const auto order = static_cast<serialization::Order>(*p++);
        v.begin_object(order);
        std::size_t i = 0;
        for (; static_cast<Tag>(*p) != Tag::end_object; ++i) {
          p = key(p, i);
          p = value(p);
          v.end_entry(i);
        }
        v.end_object(order, i);
        return p + 1;
      }
      default: return p;  // not a value's first record: images are only made by record()
    }
  }

  const char* key(const char* p, std::size_t i) {
    const auto tag = static_cast<Tag>(*p++);
    switch (tag) {
      case Tag::key_text: v.key(text(p), i); return p;
      case Tag::key_text_long: v.key(text<std::uint64_t>(p), i); return p;
      case Tag::key_integer: v.key(read<std::int64_t>(p), i); return p + 8;
      case Tag::key_big_unsigned: v.key(read<std::uint64_t>(p), i); return p + 8;
      case Tag::key_false: v.key(false, i); return p;
      case Tag::key_true: v.key(true, i); return p;
      case Tag::key_uuid: v.key(uuid_at(p), i); return p;
      default: return p;
    }
  }
};

}  // namespace stageflow::detail
