// The delta applier: RFC 6902 JSON Patch over a validated base document.
//
// The base is never modified. Operations work on a thin overlay: a container is copied into an
// editable body ("materialized") only when an operation's path goes through it; everything else
// stays a reference to its source text and is written out as that text, minified. The result is
// produced only after every operation succeeded, so a failing patch leaves nothing half-applied.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <stageflow/compression/errors.hpp>
#include <stageflow/detail/compression/indexed_json.hpp>
#include <stageflow/detail/compression/json_pointer.hpp>
#include <stageflow/detail/compression/json_text.hpp>
#include <stageflow/detail/compression/key_index.hpp>

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
/// by counting from the nearest known position, forward or backward, whichever walks fewer tape
/// words. A small edit deep in a large document so costs a fraction of a pass, not a full one.
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
    std::uint32_t before = i, after = i;
    while (starts_[before] == NodeRef::unknown) --before;
    while (starts_[after] == NodeRef::unknown) ++after;
    if (units_[i] - units_[before] <= units_[after] - units_[i]) {
      for (std::uint32_t j = before; j < i; ++j) starts_[j + 1] = starts_[j] + unit_tokens(j) + 1;
    } else {
      for (std::uint32_t j = after; j > i; --j) starts_[j - 1] = starts_[j] - unit_tokens(j - 1) - 1;
    }
    return starts_[i];
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
  std::vector<NodeRef> items;
  std::uint32_t positions = NodeRef::unknown;  // of the raw array it was made from
};

class Patcher {
 public:
  Patcher(const IndexedJson& base, const IndexedJson& delta)
      : base_(base), delta_(delta), root_{NodeRef::Kind::base, IndexedJson::root, 0, base.token_count, 0} {}

  /// Applies every operation of the delta; throws DeltaError at the first that does not fit.
  void apply_all() {
    const std::uint32_t root = IndexedJson::root;
    if (delta_.type(root) != '[')
      throw stageflow::compression::DeltaError(stageflow::compression::DeltaError::no_operation, {}, {},
                                    "expected a JSON array of operations (RFC 6902), got " +
                                        std::string(kind_name(delta_.type(root))));
    const std::uint32_t end = delta_.after(root) - 1;
    std::uint32_t k = 1;  // token of the operation (token 0 is the '[')
    std::size_t index = 0;
    for (std::uint32_t t = root + 1; t < end; t = delta_.after(t), ++index) {
      apply(read_operation(t, k, index));
      k += delta_.token_span(t) + 1;
    }
  }

  /// The patched document, minified.
  std::string serialize() {
    std::string out;
    out.reserve(base_.text.size() + delta_.text.size());
    write(out, root_);
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
    drain_ = [&](std::string& text) {
      if (text.size() < piece) return;
      sink(std::string_view(text));
      text.clear();
    };
    write(out, root_);
    drain_ = nullptr;
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

  static std::string_view kind_name(char type) noexcept {
    switch (type) {
      case '{': return "an object";
      case '[': return "an array";
      case '"': return "a string";
      case 'l':
      case 'u':
      case 'd': return "a number";
      case 't':
      case 'f': return "a boolean";
      default: return "null";
    }
  }

  const IndexedJson& doc_of(const NodeRef& node) const noexcept {
    return node.kind == NodeRef::Kind::delta ? delta_ : base_;
  }

  char type_of(const NodeRef& node) const noexcept {
    switch (node.kind) {
      case NodeRef::Kind::object: return '{';
      case NodeRef::Kind::array: return '[';
      default: return doc_of(node).type(node.tape);
    }
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
    if (delta_.type(t) != '{')
      fail(operation, "an operation must be a JSON object, got " + std::string(kind_name(delta_.type(t))));
    const std::uint32_t end = delta_.after(t) - 1;
    bool has_op = false, has_path = false, op_is_string = true, path_is_string = true, from_is_string = true;
    std::uint32_t key_token = k + 1;
    for (std::uint32_t i = t + 1; i < end;) {
      const std::string_view key = delta_.string(i);
      const std::uint32_t value = i + 1, value_token = key_token + 2, span = delta_.token_span(value);
      const bool is_string = delta_.type(value) == '"';
      if (key == "op") {
        has_op = true;
        op_is_string = is_string;
        if (is_string) operation.op = delta_.string(value);
      } else if (key == "path") {
        has_path = true;
        path_is_string = is_string;
        operation.has_path = is_string;
        if (is_string) operation.path = delta_.string(value);
      } else if (key == "from") {
        from_is_string = is_string;
        if (is_string) operation.from = delta_.string(value);
      } else if (key == "value") {
        operation.value = NodeRef{NodeRef::Kind::delta, value, value_token, span, 0};
      }  // other members are ignored (RFC 6902 section 4)
      key_token = value_token + span + 1;
      i = delta_.after(value);
    }
    if (!has_op) fail(operation, "missing \"op\"");
    if (!op_is_string) fail(operation, "\"op\" must be a string");
    if (!has_path) fail(operation, "missing \"path\"");
    if (!path_is_string) fail(operation, "\"path\" must be a string");
    if (!from_is_string) fail(operation, "\"from\" must be a string");
    return operation;
  }

  // --- the overlay -------------------------------------------------------------------------------

  // Gives a raw child of an editable container its token and span.
  void settle(NodeRef& node) {
    if (!node.is_raw() || node.token != NodeRef::unknown) return;
    ChildPositions& positions = positions_[node.origin];
    node.token = positions.value_token(node.origin_index);
    node.span = positions.value_span(node.origin_index);
  }

  void materialize(NodeRef& node) {
    if (!node.is_raw()) return;
    const IndexedJson& doc = doc_of(node);
    const char type = doc.type(node.tape);
    if (type != '{' && type != '[') return;
    settle(node);
    const auto positions_index = static_cast<std::uint32_t>(positions_.size());
    const ChildPositions& positions = positions_.emplace_back(doc, node.tape, node.token, node.span);
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
      objects_.push_back(std::move(body));
      node = NodeRef{NodeRef::Kind::object, 0, 0, 0, static_cast<std::uint32_t>(objects_.size() - 1)};
    } else {
      ArrayBody body;
      body.positions = positions_index;
      body.items.reserve(count);
      for (std::uint32_t i = 0; i < count; ++i) body.items.push_back(child(i));
      arrays_.push_back(std::move(body));
      node = NodeRef{NodeRef::Kind::array, 0, 0, 0, static_cast<std::uint32_t>(arrays_.size() - 1)};
    }
  }

  // The pointer of the first `count` tokens, for messages.
  static std::string pointer_prefix(const std::vector<std::string>& tokens, std::size_t count) {
    std::string pointer;
    for (std::size_t i = 0; i < count; ++i) {
      pointer += '/';
      for (const char c : tokens[i]) {
        if (c == '~')
          pointer += "~0";
        else if (c == '/')
          pointer += "~1";
        else
          pointer += c;
      }
    }
    return pointer;
  }

  static std::string element_count(std::size_t n) {
    return std::to_string(n) + (n == 1 ? " element" : " elements");
  }

  static std::string location(const std::vector<std::string>& tokens, std::size_t count) {
    return count == 0 ? std::string("the document root") : "\"" + pointer_prefix(tokens, count) + "\"";
  }

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
    NodeRef* node = &root_;
    for (std::size_t i = 0; i < count; ++i) {
      materialize(*node);
      if (node->kind == NodeRef::Kind::object) {
        ObjectBody& body = objects_[node->body];
        const std::uint32_t at = body.find(tokens[i]);
        if (at == ObjectBody::npos) fail_no_member(operation, tokens, i);
        node = &body.value_at(at);
      } else if (node->kind == NodeRef::Kind::array) {
        auto& items = arrays_[node->body].items;
        const auto at = parse_array_index(tokens[i]);
        if (!at || *at >= items.size()) fail_index(operation, tokens, i, at.has_value(), items.size());
        node = &items[*at];
      } else {
        fail_scalar(operation, tokens, i, type_of(*node));
      }
    }
    return *node;
  }

  // The same value, read only: raw containers on the way are searched in place, not made editable.
  NodeRef lookup(const Operation& operation, const std::vector<std::string>& tokens) {
    NodeRef node = root_;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (node.kind == NodeRef::Kind::object) {
        ObjectBody& body = objects_[node.body];
        const std::uint32_t at = body.find(tokens[i]);
        if (at == ObjectBody::npos) fail_no_member(operation, tokens, i);
        node = body.value_at(at);
        continue;
      }
      if (node.kind == NodeRef::Kind::array) {
        const auto& items = arrays_[node.body].items;
        const auto at = parse_array_index(tokens[i]);
        if (!at || *at >= items.size()) fail_index(operation, tokens, i, at.has_value(), items.size());
        node = items[*at];
        continue;
      }
      const IndexedJson& doc = doc_of(node);
      const char type = doc.type(node.tape);
      const std::uint32_t end = doc.after(node.tape) - 1;
      if (type == '{' || type == '[') settle(node);
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

  std::string_view own_key(const std::string& key) { return owned_keys_.emplace_back(key); }

  NodeRef clone(const NodeRef& node) {
    if (node.kind == NodeRef::Kind::object) {
      const std::vector<PatchMember> members = objects_[node.body].members();  // copy: cloning grows objects_
      ObjectBody body;
      body.positions = objects_[node.body].positions;
      for (const PatchMember& member : members)
        if (!member.erased) body.set(member.key, member.origin, clone(member.value));
      objects_.push_back(std::move(body));
      return {NodeRef::Kind::object, 0, 0, 0, static_cast<std::uint32_t>(objects_.size() - 1)};
    }
    if (node.kind == NodeRef::Kind::array) {
      const std::vector<NodeRef> items = arrays_[node.body].items;
      ArrayBody body;
      body.positions = arrays_[node.body].positions;
      body.items.reserve(items.size());
      for (const NodeRef& item : items) body.items.push_back(clone(item));
      arrays_.push_back(std::move(body));
      return {NodeRef::Kind::array, 0, 0, 0, static_cast<std::uint32_t>(arrays_.size() - 1)};
    }
    return node;  // raw values are immutable references
  }

  // --- operations --------------------------------------------------------------------------------

  void add(const Operation& operation, const std::vector<std::string>& tokens, NodeRef value) {
    if (tokens.empty()) {
      root_ = value;
      return;
    }
    NodeRef& parent = resolve(operation, tokens, tokens.size() - 1);
    materialize(parent);
    const std::string& last = tokens.back();
    if (parent.kind == NodeRef::Kind::object) {
      objects_[parent.body].set(own_key(last), NodeRef::unknown, value);
    } else if (parent.kind == NodeRef::Kind::array) {
      auto& items = arrays_[parent.body].items;
      if (last == "-") {
        items.push_back(value);
        return;
      }
      const auto at = parse_array_index(last);
      if (!at) fail(operation, "\"" + last + "\" is not an array index (digits, or \"-\" for the end)");
      if (*at > items.size())
        fail(operation, "index " + last + " is out of range for add (the array at " +
                            location(tokens, tokens.size() - 1) + " has " + element_count(items.size()) + ")");
      items.insert(items.begin() + static_cast<std::ptrdiff_t>(*at), value);
    } else {
      fail(operation, "cannot add a member to " + location(tokens, tokens.size() - 1) + ": it is " +
                          std::string(kind_name(type_of(parent))));
    }
  }

  NodeRef remove(const Operation& operation, const std::vector<std::string>& tokens) {
    if (tokens.empty()) fail(operation, "cannot remove the whole document");
    const std::size_t last = tokens.size() - 1;
    NodeRef& parent = resolve(operation, tokens, last);
    materialize(parent);
    if (parent.kind == NodeRef::Kind::object) {
      ObjectBody& body = objects_[parent.body];
      const std::uint32_t at = body.find(tokens[last]);
      if (at == ObjectBody::npos) fail_no_member(operation, tokens, last);
      const NodeRef removed = body.value_at(at);
      body.erase(tokens[last]);
      return removed;
    }
    if (parent.kind == NodeRef::Kind::array) {
      auto& items = arrays_[parent.body].items;
      const auto at = parse_array_index(tokens[last]);
      if (!at || *at >= items.size()) fail_index(operation, tokens, last, at.has_value(), items.size());
      const NodeRef removed = items[*at];
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(*at));
      return removed;
    }
    fail_scalar(operation, tokens, last, type_of(parent));
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
      add(operation, path_tokens_, require_value());
    } else if (op == "remove") {
      remove(operation, path_tokens_);
    } else if (op == "replace") {
      const NodeRef value = require_value();
      resolve(operation, path_tokens_, path_tokens_.size()) = value;
    } else if (op == "move") {
      read_from();
      const bool into_itself = from_tokens_.size() < path_tokens_.size() &&
                               std::equal(from_tokens_.begin(), from_tokens_.end(), path_tokens_.begin());
      if (into_itself) fail(operation, "cannot move a value into one of its own members");
      if (from_tokens_ == path_tokens_) {
        (void)lookup(following_from(operation), from_tokens_);  // must exist; moving a value onto itself changes nothing
        return;
      }
      const NodeRef value = remove(following_from(operation), from_tokens_);
      add(operation, path_tokens_, value);
    } else if (op == "copy") {
      read_from();
      const NodeRef value = clone(lookup(following_from(operation), from_tokens_));
      add(operation, path_tokens_, value);
    } else if (op == "test") {
      const NodeRef expected = require_value();
      const NodeRef actual = lookup(operation, path_tokens_);
      if (!equal(actual, expected))
        fail(operation, "test failed: the value at the path is not equal to the operation's \"value\"");
    } else {
      fail(operation, "unknown op \"" + std::string(op) + "\" (expected add, remove, replace, move, copy or test)");
    }
  }

  // --- equality for "test" (RFC 6902 section 4.6) ------------------------------------------------

  // Members of an object node as JSON readers see them (a duplicated key: its last value).
  void members_of(const NodeRef& node, std::vector<std::pair<std::string_view, NodeRef>>& out) {
    out.clear();
    if (node.kind == NodeRef::Kind::object) {
      for (const PatchMember& member : objects_[node.body].members())
        if (!member.erased) out.emplace_back(member.key, member.value);
      return;
    }
    const IndexedJson& doc = doc_of(node);
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

  void items_of(const NodeRef& node, std::vector<NodeRef>& out) const {
    out.clear();
    if (node.kind == NodeRef::Kind::array) {
      out = arrays_[node.body].items;
      return;
    }
    const IndexedJson& doc = doc_of(node);
    const std::uint32_t end = doc.after(node.tape) - 1;
    for (std::uint32_t i = node.tape + 1; i < end; i = doc.after(i)) out.push_back(NodeRef{node.kind, i, 0, 0, 0});
  }

  static bool numbers_equal(char type_a, std::uint64_t a, char type_b, std::uint64_t b) noexcept {
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

  bool equal(const NodeRef& a, const NodeRef& b) {
    if (a.is_raw() && b.is_raw() && equal_span(doc_of(a), a.tape, doc_of(b), b.tape) != 0) return true;
    const char type_a = type_of(a), type_b = type_of(b);
    const auto is_number = [](char type) { return type == 'l' || type == 'u' || type == 'd'; };
    if (is_number(type_a) && is_number(type_b)) {
      const IndexedJson& doc_a = doc_of(a);
      const IndexedJson& doc_b = doc_of(b);
      return numbers_equal(type_a, doc_a.tape[a.tape + 1], type_b, doc_b.tape[b.tape + 1]);
    }
    if (type_a != type_b) return false;
    switch (type_a) {
      case '"': return doc_of(a).string(a.tape) == doc_of(b).string(b.tape);
      case '[': {
        std::vector<NodeRef> items_a, items_b;
        items_of(a, items_a);
        items_of(b, items_b);
        if (items_a.size() != items_b.size()) return false;
        for (std::size_t i = 0; i < items_a.size(); ++i)
          if (!equal(items_a[i], items_b[i])) return false;
        return true;
      }
      case '{': {
        std::vector<std::pair<std::string_view, NodeRef>> members_a, members_b;
        members_of(a, members_a);
        members_of(b, members_b);
        if (members_a.size() != members_b.size()) return false;
        KeyIndex index;
        index.build(static_cast<std::uint32_t>(members_b.size()), [&](std::uint32_t i) { return members_b[i].first; });
        for (const auto& [key, value] : members_a) {
          const std::uint32_t at = index.find(key);
          if (at == KeyIndex::npos || !equal(value, members_b[at].second)) return false;
        }
        return true;
      }
      default: return true;  // true, false, null
    }
  }

  // --- output ------------------------------------------------------------------------------------

  // True when `value` is still child `index` of the raw container behind `positions`.
  static bool untouched(const NodeRef& value, std::uint32_t positions, std::uint32_t index) noexcept {
    return positions != NodeRef::unknown && value.is_raw() && value.origin == positions && value.origin_index == index;
  }

  // Children first to last of the source container behind `positions`, as written there, minified.
  void write_run(std::string& out, std::uint32_t positions, const IndexedJson& doc, std::uint32_t first,
                 std::uint32_t last) {
    ChildPositions& at = positions_[positions];
    const std::uint32_t begin = at.start(first), end = at.start(last + 1) - 2;  // then ',' or the end
    append_minified_drained(out, doc, begin, end);
  }

  // append_minified_tokens, handing full pieces to drain_ when serialize_to streams.
  void append_minified_drained(std::string& out, const IndexedJson& doc, std::uint32_t first, std::uint32_t last) {
    for_each_minified_piece(doc, first, last, [&](std::string_view piece) {
      out.append(piece);
      if (drain_) drain_(out);
    });
  }

  void write(std::string& out, NodeRef node) {
    if (node.is_raw()) {
      settle(node);
      const IndexedJson& doc = doc_of(node);
      if (doc.is_container(node.tape))
        append_minified_drained(out, doc, node.token, node.token + node.span - 1);
      else
        append_value(out, doc, node.tape, node.token, node.span);
      return;
    }
    // Children that are still the source's, one after the other, are copied as one piece of text.
    if (node.kind == NodeRef::Kind::array) {
      const std::uint32_t positions = arrays_[node.body].positions;
      const std::size_t count = arrays_[node.body].items.size();
      out += '[';
      for (std::size_t i = 0; i < count;) {
        if (i) out += ',';
        const NodeRef item = arrays_[node.body].items[i];
        if (!untouched(item, positions, item.origin_index)) {
          write(out, item);
          if (drain_) drain_(out);  // many small edited values add up too
          ++i;
          continue;
        }
        std::size_t j = i + 1;
        while (j < count && untouched(arrays_[node.body].items[j], positions, item.origin_index + (j - i))) ++j;
        write_run(out, positions, doc_of(item), item.origin_index, item.origin_index + static_cast<std::uint32_t>(j - i - 1));
        i = j;
      }
      out += ']';
      return;
    }
    const std::uint32_t positions = objects_[node.body].positions;
    const std::size_t count = objects_[node.body].members().size();
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < count;) {
      const PatchMember member = objects_[node.body].members()[i];
      if (member.erased) {
        ++i;
        continue;
      }
      if (!first) out += ',';
      first = false;
      if (member.origin == NodeRef::unknown || !untouched(member.value, positions, member.origin)) {
        append_json_string(out, member.key);
        out += ':';
        write(out, member.value);
        if (drain_) drain_(out);
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      std::uint32_t last = member.origin;
      while (j < count) {
        const PatchMember& next = objects_[node.body].members()[j];
        if (next.erased || next.origin != last + 1 || !untouched(next.value, positions, next.origin)) break;
        last = next.origin;
        ++j;
      }
      write_run(out, positions, doc_of(member.value), member.origin, last);
      i = j;
    }
    out += '}';
  }

  const IndexedJson& base_;
  const IndexedJson& delta_;
  NodeRef root_;
  // Deques: adding a body never moves the others, so references into them stay valid.
  std::deque<ObjectBody> objects_;
  std::deque<ArrayBody> arrays_;
  std::deque<std::string> owned_keys_;  // keys that come from paths; a deque keeps their views valid
  std::vector<std::string> path_tokens_, from_tokens_;
  std::deque<ChildPositions> positions_;  // of the raw containers made editable
  std::function<void(std::string&)> drain_;  // set while serialize_to streams
};

}  // namespace stageflow::detail::compression
