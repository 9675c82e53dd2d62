// SPDX-License-Identifier: BSL-1.0
// The size in bytes of a value's canonical JSON, without writing it.
//
//   std::size_t bytes = stageflow::serialization::byte_count(snapshot);  // == to_json(snapshot).size()
//
// Exactly to_json(value).size() (both use the byte rules of json/detail/escape.hpp and number_text.hpp): UTF-8 bytes, not
// characters, and no escaping of non-ASCII text. One walk, no allocation; order does not change a
// size, so hash containers are not sorted. The costly part is floating point, whose shortest text
// must be formatted to be measured; strings are scanned 16 or 8 bytes at a time, tails included.
#pragma once

#include <stageflow/json/detail/escape.hpp>
#include <stageflow/json/detail/number_text.hpp>
#include <stageflow/uuid/text.hpp>
#include <stageflow/serialization/walk.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace stageflow::detail {

/// The byte counter's visitor: adds up the sizes json/detail/ gives each token.
class ByteCounter {
 public:
  std::size_t bytes = 0;

  void null() noexcept { bytes += 4; }
  void boolean(bool value) noexcept { bytes += value ? 4 : 5; }
  void integer(std::int64_t value) noexcept { bytes += json_integer_size(value); }
  void integer(std::uint64_t value) noexcept { bytes += json_integer_size(value); }
  template <class Float>
  void floating(Float value) noexcept {
    bytes += json_floating_size(value);
  }
  void string(std::string_view text) noexcept { bytes += json_string_size(text); }
  void uuid(const boost::uuids::uuid&) noexcept { bytes += uuid_text_size + 2; }
  void begin_variant(std::size_t) noexcept {}

  void begin_struct(std::size_t) noexcept { bytes += 1; }
  void member(std::string_view name, std::size_t index) noexcept {
    bytes += json_string_size(name) + 1 + (index != 0 ? 1 : 0);  // ["," ] "name" ":"
  }
  void end_struct(std::size_t) noexcept { bytes += 1; }

  void begin_array(serialization::Order) noexcept { bytes += 1; }
  void element(std::size_t index) noexcept { bytes += index != 0 ? 1 : 0; }
  void end_array(serialization::Order, std::size_t) noexcept { bytes += 1; }

  void begin_object(serialization::Order) noexcept { bytes += 1; }
  void key(std::string_view text, std::size_t index) noexcept { entry(index, json_string_size(text)); }
  void key(std::int64_t value, std::size_t index) noexcept {
    entry(index, json_integer_size(value) + 2);
  }
  void key(std::uint64_t value, std::size_t index) noexcept {
    entry(index, json_integer_size(value) + 2);
  }
  void key(bool value, std::size_t index) noexcept { entry(index, value ? 6 : 7); }
  void key(const boost::uuids::uuid&, std::size_t index) noexcept {
    entry(index, uuid_text_size + 2);
  }
  void end_entry(std::size_t) noexcept {}
  void end_object(serialization::Order, std::size_t) noexcept { bytes += 1; }

 private:
  void entry(std::size_t index, std::size_t quoted_key) noexcept { bytes += quoted_key + 1 + (index != 0 ? 1 : 0); }
};

}  // namespace stageflow::detail

namespace stageflow::serialization {

/// Bytes of the canonical JSON of `value`: exactly to_json(value).size(), without building it.
template <class T>
std::size_t byte_count(const T& value) {
  detail::ByteCounter counter;
  walk(value, counter);
  return counter.bytes;
}

}  // namespace stageflow::serialization
