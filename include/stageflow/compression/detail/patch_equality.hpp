// SPDX-License-Identifier: BSL-1.0
// Equality for the "test" operation (RFC 6902 section 4.6) between nodes of the overlay.
#pragma once

#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/key_index.hpp>
#include <stageflow/compression/detail/patch_overlay.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::detail::compression {

// Members of an object node as JSON readers see them (a duplicated key: its last value).
inline void members_of(PatchOverlay& overlay, const NodeRef& node, std::vector<std::pair<std::string_view, NodeRef>>& out) {
  out.clear();
  if (node.kind == NodeRef::Kind::object) {
    for (const PatchMember& member : overlay.objects[node.body].members())
      if (!member.erased) out.emplace_back(member.key, member.value);
    return;
  }
  const IndexedJson& doc = overlay.doc_of(node);
  const std::uint32_t end = doc.after(node.tape) - 1;
  for (std::uint32_t i = node.tape + 1; i < end; i = doc.after(i + 1))
    out.emplace_back(doc.string(i), NodeRef{node.kind, i + 1, 0, 0, 0});
  KeyIndex index;
  index.build(static_cast<std::uint32_t>(out.size()), [&](std::uint32_t i) { return out[i].first; });
  if (!index.has_duplicates()) return;
  std::vector<std::pair<std::string_view, NodeRef>> last;
  for (std::uint32_t i = 0; i < out.size(); ++i)
    if (index.find(out[i].first) == i) last.push_back(out[i]);
  out = std::move(last);
}

inline void items_of(const PatchOverlay& overlay, const NodeRef& node, std::vector<NodeRef>& out) {
  out.clear();
  if (node.kind == NodeRef::Kind::array) {
    out = overlay.arrays[node.body].items.to_vector();
    return;
  }
  const IndexedJson& doc = overlay.doc_of(node);
  const std::uint32_t end = doc.after(node.tape) - 1;
  for (std::uint32_t i = node.tape + 1; i < end; i = doc.after(i)) out.push_back(NodeRef{node.kind, i, 0, 0, 0});
}

inline bool numbers_equal(char type_a, std::uint64_t a, char type_b, std::uint64_t b) noexcept {
  if (type_a == 'd' || type_b == 'd') {
    if (type_a == 'd' && type_b == 'd') {
      double x, y;
      std::memcpy(&x, &a, sizeof x);
      std::memcpy(&y, &b, sizeof y);
      return x == y;
    }
    if (type_a != 'd') return numbers_equal(type_b, b, type_a, a);
    double x;
    std::memcpy(&x, &a, sizeof x);
    if (x != std::trunc(x)) return false;
    if (type_b == 'l') {
      if (x < -9223372036854775808.0 || x >= 9223372036854775808.0) return false;
      return static_cast<std::int64_t>(x) == static_cast<std::int64_t>(b);
    }
    if (x < 0 || x >= 18446744073709551616.0) return false;
    return static_cast<std::uint64_t>(x) == b;
  }
  if (type_a == type_b) return a == b;
  // int64 and uint64: simdjson uses uint64 only above INT64_MAX, but compare by value anyway.
  const std::uint64_t signed_value = type_a == 'l' ? a : b, unsigned_value = type_a == 'l' ? b : a;
  return static_cast<std::int64_t>(signed_value) >= 0 && signed_value == unsigned_value;
}

/// RFC 6902 equality of two nodes (for "test"): numbers by value and kind, strings by content,
/// objects regardless of member order.
inline bool json_equal(PatchOverlay& overlay, const NodeRef& a, const NodeRef& b) {
  if (a.is_raw() && b.is_raw() && equal_span(overlay.doc_of(a), a.tape, overlay.doc_of(b), b.tape) != 0) return true;
  const char type_a = overlay.type_of(a), type_b = overlay.type_of(b);
  const auto is_number = [](char type) { return type == 'l' || type == 'u' || type == 'd'; };
  if (is_number(type_a) && is_number(type_b)) {
    const IndexedJson& doc_a = overlay.doc_of(a);
    const IndexedJson& doc_b = overlay.doc_of(b);
    return numbers_equal(type_a, doc_a.tape[a.tape + 1], type_b, doc_b.tape[b.tape + 1]);
  }
  if (type_a != type_b) return false;
  switch (type_a) {
    case '"': return overlay.doc_of(a).string(a.tape) == overlay.doc_of(b).string(b.tape);
    case '[': {
      std::vector<NodeRef> items_a, items_b;
      items_of(overlay, a, items_a);
      items_of(overlay, b, items_b);
      if (items_a.size() != items_b.size()) return false;
      for (std::size_t i = 0; i < items_a.size(); ++i)
        if (!json_equal(overlay, items_a[i], items_b[i])) return false;
      return true;
    }
    case '{': {
      std::vector<std::pair<std::string_view, NodeRef>> members_a, members_b;
      members_of(overlay, a, members_a);
      members_of(overlay, b, members_b);
      if (members_a.size() != members_b.size()) return false;
      KeyIndex index;
      index.build(static_cast<std::uint32_t>(members_b.size()), [&](std::uint32_t i) { return members_b[i].first; });
      for (const auto& [key, value] : members_a) {
        const std::uint32_t at = index.find(key);
        if (at == KeyIndex::npos || !json_equal(overlay, value, members_b[at].second)) return false;
      }
      return true;
    }
    default: return true;  // true, false, null
  }
}

}  // namespace stageflow::detail::compression
