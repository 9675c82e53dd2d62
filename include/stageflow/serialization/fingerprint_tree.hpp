// SPDX-License-Identifier: BSL-1.0
// Which fields changed: a fingerprint that keeps one hash per value, and the comparison of two.
//
//   FingerprintTree before, after;            // keep them: their buffers are reused
//   before.record(snapshot);                  // == fingerprint(snapshot), plus one node per value
//   run_stage(snapshot);
//   after.record(snapshot);
//   if (after.root_hash() != before.root_hash()) {
//     FieldDiff diff = changed_fields(before, after);   // only now are paths built
//     diff.to_string();                                 // "messages[2].content, metadata.user.tier"
//   }
//
// The tree is flat: one 24-byte node per value in depth-first order (hash, extent of its subtree,
// how its parent names it), plus the text of member names and map keys. Recording costs a little
// more than a bare fingerprint (see docs/benchmarks.md) and allocates nothing once the buffers
// have grown to the value's size. Comparing two trees skips every subtree whose hash is unchanged,
// so it costs in proportion to what changed, not to the value's size.
//
// Path syntax: members and map keys as `.name` (no dot at the start of a path); a key that is not
// an identifier ([A-Za-z_][A-Za-z0-9_]*) as `["key"]`, quoted and escaped as a JSON string; elements
// of sequences as `[index]`; the whole value as the empty path. Integer, bool and UUID keys are
// named by their text, like in JSON: `scores["42"]`. Reported fields are the deepest that changed:
// a changed scalar, an element or key that was added or removed, or a value that changed kind
// (null to object, another variant alternative). Sequences are compared by position; a hash set
// is reported as a whole (its elements have no stable position or name).
#pragma once

#include <stageflow/serialization/detail/fingerprint_hasher.hpp>
#include <stageflow/json/detail/escape.hpp>
#include <stageflow/serialization/fingerprint.hpp>  // record() equals fingerprint(); most users want both
#include <stageflow/serialization/walk.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stageflow::serialization {

/// A value recorded with one hash per field; compare two with changed_fields().
class FingerprintTree {
 public:
  /// Records `value` (replacing what was recorded) and returns its fingerprint, equal to fingerprint(value).
  template <class T>
  std::uint64_t record(const T& value) {
    buffers_.clear();
    try {
      detail::FingerprintHasher<true> hasher(buffers_);
      walk(value, hasher);
    } catch (...) {
      buffers_.clear();  // never leave a half-recorded tree that could be compared
      throw;
    }
    return root_hash();
  }

  /// The recorded value's fingerprint; 0 when nothing is recorded.
  std::uint64_t root_hash() const noexcept { return buffers_.nodes.empty() ? 0 : buffers_.nodes.front().hash; }
  /// Number of values recorded (one per scalar, struct, sequence, set and map).
  std::size_t size() const noexcept { return buffers_.nodes.size(); }
  bool empty() const noexcept { return buffers_.nodes.empty(); }
  void clear() noexcept { buffers_.clear(); }

  const std::vector<detail::FingerprintNode>& nodes() const noexcept { return buffers_.nodes; }
  std::string_view label_text(const detail::FingerprintNode& node) const noexcept {
    return std::string_view(buffers_.labels).substr(node.label_low, node.label_high);
  }

 private:
  detail::FingerprintBuffers buffers_;
};

/// One changed field.
struct FieldChange {
  enum class Kind : std::uint8_t {
    modified,  // present before and after, with another value
    added,     // an element or map key that was not there before
    removed,   // an element or map key that is gone
  };
  std::string path;
  Kind kind = Kind::modified;

  friend bool operator==(const FieldChange&, const FieldChange&) = default;
};

struct FieldDiffOptions {
  /// Stop after this many changes (the rest is summed up as `truncated`).
  std::size_t max_changes = 16;
};

/// The fields that differ between two recorded trees, deepest first in walk order.
struct FieldDiff {
  std::vector<FieldChange> changes;
  bool truncated = false;  // there were more than max_changes

  bool empty() const noexcept { return changes.empty(); }

  /// "messages[2].content, metadata.plan (added), tags (removed) and more"; "(whole value)" for the empty path.
  std::string to_string() const {
    std::string text;
    for (const auto& change : changes) {
      if (!text.empty()) text += ", ";
      text += change.path.empty() ? std::string("(whole value)") : change.path;
      if (change.kind == FieldChange::Kind::added) text += " (added)";
      if (change.kind == FieldChange::Kind::removed) text += " (removed)";
    }
    if (truncated) text += " and more";
    return text;
  }
};

}  // namespace stageflow::serialization

namespace stageflow::detail {

using serialization::FieldChange;
using serialization::FieldDiff;
using serialization::FieldDiffOptions;
using serialization::FingerprintTree;

/// Walks two recorded trees side by side, descending only where hashes differ.
class TreeComparison {
 public:
  TreeComparison(const FingerprintTree& before, const FingerprintTree& after, FieldDiffOptions options)
      : before_(before), after_(after), max_changes_(options.max_changes) {}

  FieldDiff run() {
    if (before_.empty() || after_.empty()) {
      if (before_.root_hash() != after_.root_hash()) report(FieldChange::Kind::modified);
    } else {
      compare(0, 0);
    }
    return std::move(diff_);
  }

 private:
  using Node = FingerprintNode;
  using Kind = FingerprintNodeKind;

  const Node& before(std::uint32_t i) const noexcept { return before_.nodes()[i]; }
  const Node& after(std::uint32_t i) const noexcept { return after_.nodes()[i]; }

  bool full() const noexcept { return diff_.truncated; }

  void report(FieldChange::Kind kind) {
    if (diff_.changes.size() == max_changes_) {
      diff_.truncated = true;
      return;
    }
    diff_.changes.push_back({path_, kind});
  }

  void compare(std::uint32_t b, std::uint32_t a) {
    if (full() || before(b).hash == after(a).hash) return;
    const Node& old_node = before(b);
    const Node& new_node = after(a);
    if (old_node.kind != new_node.kind || old_node.variant != new_node.variant || old_node.kind == Kind::scalar ||
        old_node.kind == Kind::set) {
      report(FieldChange::Kind::modified);
      return;
    }
    const std::size_t reported = diff_.changes.size();
    if (old_node.kind == Kind::object)
      compare_by_key(b, a);
    else
      compare_by_position(b, a, old_node.kind == Kind::structure);
    // The hash differs but no part does (a struct of another shape under a variant): name the whole.
    if (diff_.changes.size() == reported && !full()) report(FieldChange::Kind::modified);
  }

  void compare_by_position(std::uint32_t b, std::uint32_t a, bool is_struct) {
    std::uint32_t bc = b + 1;
    std::uint32_t ac = a + 1;
    const std::uint32_t b_end = before(b).end;
    const std::uint32_t a_end = after(a).end;
    if (is_struct && count_children(before_, b) != count_children(after_, a)) return;  // reported as a whole
    for (; bc < b_end && ac < a_end && !full(); bc = before(bc).end, ac = after(ac).end) {
      const std::size_t mark = push_label(after_, after(ac));
      compare(bc, ac);
      path_.resize(mark);
    }
    for (; ac < a_end && !full(); ac = after(ac).end) {
      const std::size_t mark = push_label(after_, after(ac));
      report(FieldChange::Kind::added);
      path_.resize(mark);
    }
    for (; bc < b_end && !full(); bc = before(bc).end) {
      const std::size_t mark = push_label(before_, before(bc));
      report(FieldChange::Kind::removed);
      path_.resize(mark);
    }
  }

  struct Keyed {
    std::string_view key;
    std::uint32_t node;
  };

  static std::vector<Keyed> children_by_key(const FingerprintTree& tree, std::uint32_t parent) {
    std::vector<Keyed> children;
    for (std::uint32_t c = parent + 1; c < tree.nodes()[parent].end; c = tree.nodes()[c].end)
      children.push_back({tree.label_text(tree.nodes()[c]), c});
    // Ordered maps come sorted by key text; hash maps in bucket order, which may differ before and after.
    auto by_key = [](const Keyed& x, const Keyed& y) { return x.key < y.key; };
    if (!std::is_sorted(children.begin(), children.end(), by_key)) std::sort(children.begin(), children.end(), by_key);
    return children;
  }

  void compare_by_key(std::uint32_t b, std::uint32_t a) {
    const auto old_children = children_by_key(before_, b);
    const auto new_children = children_by_key(after_, a);
    auto o = old_children.begin();
    auto n = new_children.begin();
    // Merge the two sorted lists; report in key order.
    while ((o != old_children.end() || n != new_children.end()) && !full()) {
      if (n == new_children.end() || (o != old_children.end() && o->key < n->key)) {
        const std::size_t mark = push_key(o->key);
        report(FieldChange::Kind::removed);
        path_.resize(mark);
        ++o;
      } else if (o == old_children.end() || n->key < o->key) {
        const std::size_t mark = push_key(n->key);
        report(FieldChange::Kind::added);
        path_.resize(mark);
        ++n;
      } else {
        const std::size_t mark = push_key(n->key);
        compare(o->node, n->node);
        path_.resize(mark);
        ++o;
        ++n;
      }
    }
  }

  static std::size_t count_children(const FingerprintTree& tree, std::uint32_t parent) {
    std::size_t count = 0;
    for (std::uint32_t c = parent + 1; c < tree.nodes()[parent].end; c = tree.nodes()[c].end) ++count;
    return count;
  }

  std::size_t push_label(const FingerprintTree& tree, const Node& node) {
    if (node.label == FingerprintLabel::index) {
      const std::size_t mark = path_.size();
      const std::uint64_t index = (static_cast<std::uint64_t>(node.label_high) << 32) | node.label_low;
      path_ += '[';
      path_ += std::to_string(index);
      path_ += ']';
      return mark;
    }
    return push_key(tree.label_text(node));
  }

  static bool is_identifier(std::string_view text) noexcept {
    if (text.empty()) return false;
    auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (!letter(text.front())) return false;
    return std::all_of(text.begin(), text.end(), [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
  }

  std::size_t push_key(std::string_view key) {
    const std::size_t mark = path_.size();
    if (is_identifier(key)) {
      if (!path_.empty()) path_ += '.';
      path_ += key;
    } else {
      path_ += "[\"";
      const std::size_t body = path_.size();
      path_.resize(body + json_string_size(key) - 2);
      write_json_string_body(path_.data() + body, key);
      path_ += "\"]";
    }
    return mark;
  }

  const FingerprintTree& before_;
  const FingerprintTree& after_;
  std::size_t max_changes_;
  std::string path_;
  FieldDiff diff_;
};

}  // namespace stageflow::detail

namespace stageflow::serialization {

/// The deepest fields that differ between `before` and `after`, two recordings of the same type.
/// Costs nothing for unchanged subtrees; empty when the root hashes are equal.
inline FieldDiff changed_fields(const FingerprintTree& before, const FingerprintTree& after,
                                FieldDiffOptions options = {}) {
  return detail::TreeComparison(before, after, options).run();
}

}  // namespace stageflow::serialization
