// The delta generator: walks two validated documents and writes the RFC 6902 operations that turn
// the base into the current one.
//
// Equal subtrees are recognised by one flat pass over simdjson's tapes (equal_span), never
// re-walked level by level. Only containers on the way to a difference are visited member by
// member. Values are written as the current document's own text (minified), so numbers keep
// their text. Arrays: common prefix and suffix are trimmed, the rest is paired up by position,
// then the surplus is removed or added, which is linear (no quadratic search). Any container
// whose operations would be larger than replacing it whole is replaced whole.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xxhash.h>

#include <stageflow/detail/compression/indexed_json.hpp>
#include <stageflow/detail/compression/json_text.hpp>
#include <stageflow/detail/compression/key_index.hpp>

namespace stageflow::detail::compression {

struct ObjectMember {
  std::string_view key;  // decoded
  std::uint32_t value;   // tape index
};

/// Per nesting level working memory, kept across calls (a deque: growing keeps references valid).
struct DiffFrame {
  std::vector<ObjectMember> base_members, current_members;
  std::vector<std::uint32_t> base_items, current_items;
  KeyIndex base_index, current_index;
  // Array matching (Myers): element hashes, the diagonals, their history, the kept pairs.
  std::vector<std::uint64_t> base_hashes, current_hashes;
  std::vector<int> diagonals, trace;
  std::vector<std::size_t> trace_start;
  std::vector<std::pair<std::size_t, std::size_t>> matches;
};

struct DiffScratch {
  std::deque<DiffFrame> frames;
  std::string replacement;

  DiffFrame& frame(std::size_t depth) {
    while (frames.size() <= depth) frames.emplace_back();
    return frames[depth];
  }
};

inline void collect_members(const IndexedJson& doc, std::uint32_t t, std::vector<ObjectMember>& members) {
  members.clear();
  const std::uint32_t end = doc.after(t) - 1;
  for (std::uint32_t i = t + 1; i < end;) {
    members.push_back({doc.string(i), i + 1});
    i = doc.after(i + 1);
  }
}

inline void collect_items(const IndexedJson& doc, std::uint32_t t, std::vector<std::uint32_t>& items) {
  items.clear();
  const std::uint32_t end = doc.after(t) - 1;
  for (std::uint32_t i = t + 1; i < end; i = doc.after(i)) items.push_back(i);
}

class Differ {
 public:
  Differ(const IndexedJson& base, const IndexedJson& current, DiffScratch& scratch, std::string& out)
      : base_(base), current_(current), scratch_(scratch), out_(out) {}

  /// Appends the operations, comma separated, to the output; returns how many.
  std::size_t run() {
    path_.clear();
    if (equal_span(base_, IndexedJson::root, current_, IndexedJson::root) == 0)
      diff_unequal(IndexedJson::root, IndexedJson::root, 0, 0);
    return operations_;
  }

 private:
  static constexpr std::string_view replace_prefix = R"({"op":"replace","path":")";
  static constexpr std::string_view value_infix = R"(","value":)";

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

  void emit_with_value(std::string_view op, std::uint32_t tc, std::uint32_t kc) {
    begin_operation(op);
    out_ += value_infix;
    append_value(out_, current_, tc, kc);
    out_ += '}';
  }

  // Values at tb and tc differ (not tape-equal); kc is the current value's first token.
  void diff_unequal(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth) {
    const char kind = base_.type(tb);
    if (kind == '{' && current_.type(tc) == '{')
      diff_object(tb, tc, kc, depth);
    else if (kind == '[' && current_.type(tc) == '[')
      diff_array(tb, tc, kc, depth);
    else
      emit_with_value("replace", tc, kc);
  }

  // A child pair: nothing when equal, else its operations under path_ + token. Returns the
  // current child's token span.
  template <class PushPath>
  std::uint32_t diff_child(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth, PushPath&& push) {
    if (const std::uint32_t span = equal_span(base_, tb, current_, tc)) return span;
    const std::size_t saved = path_.size();
    push(path_);
    diff_unequal(tb, tc, kc, depth);
    path_.resize(saved);
    return current_.token_span(tc);
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

  void diff_object(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth) {
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
        if (frame.current_index.find(current[j].key) == j) {
          const std::uint32_t i = frame.base_index.find(current[j].key);
          const auto push = [&](std::string& path) { append_pointer_key(path, current[j].key); };
          if (i == KeyIndex::npos) {
            const std::size_t saved = path_.size();
            push(path_);
            emit_with_value("add", current[j].value, k + 2);
            path_.resize(saved);
          } else {
            span = diff_child(base[i].value, current[j].value, k + 2, depth + 1, push);
          }
        }
        if (span == 0) span = current_.token_span(current[j].value);
        k += 2 + span + 1;
      }
    }
    keep_smaller(mark, operations_mark, tc, kc);
  }

  void diff_array(std::uint32_t tb, std::uint32_t tc, std::uint32_t kc, std::size_t depth) {
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
    while (suffix < shorter - prefix &&
           equal_span(base_, base[nb - 1 - suffix], current_, current[nc - 1 - suffix]) != 0)
      ++suffix;

    // The middle: elements kept in both (matched by a bounded Myers diff over element hashes),
    // and between them gaps of removed, added or changed elements.
    frame.matches.clear();
    const std::size_t base_end = nb - suffix, current_end = nc - suffix;
    if (base_end - prefix > 1 && current_end - prefix > 1)
      match_elements(frame, prefix, base_end, current_end);

    ArrayEdit edit{frame, k, prefix, prefix, prefix, depth, base_end == nb};
    for (const auto& [base_index, current_index] : frame.matches) {
      edit_gap(edit, base_index, current_index, nb);
      // A kept element: normally equal; diff_child also handles a hash collision correctly.
      const std::uint32_t span = diff_child(base[base_index], current[current_index], edit.token, depth + 1,
                                            [&](std::string& path) { append_pointer_index(path, edit.position); });
      edit.token += span + 1;
      ++edit.position;
      edit.base_next = base_index + 1;
      edit.current_next = current_index + 1;
    }
    edit_gap(edit, base_end, current_end, nb);
    keep_smaller(mark, operations_mark, tc, kc);
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
        if (appending)
          path_ += "/-";
        else
          append_pointer_index(path_, edit.position + i);
        emit_with_value("add", item, edit.token);
        path_.resize(saved);
        edit.token += current_.token_span(item) + 1;
      }
    }
    edit.position += current_count;
    edit.base_next = base_stop;
    edit.current_next = current_stop;
  }

  // Fills frame.matches with the elements of base[from, base_end) and current[from, current_end)
  // to keep: a longest common subsequence by element hash (Myers' O((N+M)D) algorithm). D is
  // bounded so the work stays linear; past the bound nothing is matched (positional edits).
  void match_elements(DiffFrame& frame, std::size_t from, std::size_t base_end, std::size_t current_end) {
    auto& a = frame.base_hashes;
    auto& b = frame.current_hashes;
    a.clear();
    b.clear();
    for (std::size_t i = from; i < base_end; ++i) a.push_back(subtree_hash(base_, frame.base_items[i]));
    for (std::size_t j = from; j < current_end; ++j) b.push_back(subtree_hash(current_, frame.current_items[j]));
    const long n = static_cast<long>(a.size()), m = static_cast<long>(b.size());
    // At most about 8 million hash comparisons, and at most 512 edits (the history is D^2 ints).
    const long max_d = std::min(n + m, std::clamp(8'000'000L / (n + m), 16L, 512L));

    auto& v = frame.diagonals;
    auto& trace = frame.trace;
    auto& trace_start = frame.trace_start;
    v.assign(static_cast<std::size_t>(2 * max_d + 3), 0);
    trace.clear();
    trace_start.clear();
    const long offset = max_d + 1;
    long found_d = -1;
    for (long d = 0; d <= max_d && found_d < 0; ++d) {
      // Keep V before this round (diagonals -d-1 .. d+1) for the way back.
      trace_start.push_back(trace.size());
      trace.insert(trace.end(), v.begin() + (offset - d - 1), v.begin() + (offset + d + 2));
      for (long diagonal = -d; diagonal <= d; diagonal += 2) {
        long x = (diagonal == -d || (diagonal != d && v[offset + diagonal - 1] < v[offset + diagonal + 1]))
                     ? v[offset + diagonal + 1]
                     : v[offset + diagonal - 1] + 1;
        long y = x - diagonal;
        while (x < n && y < m && a[static_cast<std::size_t>(x)] == b[static_cast<std::size_t>(y)]) {
          ++x;
          ++y;
        }
        v[offset + diagonal] = static_cast<int>(x);
        if (x >= n && y >= m) {
          found_d = d;
          break;
        }
      }
    }
    if (found_d < 0) return;  // too different: edit by position
    auto& matches = frame.matches;
    long x = n, y = m;
    for (long d = found_d; d >= 0; --d) {
      const int* before = trace.data() + trace_start[static_cast<std::size_t>(d)] + (d + 1);  // before[diagonal]
      const long diagonal = x - y;
      const long previous =
          (diagonal == -d || (diagonal != d && before[diagonal - 1] < before[diagonal + 1])) ? diagonal + 1 : diagonal - 1;
      const long previous_x = before[previous], previous_y = previous_x - previous;
      while (x > previous_x && y > previous_y && x > 0 && y > 0) {
        --x;
        --y;
        matches.emplace_back(from + static_cast<std::size_t>(x), from + static_cast<std::size_t>(y));
      }
      if (d > 0) {
        x = previous_x;
        y = previous_y;
      }
    }
    std::reverse(matches.begin(), matches.end());
  }

  // A hash of the value at t consistent with equal_span (equal values hash the same).
  static std::uint64_t subtree_hash(const IndexedJson& doc, std::uint32_t t) noexcept {
    std::uint64_t hash = 0x9E3779B97F4A7C15ull;
    const auto mix = [&hash](std::uint64_t value) {
      hash = (hash ^ value) * 0xBF58476D1CE4E5B9ull;
      hash ^= hash >> 31;
    };
    const std::uint32_t end = doc.after(t);
    for (std::uint32_t i = t; i < end; ++i) {
      const std::uint64_t word = doc.tape[i];
      const char kind = static_cast<char>(word >> 56);
      switch (kind) {
        case '"': {
          const std::string_view text = doc.string(i);
          mix(XXH3_64bits(text.data(), text.size()));
          break;
        }
        case 'l':
        case 'u':
        case 'd': mix(static_cast<std::uint64_t>(kind) << 56 ^ doc.tape[++i]); break;
        case '{':
        case '[': mix(word - t); break;  // the matching end, relative to the start
        default: mix(word >> 56); break;
      }
    }
    return hash;
  }

  // When the operations written since `mark` for the container at tc take more bytes than one
  // "replace" with its whole value, write that replace instead.
  void keep_smaller(std::size_t mark, std::size_t operations_mark, std::uint32_t tc, std::uint32_t kc) {
    if (operations_ == operations_mark) return;
    const std::size_t written = out_.size() - mark;
    const std::size_t fixed = (operations_mark != 0 ? 1 : 0) + replace_prefix.size() + path_.size() +
                              value_infix.size() + 1;
    // The minified value has at least one byte per tape word that is not a number's payload.
    const std::size_t at_least = fixed + (current_.after(tc) - tc) / 2;
    if (written <= at_least) return;
    std::string& replacement = scratch_.replacement;
    replacement.clear();
    if (operations_mark != 0) replacement += ',';
    replacement += replace_prefix;
    replacement += path_;
    replacement += value_infix;
    append_value(replacement, current_, tc, kc);
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
  std::string path_;  // JSON Pointer of the current position, JSON-escaped
  std::size_t operations_ = 0;
};

}  // namespace stageflow::detail::compression
