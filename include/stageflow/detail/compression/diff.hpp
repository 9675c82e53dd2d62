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
// by a Myers diff over cheap element hashes with a bounded edit distance (linear work, never
// quadratic); between kept elements, changed ones are paired by position (deep operations) and
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
  std::vector<std::uint64_t> base_hashes, current_hashes, string_starts;
  std::vector<int> diagonals, trace;
  std::vector<std::size_t> trace_start;
  std::vector<std::pair<std::size_t, std::size_t>> matches;
};

struct DiffScratch {
  std::deque<DiffFrame> frames;
  std::string path;
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
    if (base_end - prefix > 1 && current_end - prefix > 1) match_elements(frame, prefix, base_end, current_end);

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

  // Fills frame.matches with the elements of base[from, base_end) and current[from, current_end)
  // to keep: a longest common subsequence by element hash (Myers' O((N+M)D) algorithm). D is
  // bounded so the work stays linear; past the bound nothing is matched (positional edits).
  void match_elements(DiffFrame& frame, std::size_t from, std::size_t base_end, std::size_t current_end) {
    element_hashes(base_, frame.base_items, from, base_end, frame.string_starts, frame.base_hashes);
    element_hashes(current_, frame.current_items, from, current_end, frame.string_starts, frame.current_hashes);
    const auto& a = frame.base_hashes;
    const auto& b = frame.current_hashes;
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

  static constexpr std::uint64_t no_string = ~std::uint64_t{0};

  // String-buffer offset of the first string at tape positions [t, limit), or no_string.
  static std::uint64_t first_string(const IndexedJson& doc, std::uint32_t t, std::uint32_t limit) noexcept {
    for (std::uint32_t i = t; i < limit; ++i) {
      const char kind = doc.type(i);
      if (kind == '"') return doc.payload(i);
      if (kind == 'l' || kind == 'u' || kind == 'd') ++i;
    }
    return no_string;
  }

  // String-buffer offset just past the last string record of the value at t, or no_string.
  static std::uint64_t strings_end(const IndexedJson& doc, std::uint32_t t) noexcept {
    std::uint64_t end = no_string;
    const std::uint32_t stop = doc.after(t);
    for (std::uint32_t i = t; i < stop; ++i) {
      const char kind = doc.type(i);
      if (kind == '"') end = doc.payload(i) + sizeof(std::uint32_t) + doc.string(i).size() + 1;  // length, bytes, NUL
      if (kind == 'l' || kind == 'u' || kind == 'd') ++i;
    }
    return end;
  }

  static std::uint64_t mix(std::uint64_t hash, std::uint64_t value) noexcept {
    hash = (hash ^ value) * 0xBF58476D1CE4E5B9ull;
    return hash ^ (hash >> 31);
  }

  // Cheap hashes of items[from, end), in one short look at each element: its size, its first
  // tape words (kinds, numbers such as ids), and samples of its strings (simdjson stores them
  // contiguously in document order, so an element's strings are one block of the string buffer).
  // Equal elements hash alike; different ones almost always differ, which is all matching needs.
  static void element_hashes(const IndexedJson& doc, const std::vector<std::uint32_t>& items, std::size_t from,
                             std::size_t end, std::vector<std::uint64_t>& starts, std::vector<std::uint64_t>& hashes) {
    constexpr std::uint32_t head_words = 32;
    constexpr std::uint64_t sample = 64;
    const std::uint32_t tape_end = doc.after(IndexedJson::root);  // the final root word
    starts.clear();
    hashes.clear();
    for (std::size_t i = from; i < end; ++i) {
      const std::uint32_t t = items[i], stop = doc.after(t);
      std::uint64_t hash = mix(0x9E3779B97F4A7C15ull, stop - t);
      std::uint64_t first = no_string;
      const std::uint32_t head_end = stop - t > head_words ? t + head_words : stop;
      std::uint32_t w = t;
      for (; w < head_end; ++w) {
        const std::uint64_t word = doc.tape[w];
        const char kind = static_cast<char>(word >> 56);
        if (kind == '"') {
          if (first == no_string) first = word & tape_layout::payload_mask;
          hash = mix(hash, kind);
        } else if (kind == 'l' || kind == 'u' || kind == 'd') {
          hash = mix(hash, doc.tape[++w]);
        } else if (kind == '{' || kind == '[') {
          hash = mix(hash, word - w);  // kind, count and relative end
        } else {
          hash = mix(hash, kind);
        }
      }
      if (first == no_string && w < stop) first = first_string(doc, w, stop);
      starts.push_back(first);
      hashes.push_back(hash);
    }
    // An element's strings end where the next element's begin (or the next string after them).
    std::uint64_t next = first_string(doc, end < items.size() ? items[end] : doc.after(items[end - 1]), tape_end);
    for (std::size_t i = end; i-- > from;) {
      const std::uint64_t start = starts[i - from];
      if (start == no_string) continue;
      const std::uint64_t stop = next != no_string ? next : strings_end(doc, items[i]);
      const std::uint64_t length = stop - start;
      std::uint64_t& hash = hashes[i - from];
      hash = mix(hash, length);
      const std::uint8_t* strings = doc.strings + start;
      hash = mix(hash, XXH3_64bits(strings, length < sample ? length : sample));
      if (length > sample) hash = mix(hash, XXH3_64bits(strings + length - sample, sample));
      next = start;
    }
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
