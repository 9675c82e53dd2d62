// SPDX-License-Identifier: BSL-1.0
// Errors thrown by <stageflow/compression.hpp>.
//
// ParseError: one of the JSON texts (base, current or delta) is not valid JSON; says which one
// and where (line, column, byte offset). A JsonParseError, as parse_json throws. DeltaError: the delta is valid JSON but not a JSON
// Patch that fits its base; says which operation (index in the patch array) and which path.
#pragma once

#include <stageflow/json/parse_error.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow::compression {

/// Which argument of compress() or apply_delta() a ParseError is about.
enum class JsonArgument { base, current, delta };

constexpr std::string_view to_string(JsonArgument argument) noexcept {
  switch (argument) {
    case JsonArgument::base: return "base";
    case JsonArgument::current: return "current";
    case JsonArgument::delta: return "delta";
  }
  return "?";
}

/// A JSON text given to compress() or apply_delta() is not valid JSON (RFC 8259, UTF-8): a
/// JsonParseError (reason, position) that also says which argument it was.
class ParseError : public JsonParseError {
 public:
  /// `offset`: where in `text` the error is, or nullopt when unknown.
  ParseError(JsonArgument argument, std::string reason, std::string_view text, std::optional<std::size_t> offset)
      : JsonParseError(context(argument), std::move(reason), text, offset), argument_(argument) {}

  JsonArgument argument() const noexcept { return argument_; }

 private:
  static std::string context(JsonArgument argument) {
    return "stageflow::compression: " + std::string(to_string(argument)) + " is not valid JSON";
  }

  JsonArgument argument_;
};

/// The delta is valid JSON but does not apply to its base: not an array of RFC 6902 operations,
/// an unknown op, a member missing, a path that does not exist, an index out of range, a failed
/// `test`. apply_delta() returns nothing in that case: no half-applied document exists.
class DeltaError : public std::runtime_error {
 public:
  /// Used as operation_index() when the delta as a whole is wrong (for example not an array).
  static constexpr std::size_t no_operation = static_cast<std::size_t>(-1);

  /// `path` and `from` are nullopt when the operation has no such member (or it is not a string):
  /// the message then shows the operation without one, never as the root pointer "".
  DeltaError(std::size_t operation_index, std::string op, std::optional<std::string> path, std::string reason,
             std::optional<std::string> from = std::nullopt)
      : std::runtime_error(describe(operation_index, op, path, from, reason)),
        operation_index_(operation_index),
        op_(std::move(op)),
        has_path_(path.has_value()),
        path_(std::move(path).value_or(std::string())),
        from_(std::move(from)),
        reason_(std::move(reason)) {}

  /// Index of the failing operation in the patch array (from 0), or no_operation.
  std::size_t operation_index() const noexcept { return operation_index_; }
  /// The operation's "op" ("add", "remove", ...) when it has a valid one, else empty.
  const std::string& op() const noexcept { return op_; }
  /// The operation's "path" as written in the delta (a JSON Pointer); empty when it has none
  /// (has_path() tells that apart from the root pointer "").
  const std::string& path() const noexcept { return path_; }
  bool has_path() const noexcept { return has_path_; }
  /// The operation's "from" (move, copy) when the error is about it or it was read, else nullopt.
  const std::optional<std::string>& from() const noexcept { return from_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  static std::string describe(std::size_t index, const std::string& op, const std::optional<std::string>& path,
                              const std::optional<std::string>& from, const std::string& reason) {
    std::string text = "stageflow::compression: delta ";
    if (index == no_operation) {
      text += "is not a JSON Patch: ";
    } else {
      text += "operation " + std::to_string(index);
      if (!op.empty() || path || from) {
        text += " (";
        text += op.empty() ? std::string("?") : op;
        if (from) text += " from \"" + *from + "\"";
        if (path) text += (from ? " to \"" : " \"") + *path + "\"";
        text += ")";
      }
      text += ": ";
    }
    text += reason;
    return text;
  }

  std::size_t operation_index_;
  std::string op_;
  bool has_path_;
  std::string path_;
  std::optional<std::string> from_;
  std::string reason_;
};

/// The patched document would pass ApplyOptions::max_document_bytes (a delta whose `copy`
/// operations multiply the document, for example): thrown before the operation allocates.
class DocumentLimitError : public DeltaError {
 public:
  DocumentLimitError(std::size_t operation_index, std::string op, std::optional<std::string> path, std::string reason,
                     std::optional<std::string> from, std::size_t limit)
      : DeltaError(operation_index, std::move(op), std::move(path), std::move(reason), std::move(from)), limit_(limit) {}

  /// The limit in force, in bytes.
  std::size_t limit() const noexcept { return limit_; }

 private:
  std::size_t limit_;
};

}  // namespace stageflow::compression
