// SPDX-License-Identifier: BSL-1.0
// EventSlot: a copy of an Event in fixed storage (AsyncSink's queue cells), made without allocating.
// Its text goes into `text_bytes` of storage given at setup; the rule when it does not all fit:
// - type, stage and status first (cut only if they alone overflow);
// - then each field's key, in order, while the keys fit; fields past max_fields and fields whose
//   key does not fit are left out;
// - then the free text: the reason, the fields' text values and their text lists share what is
//   left, the longest cut first (each keeps min(its size, a common cap), the largest cap that fits),
//   so a short documented field (`category` of uuid.collision, say) survives whole while a long
//   message is cut. Text is cut at a UTF-8 character boundary, a list in whole items;
// - list items past max_list_items (per event) are left out.
// A cut event gets the field `truncated: true`.
#pragma once

#include <stageflow/core/events.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <variant>

namespace stageflow::detail {

class EventSlot {
 public:
  static constexpr std::size_t max_fields = 16;
  static constexpr std::size_t max_list_items = 32;

  Event event{};  // its views point into `fields_`, `list_items_` and this slot's text
  char* text = nullptr;
  std::size_t text_bytes = 0;

  /// Copies `from` into this slot by the rule above.
  void fill(const Event& from) noexcept {
    if (!fill_whole(from)) fill_cut(from);
  }

  /// A copy of another slot's event (the writer takes events out of the queue this way).
  void copy_from(const EventSlot& other) noexcept {
    const std::size_t n = std::min(text_bytes, other.text_bytes);
    std::memcpy(text, other.text, n);
    auto rebase = [&](std::string_view v) -> std::string_view {
      if (v.data() >= other.text && v.data() < other.text + n) return {text + (v.data() - other.text), v.size()};
      return v;  // empty, or a literal ("truncated")
    };
    event = other.event;
    event.type = rebase(other.event.type);
    event.stage = rebase(other.event.stage);
    event.status = rebase(other.event.status);
    event.reason = rebase(other.event.reason);
    const auto items = other.list_items_.data();
    for (std::size_t i = 0; i < other.event.fields.size(); ++i) {
      const EventField& field = other.event.fields[i];
      fields_[i].key = rebase(field.key);
      fields_[i].value = field.value;
      if (const auto* v = std::get_if<std::string_view>(&field.value)) {
        fields_[i].value = rebase(*v);
      } else if (const auto* list = std::get_if<std::span<const std::string_view>>(&field.value)) {
        const auto first = static_cast<std::size_t>(list->data() - items);
        for (std::size_t k = 0; k < list->size(); ++k) list_items_[first + k] = rebase((*list)[k]);
        fields_[i].value = std::span<const std::string_view>(list_items_.data() + first, list->size());
      }
    }
    event.fields = std::span<const EventField>(fields_.data(), other.event.fields.size());
  }

 private:
  /// Copies into the slot's text, at most `limit` bytes, cut at a character boundary.
  class Arena {
   public:
    Arena(char* begin, std::size_t size) noexcept : at_(begin), end_(begin + size) {}
    std::string_view copy(std::string_view text, std::size_t limit = static_cast<std::size_t>(-1)) noexcept {
      std::size_t n = std::min({text.size(), limit, room()});
      if (n < text.size()) {
        while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // not mid-character
        cut = true;
      }
      if (n == 0) return {};
      std::memcpy(at_, text.data(), n);
      const std::string_view copied(at_, n);
      at_ += n;
      return copied;
    }
    std::size_t room() const noexcept { return static_cast<std::size_t>(end_ - at_); }
    bool cut = false;

   private:
    char* at_;
    char* end_;
  };

  /// Copies every field of `from` as it is, with `limit` bytes at most per free text; the cut flag
  /// of the arena says whether anything was left out or cut.
  bool copy(const Event& from, Arena& arena, std::size_t limit, bool keys_first) noexcept {
    event = from;  // numbers, ids, times; the views are replaced below
    event.type = arena.copy(from.type);
    event.stage = arena.copy(from.stage);
    event.status = arena.copy(from.status);
    std::size_t count = 0;
    std::size_t keys = std::min(from.fields.size(), max_fields);  // the fields whose keys fit
    if (keys_first) {  // the cut path: the keys that fit before any value (the whole path checks as it goes)
      std::size_t key_bytes = 0;
      for (std::size_t i = 0; i < keys; ++i) {
        if (key_bytes + from.fields[i].key.size() > arena.room()) {
          keys = i;
          break;
        }
        key_bytes += from.fields[i].key.size();
      }
    }
    if (keys < from.fields.size()) arena.cut = true;
    if (keys_first) {
      for (std::size_t i = 0; i < keys; ++i) fields_[i].key = arena.copy(from.fields[i].key);
    }
    event.reason = arena.copy(from.reason, limit);
    std::size_t items = 0;
    for (; count < keys; ++count) {
      const EventField& field = from.fields[count];
      EventField& to = fields_[count];
      if (!keys_first) {
        if (field.key.size() > arena.room()) {
          arena.cut = true;
          break;
        }
        to.key = arena.copy(field.key);
      }
      // One branch per EventValue alternative: text is copied, the rest is a value already.
      to.value = std::visit(overloaded{
                                [](std::int64_t v) -> EventValue { return v; },
                                [](double v) -> EventValue { return v; },
                                [](bool v) -> EventValue { return v; },
                                [&](std::string_view v) -> EventValue { return arena.copy(v, limit); },
                                [&](std::span<const std::string_view> list) -> EventValue {
                                  const std::size_t first = items;
                                  std::size_t budget = limit;  // a list's share, in whole items
                                  for (const std::string_view item : list) {
                                    if (items == max_list_items || item.size() > budget ||
                                        item.size() > arena.room()) {
                                      arena.cut = true;
                                      break;
                                    }
                                    list_items_[items++] = arena.copy(item);
                                    budget -= item.size();
                                  }
                                  return std::span<const std::string_view>(list_items_.data() + first,
                                                                           items - first);
                                },
                            },
                            field.value);
    }
    if (arena.cut) fields_[count++] = EventField("truncated", true);
    event.fields = std::span<const EventField>(fields_.data(), count);
    return !arena.cut;
  }

  bool fill_whole(const Event& from) noexcept {
    Arena arena(text, text_bytes);
    return copy(from, arena, static_cast<std::size_t>(-1), false);
  }

  /// The free texts' sizes, and the largest common cap under which they fit in `room` bytes.
  static std::size_t fair_cap(const Event& from, std::size_t fields, std::size_t room) noexcept {
    std::array<std::size_t, 1 + max_fields> sizes{};
    std::size_t n = 0, longest = 0, items = 0;
    auto add = [&](std::size_t size) {
      sizes[n++] = size;
      longest = std::max(longest, size);
    };
    add(from.reason.size());
    for (std::size_t i = 0; i < fields; ++i) {
      if (const auto* v = std::get_if<std::string_view>(&from.fields[i].value)) add(v->size());
      if (const auto* list = std::get_if<std::span<const std::string_view>>(&from.fields[i].value)) {
        std::size_t total = 0;  // a list shares as one text, cut in whole items
        for (const std::string_view item : *list)
          if (items++ < max_list_items) total += item.size();
        add(total);
      }
    }
    auto need = [&](std::size_t cap) {
      std::size_t total = 0;
      for (std::size_t i = 0; i < n; ++i) total += std::min(sizes[i], cap);
      return total;
    };
    std::size_t low = 0, high = longest;  // need(low) fits; find the largest cap that does
    while (low < high) {
      const std::size_t mid = low + (high - low + 1) / 2;
      if (need(mid) <= room) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  void fill_cut(const Event& from) noexcept {
    // The room the free text shares: what type, stage, status and the kept keys leave.
    std::size_t fixed = from.type.size() + from.stage.size() + from.status.size();
    std::size_t fields = 0;
    for (const EventField& field : from.fields) {
      if (fields == max_fields || fixed + field.key.size() > text_bytes) break;
      fixed += field.key.size();
      ++fields;
    }
    const std::size_t room = fixed < text_bytes ? text_bytes - fixed : 0;
    Arena arena(text, text_bytes);
    copy(from, arena, fair_cap(from, fields, room), true);
    if (!arena.cut) {  // only a cap cut by a character boundary can land here; say so anyway
      fields_[event.fields.size()] = EventField("truncated", true);
      event.fields = std::span<const EventField>(fields_.data(), event.fields.size() + 1);
    }
  }

  std::array<EventField, max_fields + 1> fields_{};  // + 1: "truncated"
  std::array<std::string_view, max_list_items> list_items_{};
};

}  // namespace stageflow::detail
