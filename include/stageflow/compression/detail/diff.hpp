// SPDX-License-Identifier: BSL-1.0
// The delta generator: walks two validated documents and writes the RFC 6902 operations that turn
// the base into the current one.
//
// Cost model: each pass over a tape costs a noticeable fraction of a parse, so the walk reads
// every word about once. Equal subtrees are recognised by one flat pass over both tapes
// (equal_span), which also counts the subtree's tokens, so positions in the current text are
// known without a second pass. Large containers are not compared whole before descending (that
// comparison would be repeated by their children); small ones are. Values are written as the
// current document's own text (minified), so numbers keep their text.
//
// Arrays: the common prefix and suffix are trimmed; in the middle, the elements to keep are found
// by a Myers diff over cheap element hashes with a bounded edit distance (array_match.hpp: linear
// work, never quadratic); between kept elements, changed ones are paired by position (deep operations) and
// the surplus removed or added. Kept pairs are still compared exactly, so a hash collision costs
// delta size, never correctness. Any container whose operations would be larger than replacing it
// whole is replaced whole.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stageflow/detail/xxhash.hpp>
#include <stageflow/compression/detail/array_match.hpp>
#include <stageflow/compression/detail/diff_scratch.hpp>
#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/key_index.hpp>
#include <stageflow/compression/detail/minify.hpp>
#include <stageflow/json/detail/pointer.hpp>

namespace stageflow::detail::compression {

class Differ {
 public:
  Differ(const IndexedJson& base, const IndexedJson& current, DiffScratch& scratch, std::string& out)
      : base_(base), current_(current), scratch_(scratch), out_(out), path_(scratch.path) {}

  /// Appends the operations, comma separated, to the output; returns how many.
  std::size_t run() {
    path_.clear();
    const std::uint32_t root = IndexedJson::root;
    if (!same_container_kind(root, root) && equal_span(base_, root, current_, root) != 0) return 0;
    diff_unequal(root, root, 0, 0);
    return operations_;
  }

 private:
  static constexpr std::string_view replace_prefix = R"({"op":"replace","path":")";
  static constexpr std::string_view value_infix = R"(","value":)";
  // Containers with more tape words than this are descended into without comparing them whole
  // first: the comparison would walk what their children's comparisons walk again.
  static constexpr std::uint32_t compare_whole_below = 512;
  // Deeper than this, a changed container is replaced whole: the walk is recursive, and this
  // bounds its stack use (about 100 KB) whatever the nesting (simdjson allows 1024 levels).
  static constexpr std::size_t max_descent = 256;

  bool same_container_kind(std::uint32_t tb, std::uint32_t tc) const noexcept {
    const char kind = base_.type(tb);
    return (kind == '{' || kind == '[') && current_.type(tc) == kind;
  }

  void begin_operation(std::string_view op) {
    if (operations_++ != 0) out_ += ',';
    out_ += R"({"op":")";
    out_ += op;
    out_ += R"(","path":")";
    out_ += path_;
  }

  void emit_remove() {
    begin_operation("remove");
    out_ += "\"}";
  }

  void emit_with_value(std::string_view op, std::uint32_t tc, std::uint32_t kc, std::uint32_t span) {
    begin_operation(op);
    out_ += value_infix;
    append_value(out_, current_, tc, kc, span);
    out_ += '}';
  }

  // The operations for a pair of values not known to be equal (kc: the current value's first
  // token). Returns the current value's token span.
  std::uint32_t diff_unequal(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth) {
    const char kind = base_.type(tb);
    if (depth < max_descent) {
      if (kind == '{' && current_.type(tc) == '{') return diff_object(tb, tc, kc, depth);
      if (kind == '[' && current_.type(tc) == '[') return diff_array(tb, tc, kc, depth);
    }
    const std::uint32_t span = current_.token_span(tc);
    emit_with_value("replace", tc, kc, span);
    return span;
  }

  // A child pair: nothing when equal, else its operations under path_ + the child's token.
  // Returns the current child's token span.
  template <class PushPath>
  std::uint32_t diff_child(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth, PushPath&& push) {
    if (current_.after(tc) - tc < compare_whole_below || !same_container_kind(tb, tc)) {
      if (const std::uint32_t span = equal_span(base_, tb, current_, tc)) return span;
    }
    const std::size_t saved = path_.size();
    push(path_);
    const std::uint32_t span = diff_unequal(tb, tc, kc, depth);
    path_.resize(saved);
    return span;
  }

  static bool has_duplicate_keys(const std::vector<ObjectMember>& members, KeyIndex& index) {
    const std::size_t n = members.size();
    if (n <= 16) {
      for (std::size_t i = 1; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (members[i].key == members[j].key) return true;
      return false;
    }
    index.build(static_cast<std::uint32_t>(n), [&](std::uint32_t i) { return members[i].key; });
    return index.has_duplicates();
  }

  std::uint32_t diff_object(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth) {
    const std::size_t mark = out_.size(), operations_mark = operations_;
    DiffFrame& frame = scratch_.frame(depth);
    collect_members(base_, tb, frame.base_members);
    collect_members(current_, tc, frame.current_members);
    const auto& base = frame.base_members;
    const auto& current = frame.current_members;

    bool aligned = base.size() == current.size();
    for (std::size_t i = 0; aligned && i < base.size(); ++i) aligned = base[i].key == current[i].key;
    if (aligned) aligned = !has_duplicate_keys(base, frame.base_index);

    std::uint32_t k = kc + 1;  // token of the current member's key
    if (aligned) {
      // Same keys in the same order: pair members by position.
      for (std::size_t i = 0; i < current.size(); ++i) {
        const std::uint32_t span = diff_child(base[i].value, current[i].value, k + 2, depth + 1,
                                              [&](std::string& path) { append_pointer_key(path, current[i].key); });
        k += 2 + span + 1;  // key, ':', value, ','
      }
    } else {
      // Match by key; with duplicated keys the last occurrence is the member (as JSON readers see it).
      frame.base_index.build(static_cast<std::uint32_t>(base.size()), [&](std::uint32_t i) { return base[i].key; });
      frame.current_index.build(static_cast<std::uint32_t>(current.size()),
                                [&](std::uint32_t i) { return current[i].key; });
      for (std::uint32_t i = 0; i < base.size(); ++i) {
        if (frame.base_index.find(base[i].key) != i) continue;  // shadowed by a later duplicate
        if (frame.current_index.find(base[i].key) != KeyIndex::npos) continue;
        const std::size_t saved = path_.size();
        append_pointer_key(path_, base[i].key);
        emit_remove();
        path_.resize(saved);
      }
      for (std::uint32_t j = 0; j < current.size(); ++j) {
        std::uint32_t span = 0;
        const auto push = [&](std::string& path) { append_pointer_key(path, current[j].key); };
        const std::uint32_t i =
            frame.current_index.find(current[j].key) == j ? frame.base_index.find(current[j].key) : KeyIndex::npos;
        if (frame.current_index.find(current[j].key) != j) {
          span = current_.token_span(current[j].value);  // shadowed by a later duplicate: no operation
        } else if (i == KeyIndex::npos) {
          span = current_.token_span(current[j].value);
          const std::size_t saved = path_.size();
          push(path_);
          emit_with_value("add", current[j].value, k + 2, span);
          path_.resize(saved);
        } else {
          span = diff_child(base[i].value, current[j].value, k + 2, depth + 1, push);
        }
        k += 2 + span + 1;
      }
    }
    const std::uint32_t span = current.empty() ? 2 : k - kc;  // through the closing '}'
    keep_smaller(mark, operations_mark, tc, kc, span);
    return span;
  }

  std::uint32_t diff_array(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth) {
    const std::size_t mark = out_.size(), operations_mark = operations_;
    DiffFrame& frame = scratch_.frame(depth);
    collect_items(base_, tb, frame.base_items);
    collect_items(current_, tc, frame.current_items);
    const auto& base = frame.base_items;
    const auto& current = frame.current_items;
    const std::size_t nb = base.size(), nc = current.size();
    const std::size_t shorter = nb < nc ? nb : nc;

    std::uint32_t k = kc + 1;  // token of current[prefix]
    std::size_t prefix = 0;
    while (prefix < shorter) {
      const std::uint32_t span = equal_span(base_, base[prefix], current_, current[prefix]);
      if (span == 0) break;
      k += span + 1;
      ++prefix;
    }
    std::size_t suffix = 0;
    std::uint32_t suffix_tokens = 0;  // tokens of the common suffix, each with its ','
    while (suffix < shorter - prefix) {
      const std::uint32_t span = equal_span(base_, base[nb - 1 - suffix], current_, current[nc - 1 - suffix]);
      if (span == 0) break;
      suffix_tokens += span + 1;
      ++suffix;
    }

    // The middle: elements kept in both (a bounded Myers diff over element hashes), and between
    // them gaps of removed, added or changed elements.
    frame.matches.clear();
    const std::size_t base_end = nb - suffix, current_end = nc - suffix;
    if (base_end - prefix > 1 && current_end - prefix > 1) match_elements(base_, current_, frame, prefix, base_end, current_end);

    ArrayEdit edit{frame, k, prefix, prefix, prefix, depth, base_end == nb};
    for (std::size_t m = 0; m < frame.matches.size(); ++m) {
      const auto [base_index, current_index] = frame.matches[m];
      edit_gap(edit, base_index, current_index, nb);
      // A kept element: equal unless two elements hashed alike; diff_child handles both.
      const std::size_t at = edit.position;
      const std::uint32_t span = diff_child(base[base_index], current[current_index], edit.token, depth + 1,
                                            [&](std::string& path) { append_pointer_index(path, at); });
      edit.token += span + 1;
      ++edit.position;
      edit.base_next = base_index + 1;
      edit.current_next = current_index + 1;
    }
    edit_gap(edit, base_end, current_end, nb);
    const std::uint32_t span = nc == 0 ? 2 : edit.token + suffix_tokens - kc;  // through the closing ']'
    keep_smaller(mark, operations_mark, tc, kc, span);
    return span;
  }

  struct ArrayEdit {
    DiffFrame& frame;
    std::uint32_t token;       // first token of current[current_next]
    std::size_t position;      // where current[current_next] goes in the array being patched
    std::size_t base_next;     // next base element not yet handled
    std::size_t current_next;  // next current element not yet handled
    std::size_t depth;
    bool ends_at_array_end;    // no common suffix: the last gap's additions are appends
  };

  // Turns base[base_next, base_stop) into current[current_next, current_stop): pairs by position
  // (deep operations), then removes or adds the surplus.
  void edit_gap(ArrayEdit& edit, std::size_t base_stop, std::size_t current_stop, std::size_t nb) {
    const auto& base = edit.frame.base_items;
    const auto& current = edit.frame.current_items;
    const std::size_t base_count = base_stop - edit.base_next, current_count = current_stop - edit.current_next;
    const std::size_t pairs = base_count < current_count ? base_count : current_count;
    for (std::size_t i = 0; i < pairs; ++i) {
      const std::size_t at = edit.position + i;
      const std::uint32_t span = diff_child(base[edit.base_next + i], current[edit.current_next + i], edit.token,
                                            edit.depth + 1, [&](std::string& path) { append_pointer_index(path, at); });
      edit.token += span + 1;
    }
    const std::size_t saved = path_.size();
    if (base_count > current_count) {
      // Highest index first: each path names the element's position before the removals.
      for (std::size_t i = base_count; i-- > current_count;) {
        append_pointer_index(path_, edit.position + i);
        emit_remove();
        path_.resize(saved);
      }
    } else {
      const bool appending = edit.ends_at_array_end && base_stop == nb;
      for (std::size_t i = base_count; i < current_count; ++i) {
        const std::uint32_t item = current[edit.current_next + i];
        const std::uint32_t span = current_.token_span(item);
        if (appending)
          path_ += "/-";
        else
          append_pointer_index(path_, edit.position + i);
        emit_with_value("add", item, edit.token, span);
        path_.resize(saved);
        edit.token += span + 1;
      }
    }
    edit.position += current_count;
    edit.base_next = base_stop;
    edit.current_next = current_stop;
  }

  // When the operations written since `mark` for the container at tc take more bytes than one
  // "replace" with its whole value, write that replace instead.
  void keep_smaller(std::size_t mark, std::size_t operations_mark, std::uint32_t tc, std::uint32_t kc,
                    std::uint32_t span) {
    if (operations_ == operations_mark) return;
    const std::size_t written = out_.size() - mark;
    const std::size_t fixed = (operations_mark != 0 ? 1 : 0) + replace_prefix.size() + path_.size() +
                              value_infix.size() + 1;
    // The minified value has at least one byte per token.
    if (written <= fixed + span) return;
    std::string& replacement = scratch_.replacement;
    replacement.clear();
    if (operations_mark != 0) replacement += ',';
    replacement += replace_prefix;
    replacement += path_;
    replacement += value_infix;
    append_value(replacement, current_, tc, kc, span);
    replacement += '}';
    if (replacement.size() >= written) return;
    out_.resize(mark);
    out_ += replacement;
    operations_ = operations_mark + 1;
  }

  const IndexedJson& base_;
  const IndexedJson& current_;
  DiffScratch& scratch_;
  std::string& out_;
  std::string& path_;  // JSON Pointer of the current position, JSON-escaped
  std::size_t operations_ = 0;
};

}  // namespace stageflow::detail::compression
