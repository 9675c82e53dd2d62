// SPDX-License-Identifier: BSL-1.0
// Canonical JSON text of any walkable value (see walk.hpp for what can be walked).
//
// Canonical means: the same value always gives the same bytes. No whitespace; Hana struct members
// in declaration order; map keys sorted by their text (byte order of the unescaped UTF-8, which is
// std::string's order), whatever the map type, insertion order or bucket count; hash sets in the
// byte order of their elements' JSON text; minimal escaping; integers exact; floating point as the
// shortest text that reads back to the same double, always with a '.' or an exponent so it reads
// back as floating point; NaN and the infinities as null (JSON has no form for them; the fingerprint
// still tells them apart). Text is taken as UTF-8 and written byte for byte (it is not validated:
// bytes that are not UTF-8 pass through, as with most writers; parse_json refuses them).
//
//   std::string text = stageflow::serialization::to_json(snapshot);
//
// A JsonWriter keeps its buffers between calls: reuse one to write many values without allocating.
#pragma once

#include <stageflow/json/detail/escape.hpp>
#include <stageflow/json/detail/number_text.hpp>
#include <stageflow/uuid/text.hpp>
#include <stageflow/serialization/walk.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace stageflow::serialization {

class JsonWriter {
 public:
  /// Appends the canonical JSON of `value` to `out`. Throws SerializationError on a pointer cycle
  /// (nesting deeper than max_walk_depth), leaving `out` as it was.
  template <class T>
  void append(std::string& out, const T& value) {
    const std::size_t original_size = out.size();
    out_ = &out;
    size_ = original_size;
    frames_.clear();
    entries_.clear();
    try {
      walk(value, *this);
    } catch (...) {
      out.resize(original_size);  // keep what was there before, drop the partial value's bytes
      throw;
    }
    out.resize(size_);
  }

  /// The canonical JSON of `value`.
  template <class T>
  std::string write(const T& value) {
    std::string out;
    append(out, value);
    return out;
  }

 private:
  template <class>
  friend class detail::Walker;
  template <class>
  friend struct detail::ImageReplay;

  // Visitor hooks called by walk() (see walk.hpp).
  void null() { put("null"); }
  void boolean(bool value) { value ? put("true") : put("false"); }
  template <class Int>
  void integer(Int value) {
    char* p = reserve(20);
    commit(std::to_chars(p, p + 20, value).ptr);
  }
  template <class Float>
  void floating(Float value) {
    commit(stageflow::detail::write_json_floating(reserve(stageflow::detail::max_floating_chars), value));
  }
  void string(std::string_view text) {
    // Short text: reserve the worst case (every byte a \u00xx) and write in one pass; long text: measure first.
    const std::size_t room = text.size() <= 256 ? text.size() * 6 + 2 : stageflow::detail::json_string_size(text);
    char* p = reserve(room);
    *p++ = '"';
    p = stageflow::detail::write_json_string_body(p, text);
    *p++ = '"';
    commit(p);
  }
  void uuid(const boost::uuids::uuid& id) {
    char* p = reserve(stageflow::detail::uuid_text_size + 2);
    *p++ = '"';
    p = stageflow::detail::write_uuid_text(p, id);
    *p++ = '"';
    commit(p);
  }
  void begin_variant(std::size_t) noexcept {}

  void begin_struct(std::size_t) { put("{"); }
  void member(std::string_view name, std::size_t index) {
    if (index != 0) put(",");
    string(name);
    put(":");
  }
  void end_struct(std::size_t) { put("}"); }

  void begin_array(Order order) {
    put("[");
    frames_.push_back({entries_.size(), order == Order::unordered});
  }
  void element(std::size_t index) {
    if (frames_.back().sorted)
      entries_.push_back({size_, 0, nullptr, 0});
    else if (index != 0)
      put(",");
  }
  void end_array(Order, std::size_t) {
    if (frames_.back().sorted) sort_entries(/*by_key=*/false);
    frames_.pop_back();
    put("]");
  }

  void begin_object(Order order) {
    put("{");
    frames_.push_back({entries_.size(), order != Order::canonical});
  }
  void key(std::string_view text, std::size_t index) {
    begin_entry(index, text.data(), text.size());
    string(text);
    put(":");
  }
  void key(std::int64_t value, std::size_t index) { integer_key(value, index); }
  void key(std::uint64_t value, std::size_t index) { integer_key(value, index); }
  void key(bool value, std::size_t index) {
    begin_entry(index, nullptr, value ? 4 : 5);
    value ? put("\"true\":") : put("\"false\":");
  }
  void key(const boost::uuids::uuid& id, std::size_t index) {
    begin_entry(index, nullptr, stageflow::detail::uuid_text_size);
    uuid(id);
    put(":");
  }
  void end_entry(std::size_t) noexcept {}
  void end_object(Order, std::size_t) {
    if (frames_.back().sorted) sort_entries(/*by_key=*/true);
    frames_.pop_back();
    put("}");
  }

  struct Frame {
    std::size_t first_entry;
    bool sorted;  // entries are written without commas, then reordered at the end
  };
  struct Entry {
    std::size_t begin;      // offset of the entry's text in the output
    std::size_t end;        // set when the container ends
    const char* key;        // the key's text, or nullptr when it is the entry's text after the opening quote
    std::size_t key_size;
  };

  char* reserve(std::size_t bytes) {
    if (out_->size() - size_ < bytes) out_->resize(std::max({size_ + bytes, out_->size() * 2, std::size_t{256}}));
    return out_->data() + size_;
  }
  void commit(const char* end) noexcept { size_ = static_cast<std::size_t>(end - out_->data()); }
  void put(std::string_view text) {
    char* p = reserve(text.size());
    std::memcpy(p, text.data(), text.size());
    size_ += text.size();
  }

  void begin_entry(std::size_t index, const char* key, std::size_t key_size) {
    if (frames_.back().sorted)
      entries_.push_back({size_, 0, key, key_size});
    else if (index != 0)
      put(",");
  }

  template <class Int>
  void integer_key(Int value, std::size_t index) {
    begin_entry(index, nullptr, stageflow::detail::json_integer_size(value));
    put("\"");
    integer(value);
    put("\":");
  }

  // Puts the entries of the closing container in canonical order: objects by key text, sets by the
  // text of each element. Entries were written back to back; they are copied aside and written back
  // in order, with commas.
  void sort_entries(bool by_key) {
    const std::size_t first = frames_.back().first_entry;
    if (first == entries_.size()) return;
    const auto entries = entries_.begin() + static_cast<std::ptrdiff_t>(first);
    const std::size_t count = entries_.size() - first;
    const std::size_t region = entries[0].begin;
    for (std::size_t i = 0; i < count; ++i) entries[i].end = i + 1 < count ? entries[i + 1].begin : size_;
    scratch_.assign(out_->data() + region, size_ - region);
    const char* base = scratch_.data() - region;
    auto text = [base, by_key](const Entry& e) {
      if (!by_key) return std::string_view(base + e.begin, e.end - e.begin);
      if (e.key != nullptr) return std::string_view(e.key, e.key_size);
      return std::string_view(base + e.begin + 1, e.key_size);
    };
    std::sort(entries, entries_.end(), [&](const Entry& a, const Entry& b) { return text(a) < text(b); });
    size_ = region;
    for (std::size_t i = 0; i < count; ++i) {
      if (i != 0) put(",");
      put(std::string_view(base + entries[i].begin, entries[i].end - entries[i].begin));
    }
    entries_.resize(first);
  }

  std::string* out_ = nullptr;
  std::size_t size_ = 0;  // bytes of *out_ in use; the rest is room already allocated
  std::vector<Frame> frames_;
  std::vector<Entry> entries_;
  std::string scratch_;
};

/// Appends the canonical JSON of `value` to `out`.
template <class T>
void append_json(std::string& out, const T& value) {
  JsonWriter().append(out, value);
}

/// The canonical JSON of `value`.
template <class T>
std::string to_json(const T& value) {
  return JsonWriter().write(value);
}

}  // namespace stageflow::serialization
