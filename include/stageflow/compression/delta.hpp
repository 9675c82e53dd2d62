// SPDX-License-Identifier: BSL-1.0
// Delta compression of JSON documents: small, exact deltas between two JSON texts (for example two
// snapshots of a pipeline's context), in the standard RFC 6902 JSON Patch format.
//
//   auto [delta, metrics] = stageflow::compression::compress(base_json, current_json);
//   std::string rebuilt = stageflow::compression::apply_delta(base_json, delta);  // == current_json as JSON
//
// The delta is a JSON Patch document, so any JSON Patch library can apply it. It is deep (nested
// objects and arrays get their own operations) and type-exact: 1, 1.0 and true are different
// values, and numbers are written with their own text. Equal numbers: same kind (integer or
// floating point) and same value, so 1.0 and 1.00 are equal. Strings compare by content (escapes
// decoded). A duplicated object key is read as most parsers do: its last value wins.
//
// apply_delta() accepts any RFC 6902 patch (add, remove, replace, move, copy, test) and is all or
// nothing: it returns the whole patched document, minified, or throws DeltaError and returns
// nothing. Malformed JSON in any argument throws ParseError naming the argument and the position.
// The document it builds is bounded (ApplyOptions::max_document_bytes): `copy` operations can
// double a document each, so a 1 KB delta could otherwise ask for gigabytes.
//
// Parsing uses simdjson with one reusable parser pair per thread: a warm thread does not allocate
// for parsing. release_thread_buffers() gives that memory back.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <stageflow/compression/detail/diff.hpp>
#include <stageflow/compression/detail/indexed_json.hpp>
#include <stageflow/compression/detail/minify.hpp>
#include <stageflow/compression/detail/patch.hpp>
#include <stageflow/compression/detail/workspace.hpp>
#include <stageflow/compression/errors.hpp>
#include <stageflow/compression/metrics.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/serialization/walk.hpp>

namespace stageflow::compression {

/// What compress() returns: the delta and what it saves.
struct CompressResult {
  std::string delta;  ///< RFC 6902 JSON Patch: a JSON array of operations
  CompressionMetrics metrics;
};

/// The RFC 6902 JSON Patch that turns `base_json` into `current_json`, and what it saves.
/// Throws ParseError when either text is not valid JSON.
inline CompressResult compress(std::string_view base_json, std::string_view current_json) {
  namespace impl = detail::compression;
  impl::check_simdjson_layout();
  impl::Workspace& work = impl::workspace();
  impl::IndexedJson base = impl::parse_indexed(work.parsers[0], work.copies[0], base_json, JsonArgument::base);
  if (base_json == current_json)  // the same text (an unchanged snapshot): valid once is valid twice
    return {"[]", make_metrics(impl::minified_size(base), 2, 0)};
  impl::release_unread_base_parts(work, base);
  const impl::IndexedJson current =
      impl::parse_indexed(work.parsers[1], work.copies[1], current_json, JsonArgument::current);
  CompressResult result;
  result.delta += '[';
  const std::size_t operations = impl::Differ(base, current, work.diff, result.delta).run();
  result.delta += ']';
  result.metrics = make_metrics(impl::minified_size(current), result.delta.size(), operations);
  return result;
}

/// The default bound on the document apply_delta() builds: 4 times the size of both inputs, plus
/// 1 MiB. A patch's added values come from its own text, so only `copy` can pass it.
constexpr std::size_t default_max_document_bytes(std::size_t base_bytes, std::size_t delta_bytes) noexcept {
  constexpr std::size_t floor = std::size_t{1} << 20, most = static_cast<std::size_t>(-1);
  const std::size_t inputs = base_bytes > most - delta_bytes ? most : base_bytes + delta_bytes;
  return inputs > (most - floor) / 4 ? most : 4 * inputs + floor;
}

/// Options of apply_delta() and apply_delta_to().
struct ApplyOptions {
  /// The most bytes the patched document may take, counted as an upper bound of its minified size
  /// (each part copied from the base or the delta at its source size, whitespace included). An
  /// operation that would pass it throws DocumentLimitError before it allocates. Unset:
  /// default_max_document_bytes(base size, delta size).
  std::optional<std::size_t> max_document_bytes;
};

namespace apply_detail {
/// Parses both texts, applies every operation (all or nothing), then hands the patcher to `output`.
template <class Output>
decltype(auto) with_patched(std::string_view base_json, std::string_view delta_json, const ApplyOptions& options,
                            Output&& output) {
  namespace impl = ::stageflow::detail::compression;
  impl::check_simdjson_layout();
  impl::Workspace& work = impl::workspace();
  const impl::IndexedJson base = impl::parse_indexed(work.parsers[0], work.copies[0], base_json, JsonArgument::base);
  const impl::IndexedJson delta = impl::parse_indexed(work.parsers[1], work.copies[1], delta_json, JsonArgument::delta);
  impl::Patcher patcher(base, delta,
                        options.max_document_bytes.value_or(default_max_document_bytes(base_json.size(), delta_json.size())));
  patcher.apply_all();
  return output(patcher);
}
}  // namespace apply_detail

/// `base_json` with the RFC 6902 JSON Patch `delta_json` applied, minified. All or nothing:
/// throws DeltaError when an operation does not fit (nothing is returned), ParseError when
/// either text is not valid JSON, DocumentLimitError (a DeltaError) when the document would pass
/// options.max_document_bytes.
inline std::string apply_delta(std::string_view base_json, std::string_view delta_json,
                               const ApplyOptions& options = {}) {
  return apply_detail::with_patched(base_json, delta_json, options, [](auto& patcher) { return patcher.serialize(); });
}

/// As apply_delta, but hands the patched document to `write(std::string_view)` in order, in
/// pieces of about 1 MiB, instead of returning it: for a document too large to hold twice (the
/// stageflow-delta command writes it to standard output so). All or nothing as well: a DeltaError
/// or ParseError is thrown before the first piece.
template <class Write>
  requires std::invocable<Write&, std::string_view>
void apply_delta_to(std::string_view base_json, std::string_view delta_json, Write&& write,
                    const ApplyOptions& options = {}) {
  apply_detail::with_patched(base_json, delta_json, options, [&](auto& patcher) { patcher.serialize_to(write); });
}

/// The delta between two values of a reflected type (a ContextSnapshot, or any type the
/// serialization walk knows): their canonical JSON, compressed. Apply it to `to_json(base)`:
///
///   auto [delta, metrics] = compress(snapshot_before, snapshot_after);
///   apply_delta(serialization::to_json(snapshot_before), delta) == serialization::to_json(snapshot_after)
template <class T>
  requires(!std::is_convertible_v<const T&, std::string_view> && serialization::Walkable<T>)
CompressResult compress(const T& base, const T& current) {
  return compress(std::string_view(serialization::to_json(base)), std::string_view(serialization::to_json(current)));
}

/// Frees this thread's parsers and buffers (they are rebuilt on the next call).
inline void release_thread_buffers() noexcept {
  detail::compression::workspace_slot().reset();
  detail::compression::minify_buffer().release();
}

}  // namespace stageflow::compression
