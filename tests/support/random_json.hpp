// SPDX-License-Identifier: BSL-1.0
// Seeded random JSON documents and edits of them, for property tests of delta compression.
// Reproducible: the same seed gives the same documents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace stageflow::testing {

/// A JSON value as text pieces: scalars keep their exact text, so numbers like 1.0 and 1e2 survive.
struct RandomJson {
  enum class Kind { scalar, object, array } kind = Kind::scalar;
  std::string scalar;  // exact JSON text of a scalar
  // Object members as two parallel lists (a vector of pairs would need RandomJson complete here).
  std::vector<std::string> keys;  // JSON string text, quotes included
  std::vector<RandomJson> values;
  std::vector<RandomJson> items;
};

class RandomJsonGenerator {
 public:
  explicit RandomJsonGenerator(std::uint64_t seed, bool allow_duplicate_keys = false)
      : random_(seed), duplicates_(allow_duplicate_keys) {}

  RandomJson value(int depth) {
    const int roll = below(depth > 0 ? 10 : 6);
    if (roll < 6) return scalar();
    RandomJson v;
    if (roll < 8) {
      v.kind = RandomJson::Kind::object;
      const int n = below(7);
      for (int i = 0; i < n; ++i) add_member(v, value(depth - 1));
    } else {
      v.kind = RandomJson::Kind::array;
      const int n = below(9);
      for (int i = 0; i < n; ++i) v.items.push_back(value(depth - 1));
    }
    return v;
  }

  /// Applies `edits` random edits somewhere in `v` (values changed, inserted, removed, reordered).
  void edit(RandomJson& v, int edits) {
    for (int i = 0; i < edits; ++i) edit_once(v, 0);
  }

  static std::string write(const RandomJson& v, bool pretty, int indent = 0) {
    std::string out;
    write_to(out, v, pretty, indent);
    return out;
  }

  int below(int n) { return static_cast<int>(random_() % static_cast<std::uint64_t>(n)); }

 private:
  RandomJson scalar() {
    static const char* const forms[] = {
        "0", "1", "-1", "42", "1.0", "1.5", "-0.0", "1e2", "1E-2", "2.50", "18446744073709551615",
        "-9223372036854775808", "123456789", "0.1", "true", "false", "null", "\"\"", "\"a\"", "\"b\"",
        "\"hello world\"", "\"\\u00e9t\\u00e9\"", "\"\xC3\xA9t\xC3\xA9\"", "\"line\\nbreak\"", "\"q\\\"uote\"",
        "\"\\ud83d\\ude00\"", "\"\xF0\x9F\x98\x80\"", "\"back\\\\slash\"", "\"1\"", "\"true\""};
    RandomJson v;
    v.scalar = forms[below(static_cast<int>(std::size(forms)))];
    return v;
  }

  std::string key() {
    static const char* const keys[] = {"\"a\"", "\"b\"", "\"c\"", "\"id\"", "\"name\"", "\"a/b\"", "\"m~n\"",
                                       "\"~1\"", "\"\"", "\"\\u00e9\"", "\"x y\"", "\"q\\\"t\"", "\"0\"", "\"-\""};
    return keys[below(static_cast<int>(std::size(keys)))];
  }

  void add_member(RandomJson& object, RandomJson value) {
    std::string k = key();
    // "\u00e9" and the raw UTF-8 key are not both in the pool, so text equality is key equality.
    if (!duplicates_) {
      for (const auto& existing : object.keys)
        if (existing == k) return;
    }
    object.keys.push_back(std::move(k));
    object.values.push_back(std::move(value));
  }

  void edit_once(RandomJson& v, int depth) {
    const bool container = v.kind != RandomJson::Kind::scalar;
    const bool has_children = (v.kind == RandomJson::Kind::object && !v.keys.empty()) ||
                              (v.kind == RandomJson::Kind::array && !v.items.empty());
    if (has_children && below(3) != 0) {  // descend
      if (v.kind == RandomJson::Kind::object)
        edit_once(v.values[static_cast<std::size_t>(below(static_cast<int>(v.values.size())))], depth + 1);
      else
        edit_once(v.items[static_cast<std::size_t>(below(static_cast<int>(v.items.size())))], depth + 1);
      return;
    }
    const int what = below(container ? 6 : 2);
    if (what == 0) {  // replace by a new value
      v = value(depth < 3 ? 2 : 0);
    } else if (what == 1) {  // a new scalar
      v = scalar();
    } else if (v.kind == RandomJson::Kind::object) {
      if (what == 2) add_member(v, value(1));
      if (what == 3 && !v.keys.empty()) {
        const int at = below(static_cast<int>(v.keys.size()));
        v.keys.erase(v.keys.begin() + at);
        v.values.erase(v.values.begin() + at);
      }
      if (what == 4 && v.keys.size() > 1) {  // reorder
        std::swap(v.keys.front(), v.keys.back());
        std::swap(v.values.front(), v.values.back());
      }
      if (what == 5 && !v.values.empty()) v.values.back() = value(1);
    } else {
      const auto at = [&](bool inclusive) {
        return below(static_cast<int>(v.items.size()) + (inclusive ? 1 : 0));
      };
      if (what == 2) v.items.insert(v.items.begin() + at(true), value(1));
      if (what == 3 && !v.items.empty()) v.items.erase(v.items.begin() + at(false));
      if (what == 4) v.items.insert(v.items.begin(), scalar());
      if (what == 5 && v.items.size() > 2) v.items.erase(v.items.begin() + 1, v.items.end() - 1);
    }
  }

  static void newline(std::string& out, bool pretty, int indent) {
    if (!pretty) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent) * 2, ' ');
  }

  static void write_to(std::string& out, const RandomJson& v, bool pretty, int indent) {
    switch (v.kind) {
      case RandomJson::Kind::scalar: out += v.scalar; return;
      case RandomJson::Kind::object: {
        out += '{';
        for (std::size_t i = 0; i < v.keys.size(); ++i) {
          if (i) out += ',';
          newline(out, pretty, indent + 1);
          out += v.keys[i];
          out += pretty ? " : " : ":";
          write_to(out, v.values[i], pretty, indent + 1);
        }
        if (!v.keys.empty()) newline(out, pretty, indent);
        out += '}';
        return;
      }
      case RandomJson::Kind::array: {
        out += '[';
        for (std::size_t i = 0; i < v.items.size(); ++i) {
          if (i) out += pretty ? ", " : ",";
          write_to(out, v.items[i], pretty, indent + 1);
        }
        out += ']';
        return;
      }
    }
  }

  std::mt19937_64 random_;
  bool duplicates_;
};

}  // namespace stageflow::testing
