// SPDX-License-Identifier: BSL-1.0
// Writing the patched document: edited containers member by member, and every run of children
// that is still the source's copied as one piece of its text, minified.
#pragma once

#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/minify.hpp>
#include <stageflow/compression/detail/patch_overlay.hpp>
#include <stageflow/json/detail/escape.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace stageflow::detail::compression {

/// While a document is streamed (Patcher::serialize_to), called with the text so far after each
/// piece: it hands full pieces on and empties the string.
using Drain = std::function<void(std::string&)>;

// append_minified_tokens, handing full pieces to `drain` when the document is streamed.
inline void append_minified_drained(std::string& out, const IndexedJson& doc, std::uint32_t first, std::uint32_t last,
                                    const Drain* drain) {
  for_each_minified_piece(doc, first, last, [&](std::string_view piece) {
    out.append(piece);
    if (drain) (*drain)(out);
  });
}

// True when `value` is still child `index` of the raw container behind `positions`.
inline bool untouched(const NodeRef& value, std::uint32_t positions, std::uint32_t index) noexcept {
  return positions != NodeRef::unknown && value.is_raw() && value.origin == positions && value.origin_index == index;
}

// Children first to last of the source container behind `positions`, as written there, minified.
inline void write_run(PatchOverlay& overlay, std::string& out, std::uint32_t positions, const IndexedJson& doc, std::uint32_t first,
               std::uint32_t last, const Drain* drain) {
  ChildPositions& at = overlay.child_positions[positions];
  const std::uint32_t begin = at.start(first), end = at.start(last + 1) - 2;  // then ',' or the end
  append_minified_drained(out, doc, begin, end, drain);
}

/// Appends `node` minified: edited parts written member by member, untouched runs copied as text.
inline void write_node(PatchOverlay& overlay, std::string& out, NodeRef node, const Drain* drain = nullptr) {
  if (node.is_raw()) {
    overlay.settle(node);
    const IndexedJson& doc = overlay.doc_of(node);
    if (doc.is_container(node.tape))
      append_minified_drained(out, doc, node.token, node.token + node.span - 1, drain);
    else
      append_value(out, doc, node.tape, node.token, node.span);
    return;
  }
  // Children that are still the source's, one after the other, are copied as one piece of text.
  if (node.kind == NodeRef::Kind::array) {
    const std::uint32_t positions = overlay.arrays[node.body].positions;
    const std::size_t count = overlay.arrays[node.body].items.size();
    out += '[';
    for (std::size_t i = 0; i < count;) {
      if (i) out += ',';
      const NodeRef item = overlay.arrays[node.body].items[i];
      if (!untouched(item, positions, item.origin_index)) {
        write_node(overlay, out, item, drain);
        if (drain) (*drain)(out);  // many small edited values add up too
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      while (j < count && untouched(overlay.arrays[node.body].items[j], positions, item.origin_index + (j - i))) ++j;
      write_run(overlay, out, positions, overlay.doc_of(item), item.origin_index,
                item.origin_index + static_cast<std::uint32_t>(j - i - 1), drain);
      i = j;
    }
    out += ']';
    return;
  }
  const std::uint32_t positions = overlay.objects[node.body].positions;
  const std::size_t count = overlay.objects[node.body].members().size();
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < count;) {
    const PatchMember member = overlay.objects[node.body].members()[i];
    if (member.erased) {
      ++i;
      continue;
    }
    if (!first) out += ',';
    first = false;
    if (member.origin == NodeRef::unknown || !untouched(member.value, positions, member.origin)) {
      append_json_string(out, member.key);
      out += ':';
      write_node(overlay, out, member.value, drain);
      if (drain) (*drain)(out);
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    std::uint32_t last = member.origin;
    while (j < count) {
      const PatchMember& next = overlay.objects[node.body].members()[j];
      if (next.erased || next.origin != last + 1 || !untouched(next.value, positions, next.origin)) break;
      last = next.origin;
      ++j;
    }
    write_run(overlay, out, positions, overlay.doc_of(member.value), member.origin, last, drain);
    i = j;
  }
  out += '}';
}

}  // namespace stageflow::detail::compression
