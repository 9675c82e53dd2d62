// SPDX-License-Identifier: BSL-1.0
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the ids that make a run a span of the
// caller's trace, and the `traceparent` header they travel in.
//
//   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//                ^  ^ trace id (16 bytes)             ^ parent span id   ^ flags (01: sampled)
//                version
//
//   auto parent = stageflow::TraceParent::parse(request.header("traceparent"));  // nullopt if malformed
//   std::string header = parent->format();                                    // the same 55 characters
//
// Parsing follows the specification's rules for version 00: exactly 55 characters, lowercase hex
// only, '-' separators, an all-zero trace id or span id is invalid, version ff is invalid. A later
// version (01..fe) is read by the 00 layout when the text is at least as long and the character
// after the flags is '-', as the specification asks. Optional whitespace (spaces and tabs) around
// the value is ignored, as RFC 9110 says of every field value (the W3C test suite sends it). A run
// given a malformed traceparent starts a new trace (it does not fail: tracing never breaks a request).
#pragma once

#include <stageflow/uuid/uuid7.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stageflow {

namespace detail {
/// Whether an id has a non-zero byte (all zero means "none" for trace and span ids alike).
template <std::size_t N>
constexpr bool any_byte_set(const std::array<std::uint8_t, N>& bytes) noexcept {
  for (auto b : bytes)
    if (b != 0) return true;
  return false;
}
}  // namespace detail

/// 16 bytes; all zero means "none" (invalid in a traceparent).
struct TraceId {
  std::array<std::uint8_t, 16> bytes{};
  bool is_valid() const noexcept { return detail::any_byte_set(bytes); }
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

/// 8 bytes; all zero means "none" (a root span has no parent).
struct SpanId {
  std::array<std::uint8_t, 8> bytes{};
  bool is_valid() const noexcept { return detail::any_byte_set(bytes); }
  friend bool operator==(const SpanId&, const SpanId&) = default;
};

/// What an event carries of its trace: the trace, the span the event belongs to (the run's span
/// for run-level events, the stage's span for a stage's events) and that span's parent (the
/// caller's span for the run, the run's span for a stage). All zero when the runner has no sink.
struct TraceIds {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};
  friend bool operator==(const TraceIds&, const TraceIds&) = default;
};

namespace detail {

inline constexpr char lower_hex_digits[] = "0123456789abcdef";

/// Appends bytes as lowercase hex (the encoding of traceparent and of OTLP/JSON ids).
template <std::size_t N>
void append_hex(std::string& out, const std::array<std::uint8_t, N>& bytes) {
  for (const auto b : bytes) {
    out.push_back(lower_hex_digits[b >> 4]);
    out.push_back(lower_hex_digits[b & 0xF]);
  }
}

/// Lowercase hex digit value, or -1 (uppercase is invalid in a traceparent).
constexpr int lower_hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int high = lower_hex_value(text[2 * i]);
    const int low = lower_hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return true;
}

/// Random ids: splitmix64 per thread, seeded from std::random_device (reseeded in a forked child,
/// like the UUIDv7 generator), so ids are unique across threads and processes without a lock.
class TraceIdSource {
 public:
  static std::uint64_t next() noexcept {
    thread_local TraceIdSource source;
    if (source.generation_ != helpers::detail::uuid7_fork_generation.load(std::memory_order_relaxed)) [[unlikely]]
      source.reseed();
    std::uint64_t value;
    do value = helpers::detail::splitmix64(source.state_);
    while (value == 0);  // an all-zero id is invalid
    return value;
  }

 private:
  void reseed() {
    helpers::detail::register_uuid7_fork_handler();
    state_ = helpers::RandomDeviceSeed{}() ^ reinterpret_cast<std::uintptr_t>(this);
    generation_ = helpers::detail::uuid7_fork_generation.load(std::memory_order_relaxed);
  }
  std::uint64_t state_ = 0;
  std::uint32_t generation_ = 0;  // never a live generation: the first call seeds
};

template <std::size_t N>
void store_u64(std::array<std::uint8_t, N>& bytes, std::size_t at, std::uint64_t value) noexcept {
  for (std::size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
}

}  // namespace detail

/// A fresh random trace id (never all zero).
inline TraceId random_trace_id() noexcept {
  TraceId id;
  detail::store_u64(id.bytes, 0, detail::TraceIdSource::next());
  detail::store_u64(id.bytes, 8, detail::TraceIdSource::next());
  return id;
}

/// A fresh random span id (never all zero).
inline SpanId random_span_id() noexcept {
  SpanId id;
  detail::store_u64(id.bytes, 0, detail::TraceIdSource::next());
  return id;
}

/// Lowercase hex text of an id: 32 characters for a trace id, 16 for a span id.
inline std::string to_hex(const TraceId& id) {
  std::string out;
  out.reserve(32);
  detail::append_hex(out, id.bytes);
  return out;
}
inline std::string to_hex(const SpanId& id) {
  std::string out;
  out.reserve(16);
  detail::append_hex(out, id.bytes);
  return out;
}

/// The content of a `traceparent` header: the caller's trace, the caller's span, the flags.
struct TraceParent {
  static constexpr std::size_t size = 55;  // "00-" 32 "-" 16 "-" 2
  static constexpr std::uint8_t sampled_flag = 0x01;

  TraceId trace_id{};
  SpanId parent_id{};
  std::uint8_t flags = 0;

  bool sampled() const noexcept { return (flags & sampled_flag) != 0; }

  /// The header's value, or nullopt when it is malformed (see the rules at the top of this file).
  static std::optional<TraceParent> parse(std::string_view text) noexcept {
    // RFC 9110 section 5.5: a field value has no leading or trailing OWS (spaces and tabs).
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (text.size() < size) return std::nullopt;
    std::array<std::uint8_t, 1> version{};
    if (!detail::parse_hex(text.substr(0, 2), version) || version[0] == 0xFF) return std::nullopt;
    if (version[0] == 0x00 ? text.size() != size : (text.size() > size && text[size] != '-')) return std::nullopt;
    if (text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
    TraceParent out;
    std::array<std::uint8_t, 1> flags{};
    if (!detail::parse_hex(text.substr(3, 32), out.trace_id.bytes) ||
        !detail::parse_hex(text.substr(36, 16), out.parent_id.bytes) || !detail::parse_hex(text.substr(53, 2), flags))
      return std::nullopt;
    if (!out.trace_id.is_valid() || !out.parent_id.is_valid()) return std::nullopt;
    out.flags = flags[0];
    return out;
  }

  /// Version 00 text: `00-<trace id>-<parent id>-<flags>`, lowercase.
  std::string format() const {
    std::string out;
    out.reserve(size);
    out += "00-";
    detail::append_hex(out, trace_id.bytes);
    out.push_back('-');
    detail::append_hex(out, parent_id.bytes);
    out.push_back('-');
    detail::append_hex(out, std::array<std::uint8_t, 1>{flags});
    return out;
  }

  friend bool operator==(const TraceParent&, const TraceParent&) = default;
};

}  // namespace stageflow
