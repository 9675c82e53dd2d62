// SPDX-License-Identifier: BSL-1.0
// The delta applier: RFC 6902 JSON Patch over a validated base document.
//
// The base is never modified: operations work on a thin overlay (patch_overlay.hpp), "test"
// compares with patch_equality.hpp, and the result is written by patch_output.hpp only after every
// operation succeeded, so a failing patch leaves nothing half-applied.
#pragma once

#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/patch_equality.hpp>
#include <stageflow/compression/detail/patch_messages.hpp>
#include <stageflow/compression/detail/patch_output.hpp>
#include <stageflow/compression/detail/patch_overlay.hpp>
#include <stageflow/compression/errors.hpp>
#include <stageflow/json/detail/pointer.hpp>

#include <functional>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::detail::compression {

class Patcher {
 public:
  /// `max_document_bytes`: the bound on the patched document's size (PatchOverlay::size_bound); an operation
  /// that would pass it throws DocumentLimitError before it allocates anything.
  Patcher(const IndexedJson& base, const IndexedJson& delta, std::size_t max_document_bytes)
      : overlay_(base, delta), limit_(max_document_bytes), size_(base.text.size()) {}

  /// Applies every operation of the delta; throws DeltaError at the first that does not fit.
  void apply_all() {
    const std::uint32_t root = IndexedJson::root;
    if (overlay_.delta.type(root) != '[')
      throw stageflow::compression::DeltaError(stageflow::compression::DeltaError::no_operation, {}, {},
                                    "expected a JSON array of operations (RFC 6902), got " +
                                        std::string(kind_name(overlay_.delta.type(root))));
    const std::uint32_t end = overlay_.delta.after(root) - 1;
    std::uint32_t k = 1;  // token of the operation (token 0 is the '[')
    std::size_t index = 0;
    for (std::uint32_t t = root + 1; t < end; t = overlay_.delta.after(t), ++index) {
      apply(read_operation(t, k, index));
      k += overlay_.delta.token_span(t) + 1;
    }
  }

  /// The patched document, minified.
  std::string serialize() {
    std::string out;
    out.reserve(overlay_.base.text.size() + overlay_.delta.text.size());
    write_node(overlay_, out, overlay_.root);
    // A pretty base shrinks a lot. Only a small result is copied to fit: a large one's unused tail
    // was never touched (it costs address space, not memory), while the copy would double the peak.
    if (out.capacity() - out.size() > out.size() / 4 + 4096 && out.size() < (std::size_t{16} << 20))
      out.shrink_to_fit();
    return out;
  }

  /// The patched document, minified, handed to `sink(std::string_view)` in order, in pieces of
  /// about 1 MiB: the whole text never exists at once.
  template <class Sink>
  void serialize_to(Sink& sink) {
    constexpr std::size_t piece = std::size_t{1} << 20;
    std::string out;
    out.reserve(2 * piece);
    const Drain drain = [&](std::string& text) {
      if (text.size() < piece) return;
      sink(std::string_view(text));
      text.clear();
    };
    write_node(overlay_, out, overlay_.root, &drain);
    sink(std::string_view(out));
  }

 private:
  struct Operation {
    std::size_t index = 0;
    std::string_view op;
    std::string_view path;
    bool has_path = false;  // a string "path" member (messages show no path rather than the root "")
    std::optional<std::string_view> from;
    std::optional<NodeRef> value;
    std::string_view pointer = "path";  // which pointer is being followed, for "... does not exist"
  };

  /// The same operation, following its "from" pointer (messages then name "from").
  static Operation following_from(const Operation& operation) {
    Operation copy = operation;
    copy.pointer = "\"from\"";
    return copy;
  }

  [[noreturn]] void fail(const Operation& operation, std::string reason) const {
    throw stageflow::compression::DeltaError(
        operation.index, std::string(operation.op),
        operation.has_path ? std::optional<std::string>(operation.path) : std::nullopt, std::move(reason),
        operation.from ? std::optional<std::string>(*operation.from) : std::nullopt);
  }

  Operation read_operation(std::uint32_t t, std::uint32_t k, std::size_t index) {
    Operation operation;
    operation.index = index;
    if (overlay_.delta.type(t) != '{')
      fail(operation, "an operation must be a JSON object, got " + std::string(kind_name(overlay_.delta.type(t))));
    const std::uint32_t end = overlay_.delta.after(t) - 1;
    bool has_op = false, has_path = false, op_is_string = true, path_is_string = true, from_is_string = true;
    std::uint32_t key_token = k + 1;
    for (std::uint32_t i = t + 1; i < end;) {
      const std::string_view key = overlay_.delta.string(i);
      const std::uint32_t value = i + 1, value_token = key_token + 2, span = overlay_.delta.token_span(value);
      const bool is_string = overlay_.delta.type(value) == '"';
      if (key == "op") {
        has_op = true;
        op_is_string = is_string;
        if (is_string) operation.op = overlay_.delta.string(value);
      } else if (key == "path") {
        has_path = true;
        path_is_string = is_string;
        operation.has_path = is_string;
        if (is_string) operation.path = overlay_.delta.string(value);
      } else if (key == "from") {
        from_is_string = is_string;
        if (is_string) operation.from = overlay_.delta.string(value);
      } else if (key == "value") {
        operation.value = NodeRef{NodeRef::Kind::delta, value, value_token, span, 0};
      }  // other members are ignored (RFC 6902 section 4)
      key_token = value_token + span + 1;
      i = overlay_.delta.after(value);
    }
    if (!has_op) fail(operation, "missing \"op\"");
    if (!op_is_string) fail(operation, "\"op\" must be a string");
    if (!has_path) fail(operation, "missing \"path\"");
    if (!path_is_string) fail(operation, "\"path\" must be a string");
    if (!from_is_string) fail(operation, "\"from\" must be a string");
    return operation;
  }

  // --- paths: resolving them, and saying where they fail -----------------------------------------

  [[noreturn]] void fail_no_member(const Operation& operation, const std::vector<std::string>& tokens,
                                   std::size_t i) const {
    fail(operation, std::string(operation.pointer) + " does not exist: the object at " + location(tokens, i) + " has no member \"" + tokens[i] + "\"");
  }

  [[noreturn]] void fail_index(const Operation& operation, const std::vector<std::string>& tokens, std::size_t i,
                               bool is_index, std::size_t size) const {
    fail(operation, std::string(operation.pointer) + " does not exist: " +
                        (is_index ? "index " + tokens[i] + " is out of range" : "\"" + tokens[i] + "\" is not an index") +
                        " for the array at " + location(tokens, i) + " (" + element_count(size) + ")");
  }

  [[noreturn]] void fail_scalar(const Operation& operation, const std::vector<std::string>& tokens, std::size_t i,
                                char type) const {
    fail(operation, std::string(operation.pointer) + " does not exist: " + location(tokens, i) + " is " + std::string(kind_name(type)) +
                        ", which has no members");
  }

  // The value the first `count` tokens point to; containers on the way become editable.
  NodeRef& resolve(const Operation& operation, const std::vector<std::string>& tokens, std::size_t count) {
    NodeRef* node = &overlay_.root;
    for (std::size_t i = 0; i < count; ++i) {
      overlay_.materialize(*node);
      if (node->kind == NodeRef::Kind::object) {
        ObjectBody& body = overlay_.objects[node->body];
        const std::uint32_t at = body.find(tokens[i]);
        if (at == ObjectBody::npos) fail_no_member(operation, tokens, i);
        node = &body.value_at(at);
      } else if (node->kind == NodeRef::Kind::array) {
        auto& items = overlay_.arrays[node->body].items;
        const auto at = parse_array_index(tokens[i]);
        if (!at || *at >= items.size()) fail_index(operation, tokens, i, at.has_value(), items.size());
        node = &items[*at];
      } else {
        fail_scalar(operation, tokens, i, overlay_.type_of(*node));
      }
    }
    return *node;
  }

  // The same value, read only: raw containers on the way are searched in place, not made editable.
  NodeRef lookup(const Operation& operation, const std::vector<std::string>& tokens) {
    NodeRef node = overlay_.root;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (node.kind == NodeRef::Kind::object) {
        ObjectBody& body = overlay_.objects[node.body];
        const std::uint32_t at = body.find(tokens[i]);
        if (at == ObjectBody::npos) fail_no_member(operation, tokens, i);
        node = body.value_at(at);
        continue;
      }
      if (node.kind == NodeRef::Kind::array) {
        const auto& items = overlay_.arrays[node.body].items;
        const auto at = parse_array_index(tokens[i]);
        if (!at || *at >= items.size()) fail_index(operation, tokens, i, at.has_value(), items.size());
        node = items[*at];
        continue;
      }
      const IndexedJson& doc = overlay_.doc_of(node);
      const char type = doc.type(node.tape);
      const std::uint32_t end = doc.after(node.tape) - 1;
      if (type == '{' || type == '[') overlay_.settle(node);
      std::uint32_t k = node.token + 1;
      if (type == '{') {
        bool found = false;
        NodeRef member = node;
        for (std::uint32_t t = node.tape + 1; t < end;) {
          const std::uint32_t value = t + 1;
          const std::uint32_t span = doc.token_span(value);
          if (doc.string(t) == tokens[i]) {  // keep looking: the last duplicate wins
            member = NodeRef{node.kind, value, k + 2, span, 0};
            found = true;
          }
          k += 2 + span + 1;
          t = doc.after(value);
        }
        if (!found) fail_no_member(operation, tokens, i);
        node = member;
      } else if (type == '[') {
        const auto at = parse_array_index(tokens[i]);
        const std::uint32_t size = doc.size(node.tape);
        if (!at || *at >= size) fail_index(operation, tokens, i, at.has_value(), size);
        std::uint32_t t = node.tape + 1;
        for (std::size_t j = 0; j < *at; ++j) {
          k += doc.token_span(t) + 1;
          t = doc.after(t);
        }
        node = NodeRef{node.kind, t, k, doc.token_span(t), 0};
      } else {
        fail_scalar(operation, tokens, i, type);
      }
    }
    return node;
  }

  // --- the document's size ----------------------------------------------------------------------

  static std::size_t member_bytes(std::string_view key) noexcept { return key.size() + 4; }  // "":,

  [[noreturn]] void fail_limit(const Operation& operation, std::size_t bytes) const {
    throw stageflow::compression::DocumentLimitError(
        operation.index, std::string(operation.op),
        operation.has_path ? std::optional<std::string>(operation.path) : std::nullopt,
        "the patched document would reach " + std::to_string(bytes) + " bytes, over the limit of " +
            std::to_string(limit_) + " bytes (ApplyOptions::max_document_bytes, stageflow-delta --max-document-bytes)",
        operation.from ? std::optional<std::string>(*operation.from) : std::nullopt, limit_);
  }

  static std::size_t saturating_add(std::size_t a, std::size_t b) noexcept { return b > SIZE_MAX - a ? SIZE_MAX : a + b; }

  // The document's size becomes size_ - removed + added: refused when that passes the limit.
  void account(const Operation& operation, std::size_t removed, std::size_t added) {
    const std::size_t kept = size_ - std::min(size_, removed);
    if (added > limit_ || kept > limit_ - added) fail_limit(operation, saturating_add(kept, added));
    size_ = kept + added;
  }

  // --- operations --------------------------------------------------------------------------------

  // `bytes`: overlay_.size_bound(value), or nullopt for a move (the value only changes place).
  void add(const Operation& operation, const std::vector<std::string>& tokens, NodeRef value,
           std::optional<std::size_t> bytes) {
    if (tokens.empty()) {
      if (bytes) account(operation, overlay_.size_bound(overlay_.root), *bytes);
      overlay_.root = value;
      return;
    }
    NodeRef& parent = resolve(operation, tokens, tokens.size() - 1);
    overlay_.materialize(parent);
    const std::string& last = tokens.back();
    if (parent.kind == NodeRef::Kind::object) {
      ObjectBody& body = overlay_.objects[parent.body];
      if (bytes) {
        const std::uint32_t at = body.find(last);
        if (at == ObjectBody::npos)
          account(operation, 0, member_bytes(last) + *bytes);
        else
          account(operation, overlay_.size_bound(body.value_at(at)), *bytes);
      }
      body.set(overlay_.own_key(last), NodeRef::unknown, value);
    } else if (parent.kind == NodeRef::Kind::array) {
      auto& items = overlay_.arrays[parent.body].items;
      if (last == "-") {
        if (bytes) account(operation, 0, *bytes + 1);
        items.push_back(value);
        return;
      }
      const auto at = parse_array_index(last);
      if (!at) fail(operation, "\"" + last + "\" is not an array index (digits, or \"-\" for the end)");
      if (*at > items.size())
        fail(operation, "index " + last + " is out of range for add (the array at " +
                            location(tokens, tokens.size() - 1) + " has " + element_count(items.size()) + ")");
      if (bytes) account(operation, 0, *bytes + 1);
      items.insert(*at, value);
    } else {
      fail(operation, "cannot add a member to " + location(tokens, tokens.size() - 1) + ": it is " +
                          std::string(kind_name(overlay_.type_of(parent))));
    }
  }

  // `counted`: false for a move (the value comes back at its new place).
  NodeRef remove(const Operation& operation, const std::vector<std::string>& tokens, bool counted) {
    if (tokens.empty()) fail(operation, "cannot remove the whole document");
    const std::size_t last = tokens.size() - 1;
    NodeRef& parent = resolve(operation, tokens, last);
    overlay_.materialize(parent);
    if (parent.kind == NodeRef::Kind::object) {
      ObjectBody& body = overlay_.objects[parent.body];
      const std::uint32_t at = body.find(tokens[last]);
      if (at == ObjectBody::npos) fail_no_member(operation, tokens, last);
      const NodeRef removed = body.value_at(at);
      if (counted) account(operation, member_bytes(tokens[last]) + overlay_.size_bound(removed), 0);
      body.erase(tokens[last]);
      return removed;
    }
    if (parent.kind == NodeRef::Kind::array) {
      auto& items = overlay_.arrays[parent.body].items;
      const auto at = parse_array_index(tokens[last]);
      if (!at || *at >= items.size()) fail_index(operation, tokens, last, at.has_value(), items.size());
      const NodeRef removed = items[*at];
      if (counted) account(operation, overlay_.size_bound(removed) + 1, 0);
      items.erase(*at);
      return removed;
    }
    fail_scalar(operation, tokens, last, overlay_.type_of(parent));
  }

  void apply(const Operation& operation) {
    if (const std::string reason = split_pointer(operation.path, path_tokens_); !reason.empty())
      fail(operation, "invalid \"path\": " + reason);
    const std::string_view op = operation.op;
    const auto require_value = [&] {
      if (!operation.value) fail(operation, "missing \"value\"");
      return *operation.value;
    };
    const auto read_from = [&] {
      if (!operation.from) fail(operation, "missing \"from\"");
      if (const std::string reason = split_pointer(*operation.from, from_tokens_); !reason.empty())
        fail(operation, "invalid \"from\": " + reason);
    };
    if (op == "add") {
      const NodeRef value = require_value();
      add(operation, path_tokens_, value, overlay_.size_bound(value));
    } else if (op == "remove") {
      remove(operation, path_tokens_, true);
    } else if (op == "replace") {
      const NodeRef value = require_value();
      NodeRef& target = resolve(operation, path_tokens_, path_tokens_.size());
      account(operation, overlay_.size_bound(target), overlay_.size_bound(value));
      target = value;
    } else if (op == "move") {
      read_from();
      const bool into_itself = from_tokens_.size() < path_tokens_.size() &&
                               std::equal(from_tokens_.begin(), from_tokens_.end(), path_tokens_.begin());
      if (into_itself) fail(operation, "cannot move a value into one of its own members");
      if (from_tokens_ == path_tokens_) {
        (void)lookup(following_from(operation), from_tokens_);  // must exist; moving a value onto itself changes nothing
        return;
      }
      const NodeRef value = remove(following_from(operation), from_tokens_, false);
      add(operation, path_tokens_, value, std::nullopt);
    } else if (op == "copy") {
      read_from();
      // The only operation that can multiply the document (a copy of a copy of ...): its size is
      // checked before the clone is made.
      const NodeRef source = lookup(following_from(operation), from_tokens_);
      const std::size_t bytes = overlay_.size_bound(source);
      if (bytes >= limit_ || size_ > limit_ - bytes - 1) fail_limit(operation, saturating_add(size_, saturating_add(bytes, 1)));
      add(operation, path_tokens_, overlay_.clone(source), bytes);
    } else if (op == "test") {
      const NodeRef expected = require_value();
      const NodeRef actual = lookup(operation, path_tokens_);
      if (!json_equal(overlay_, actual, expected))
        fail(operation, "test failed: the value at the path is not equal to the operation's \"value\"");
    } else {
      fail(operation, "unknown op \"" + std::string(op) + "\" (expected add, remove, replace, move, copy or test)");
    }
  }

  PatchOverlay overlay_;
  std::size_t limit_;
  std::size_t size_;  // an upper bound on the patched document's size, kept by account()
  std::vector<std::string> path_tokens_, from_tokens_;
};

}  // namespace stageflow::detail::compression
