// Writing the patched document: edited containers member by member, and every run of children
// that is still the source's copied as one piece of its text, minified.
#pragma once

#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/minify.hpp>
#include <stageflow/compression/detail/patch_overlay.hpp>
#include <stageflow/json/detail/escape.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace stageflow::detail::compression {

// True when `value` is still child `index` of the raw container behind `positions`.
inline bool untouched(const NodeRef& value, std::uint32_t positions, std::uint32_t index) noexcept {
  return positions != NodeRef::unknown && value.is_raw() && value.origin == positions && value.origin_index == index;
}

// Children first to last of the source container behind `positions`, as written there, minified.
inline void write_run(PatchOverlay& overlay, std::string& out, std::uint32_t positions, const IndexedJson& doc, std::uint32_t first,
               std::uint32_t last) {
  ChildPositions& at = overlay.child_positions[positions];
  const std::uint32_t begin = at.start(first), end = at.start(last + 1) - 2;  // then ',' or the end
  append_minified(out, doc.text.substr(doc.tokens[begin], doc.token_end(end) - doc.tokens[begin]));
}

/// Appends `node` minified: edited parts written member by member, untouched runs copied as text.
inline void write_node(PatchOverlay& overlay, std::string& out, NodeRef node) {
  if (node.is_raw()) {
    overlay.settle(node);
    append_value(out, overlay.doc_of(node), node.tape, node.token, node.span);
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
        write_node(overlay, out, item);
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      while (j < count && untouched(overlay.arrays[node.body].items[j], positions, item.origin_index + (j - i))) ++j;
      write_run(overlay, out, positions, overlay.doc_of(item), item.origin_index, item.origin_index + static_cast<std::uint32_t>(j - i - 1));
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
      write_node(overlay, out, member.value);
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
    write_run(overlay, out, positions, overlay.doc_of(member.value), member.origin, last);
    i = j;
  }
  out += '}';
}

}  // namespace stageflow::detail::compression
