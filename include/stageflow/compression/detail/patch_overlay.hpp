// SPDX-License-Identifier: BSL-1.0
// The editable view apply_delta patches: the base document is never modified. A container is
// copied into an editable body ("materialized") only when an operation's path goes through it;
// everything else stays a reference to its source text (a raw node) and is written out as that
// text, minified (patch_output.hpp).
#pragma once

#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/node_array.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stageflow::detail::compression {

/// A value in the overlay: a raw value of the base or delta document, or an editable body.
struct NodeRef {
  enum class Kind : std::uint8_t { base, delta, object, array };
  static constexpr std::uint32_t unknown = UINT32_MAX;
  Kind kind = Kind::base;
  std::uint32_t tape = 0;   // raw: tape index in its document
  std::uint32_t token = 0;  // raw: index of its first token, or `unknown` until its text is needed
  std::uint32_t span = 0;   // raw: its number of tokens (when token is known)
  std::uint32_t body = 0;   // object / array: index of its body
  // A raw child of an editable container: that container's ChildPositions and the child's index
  // there, from which token and span are found when needed.
  std::uint32_t origin = unknown;
  std::uint32_t origin_index = 0;

  bool is_raw() const noexcept { return kind == Kind::base || kind == Kind::delta; }
};

/// Where the children of one raw container start in its token list, computed only when asked,
/// by counting from the nearest known position, forward or backward, whichever is fewer children
/// away. A small edit deep in a large document so costs a fraction of a pass, not a full one.
class ChildPositions {
 public:
  ChildPositions(const IndexedJson& doc, std::uint32_t tape, std::uint32_t token, std::uint32_t span)
      : doc_(&doc), object_(doc.type(tape) == '{') {
    const std::uint32_t end = doc.after(tape) - 1;  // the closing word
    for (std::uint32_t i = tape + 1; i < end; i = doc.after(object_ ? i + 1 : i)) units_.push_back(i);
    units_.push_back(end);
    starts_.assign(units_.size(), NodeRef::unknown);
    starts_.front() = token + 1;
    starts_.back() = token + span;  // one past the closing token, as if a child started there
  }

  std::uint32_t count() const noexcept { return static_cast<std::uint32_t>(units_.size() - 1); }
  std::uint32_t key_tape(std::uint32_t i) const noexcept { return units_[i]; }
  std::uint32_t value_tape(std::uint32_t i) const noexcept { return object_ ? units_[i] + 1 : units_[i]; }
  std::uint32_t value_token(std::uint32_t i) { return start(i) + (object_ ? 2 : 0); }
  std::uint32_t value_span(std::uint32_t i) { return start(i + 1) - 1 - value_token(i); }  // then ',' or the end

  /// First token of child i (an object member's key); i == count() is one past the closing token.
  std::uint32_t start(std::uint32_t i) {
    if (starts_[i] != NodeRef::unknown) return starts_[i];
    // The nearest known position, looked for on both sides at once: the search costs no more than
    // the count that follows it (one side only would cross a long unknown stretch on every call).
    std::uint32_t before = i, after = i;
    for (;;) {
      if (starts_[before] != NodeRef::unknown) {
        for (std::uint32_t j = before; j < i; ++j) starts_[j + 1] = starts_[j] + unit_tokens(j) + 1;
        return starts_[i];
      }
      if (starts_[after] != NodeRef::unknown) {
        for (std::uint32_t j = after; j > i; --j) starts_[j - 1] = starts_[j] - unit_tokens(j - 1) - 1;
        return starts_[i];
      }
      --before;  // starts_.front() and starts_.back() are known: neither passes the end
      ++after;
    }
  }

 private:
  // Tokens of child j: an element, or a key, ':' and a value (the ',' after it not included).
  std::uint32_t unit_tokens(std::uint32_t j) const noexcept {
    return (object_ ? 2 : 0) + doc_->token_span(value_tape(j));
  }

  const IndexedJson* doc_;
  bool object_;
  std::vector<std::uint32_t> units_;   // tape index of each child (a member's key), then the closing word
  std::vector<std::uint32_t> starts_;  // first token of each child, `unknown` until computed
};

struct PatchMember {
  std::string_view key;                   // decoded
  std::uint32_t origin = NodeRef::unknown;  // its index in the source container; unknown if added
  NodeRef value;
  bool erased = false;
};

/// An editable object. Members keep their order; removal leaves a tombstone. A key appears once
/// (a duplicated key in the source collapses to its last value, at its first position).
class ObjectBody {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;

  std::uint32_t find(std::string_view key) {
    if (index_.empty() && members_.size() > linear_limit) {
      for (std::uint32_t i = 0; i < members_.size(); ++i)
        if (!members_[i].erased) index_.emplace(members_[i].key, i);
    }
    if (!index_.empty()) {
      const auto found = index_.find(key);
      return found == index_.end() ? npos : found->second;
    }
    for (std::uint32_t i = 0; i < members_.size(); ++i)
      if (!members_[i].erased && members_[i].key == key) return i;
    return npos;
  }

  /// Adds the member, or gives an existing one this value.
  void set(std::string_view key, std::uint32_t origin, NodeRef value) {
    if (const std::uint32_t at = find(key); at != npos) {
      members_[at].value = value;
      return;
    }
    members_.push_back({key, origin, value, false});
    ++live_;
    if (!index_.empty()) index_.emplace(key, static_cast<std::uint32_t>(members_.size() - 1));
  }

  bool erase(std::string_view key) {
    const std::uint32_t at = find(key);
    if (at == npos) return false;
    members_[at].erased = true;
    --live_;
    if (!index_.empty()) index_.erase(key);
    return true;
  }

  NodeRef& value_at(std::uint32_t at) { return members_[at].value; }
  const std::vector<PatchMember>& members() const noexcept { return members_; }
  std::size_t size() const noexcept { return live_; }

  /// The ChildPositions of the raw object it was made from, or NodeRef::unknown.
  std::uint32_t positions = NodeRef::unknown;

 private:
  static constexpr std::size_t linear_limit = 16;
  std::vector<PatchMember> members_;
  std::unordered_map<std::string_view, std::uint32_t> index_;
  std::size_t live_ = 0;
};

struct ArrayBody {
  GapArray<NodeRef> items;
  std::uint32_t positions = NodeRef::unknown;  // of the raw array it was made from
};

/// The patched document: its root, the editable bodies and the source documents raw nodes refer to.
struct PatchOverlay {
  PatchOverlay(const IndexedJson& base_document, const IndexedJson& delta_document)
      : base(base_document), delta(delta_document), root{NodeRef::Kind::base, IndexedJson::root, 0, base.token_count, 0} {}

  const IndexedJson& doc_of(const NodeRef& node) const noexcept {
    return node.kind == NodeRef::Kind::delta ? delta : base;
  }

  char type_of(const NodeRef& node) const noexcept {
    switch (node.kind) {
      case NodeRef::Kind::object: return '{';
      case NodeRef::Kind::array: return '[';
      default: return doc_of(node).type(node.tape);
    }
  }

  // Gives a raw child of an editable container its token and span.
  void settle(NodeRef& node) {
    if (!node.is_raw() || node.token != NodeRef::unknown) return;
    ChildPositions& positions = child_positions[node.origin];
    node.token = positions.value_token(node.origin_index);
    node.span = positions.value_span(node.origin_index);
  }

  void materialize(NodeRef& node) {
    if (!node.is_raw()) return;
    const IndexedJson& doc = doc_of(node);
    const char type = doc.type(node.tape);
    if (type != '{' && type != '[') return;
    settle(node);
    const auto positions_index = static_cast<std::uint32_t>(child_positions.size());
    const ChildPositions& positions = child_positions.emplace_back(doc, node.tape, node.token, node.span);
    const std::uint32_t count = positions.count();
    const auto child = [&](std::uint32_t i) {
      NodeRef value{node.kind, positions.value_tape(i), NodeRef::unknown, 0, 0};
      value.origin = positions_index;
      value.origin_index = i;
      return value;
    };
    if (type == '{') {
      ObjectBody body;
      body.positions = positions_index;
      for (std::uint32_t i = 0; i < count; ++i) body.set(doc.string(positions.key_tape(i)), i, child(i));
      objects.push_back(std::move(body));
      node = NodeRef{NodeRef::Kind::object, 0, 0, 0, static_cast<std::uint32_t>(objects.size() - 1)};
    } else {
      ArrayBody body;
      body.positions = positions_index;
      body.items.reserve(count);
      for (std::uint32_t i = 0; i < count; ++i) body.items.push_back(child(i));
      arrays.push_back(std::move(body));
      node = NodeRef{NodeRef::Kind::array, 0, 0, 0, static_cast<std::uint32_t>(arrays.size() - 1)};
    }
  }

  // An upper bound on the bytes `node` takes once written: a raw value counts its source text
  // (whitespace included), an edited container its members. O(1) for a raw value, a walk of the
  // edited part otherwise (a part that an operation built, and so paid for once already).
  std::size_t size_bound(NodeRef node) {
    if (node.is_raw()) {
      settle(node);
      return doc_of(node).value_text(node.token, node.span).size();
    }
    std::size_t bytes = 2;  // the brackets
    if (node.kind == NodeRef::Kind::array) {
      const auto& items = arrays[node.body].items;
      for (std::size_t i = 0; i < items.size(); ++i) bytes += size_bound(items[i]) + 1;
      return bytes;
    }
    for (const PatchMember& member : objects[node.body].members())
      if (!member.erased) bytes += (member.key.size() + 4) + size_bound(member.value);
    return bytes;
  }

  std::string_view own_key(const std::string& key) { return owned_keys.emplace_back(key); }

  NodeRef clone(const NodeRef& node) {
    if (node.kind == NodeRef::Kind::object) {
      const std::vector<PatchMember> members = objects[node.body].members();  // copy: cloning grows objects
      ObjectBody body;
      body.positions = objects[node.body].positions;
      for (const PatchMember& member : members)
        if (!member.erased) body.set(member.key, member.origin, clone(member.value));
      objects.push_back(std::move(body));
      return {NodeRef::Kind::object, 0, 0, 0, static_cast<std::uint32_t>(objects.size() - 1)};
    }
    if (node.kind == NodeRef::Kind::array) {
      const std::vector<NodeRef> items = arrays[node.body].items.to_vector();
      ArrayBody body;
      body.positions = arrays[node.body].positions;
      body.items.reserve(items.size());
      for (const NodeRef& item : items) body.items.push_back(clone(item));
      arrays.push_back(std::move(body));
      return {NodeRef::Kind::array, 0, 0, 0, static_cast<std::uint32_t>(arrays.size() - 1)};
    }
    return node;  // raw values are immutable references
  }

  const IndexedJson& base;
  const IndexedJson& delta;
  NodeRef root;
  // Deques: adding a body never moves the others, so references into them stay valid.
  std::deque<ObjectBody> objects;
  std::deque<ArrayBody> arrays;
  std::deque<std::string> owned_keys;  // keys that come from paths; a deque keeps their views valid
  std::deque<ChildPositions> child_positions;  // of the raw containers made editable
};

}  // namespace stageflow::detail::compression
