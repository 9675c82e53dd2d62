// SPDX-License-Identifier: BSL-1.0
// Delta compression benchmarks on the shared documents (twitter.json, citm_catalog.json) with a
// few edits spread over the document (a value changed, a member added, an array element removed
// and another inserted, so later elements shift):
//   compress      vs simdjson merely parsing both documents (the floor)      goal <= 1.5x
//   compress      vs nlohmann parse both + json::diff + dump                 goal >= 20x faster
//   apply_delta   vs nlohmann parse both + json::patch + dump                goal >= 20x faster
// Each document as shipped (pretty-printed) and minified. The delta sizes are reported as the
// counter delta_bytes on the compress and nlohmann diff rows.
//
//   build/release/benchmarks/bench_compression --benchmark_min_time=1
#include <stageflow/compression.hpp>

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ratio_main.hpp"
#include "shared_data.hpp"

#if __has_include(<nlohmann/json.hpp>)
#  include <nlohmann/json.hpp>
#  define STAGEFLOW_HAVE_NLOHMANN 1
#endif

namespace {

struct TextEdit {
  std::size_t offset;
  std::size_t erase;
  std::string insert;
};

// Byte span of the value at a JSON Pointer, found with simdjson On-Demand (trailing whitespace cut).
std::pair<std::size_t, std::size_t> span_of(const std::string& text, const char* pointer) {
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(text);
  auto document = parser.iterate(padded);
  std::string_view raw;
  auto value = document.at_pointer(pointer);
  if (value.error()) throw std::runtime_error(std::string("no value at ") + pointer);
  simdjson::ondemand::json_type type;
  if (value.type().get(type)) throw std::runtime_error("bad value");
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object object;
    if (value.get_object().get(object) || object.raw_json().get(raw)) throw std::runtime_error("no raw json");
  } else if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array array;
    if (value.get_array().get(array) || array.raw_json().get(raw)) throw std::runtime_error("no raw json");
  } else {
    if (value.raw_json_token().get(raw)) throw std::runtime_error("no raw token");
  }
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
    raw.remove_suffix(1);
  return {static_cast<std::size_t>(raw.data() - padded.data()), raw.size()};
}

// An array element's span with the separator that follows it (up to the next element).
std::pair<std::size_t, std::size_t> element_with_separator(const std::string& text, const char* pointer) {
  auto [offset, size] = span_of(text, pointer);
  std::size_t end = offset + size;
  while (end < text.size() && text[end] != ',') ++end;
  ++end;
  while (end < text.size() && (text[end] == ' ' || text[end] == '\n' || text[end] == '\r' || text[end] == '\t')) ++end;
  return {offset, end - offset};
}

std::string apply_text_edits(std::string text, std::vector<TextEdit> edits) {
  std::sort(edits.begin(), edits.end(), [](const TextEdit& a, const TextEdit& b) { return a.offset > b.offset; });
  for (const TextEdit& edit : edits) text.replace(edit.offset, edit.erase, edit.insert);
  return text;
}

// A few edits, made on the text so the current document keeps the base's formatting.
std::string twitter_edits(const std::string& base) {
  const auto [count_at, count_size] = span_of(base, "/statuses/20/user/followers_count");
  const auto [text_at, text_size] = span_of(base, "/statuses/45/text");
  const auto [object_at, object_size] = span_of(base, "/statuses/80/user");
  const auto [removed_at, removed_size] = element_with_separator(base, "/statuses/57");
  const auto [copied_at, copied_size] = element_with_separator(base, "/statuses/3");
  const auto [before_at, before_size] = span_of(base, "/statuses/10");
  (void)object_size;
  (void)before_size;
  return apply_text_edits(base, {
                                    {count_at, count_size, "123457"},
                                    {text_at, text_size, "\"an edited tweet\""},
                                    {object_at + 1, 0, "\"edited\": true, "},
                                    {removed_at, removed_size, ""},
                                    {before_at, 0, base.substr(copied_at, copied_size)},
                                });
}

std::string citm_edits(const std::string& base) {
  const auto [price_at, price_size] = span_of(base, "/performances/30/prices/0/amount");
  const auto [name_at, name_size] = span_of(base, "/venueNames/PLEYEL_PLEYEL");
  const auto [events_at, events_size] = span_of(base, "/events");
  const auto [removed_at, removed_size] = element_with_separator(base, "/performances/100");
  const auto [copied_at, copied_size] = element_with_separator(base, "/performances/7");
  const auto [before_at, before_size] = span_of(base, "/performances/200");
  (void)events_size;
  (void)before_size;
  return apply_text_edits(base, {
                                    {price_at, price_size, "1234"},
                                    {name_at, name_size, "\"Salle Pleyel (renamed)\""},
                                    {events_at + 1, 0, "\"1\": {\"name\": \"new event\"}, "},
                                    {removed_at, removed_size, ""},
                                    {before_at, 0, base.substr(copied_at, copied_size)},
                                });
}

struct Documents {
  std::string base, current, delta;
  simdjson::padded_string base_padded, current_padded;
};

// name -> documents; absent when the shared data is missing.
const Documents* documents(const std::string& name) {
  static std::map<std::string, std::optional<Documents>> cache;
  auto found = cache.find(name);
  if (found != cache.end()) return found->second ? &*found->second : nullptr;
  auto& slot = cache[name];
  const bool minified = name.find("-minified") != std::string::npos;
  const bool twitter = name.rfind("twitter", 0) == 0;
  const auto file = stageflow::testing::shared_data_file(twitter ? "json/twitter.json" : "json/citm_catalog.json");
  if (!file) return nullptr;
  Documents docs;
  docs.base = stageflow::testing::read_file(*file);
  docs.current = twitter ? twitter_edits(docs.base) : citm_edits(docs.base);
  if (minified) {
    docs.base = stageflow::compression::apply_delta(docs.base, "[]");
    docs.current = stageflow::compression::apply_delta(docs.current, "[]");
  }
  docs.delta = stageflow::compression::compress(docs.base, docs.current).delta;
  if (stageflow::compression::compress(stageflow::compression::apply_delta(docs.base, docs.delta), docs.current).delta != "[]")
    throw std::logic_error("benchmark documents do not round-trip");
  docs.base_padded = simdjson::padded_string(docs.base);
  docs.current_padded = simdjson::padded_string(docs.current);
  slot = std::move(docs);
  return &*slot;
}

#define STAGEFLOW_DOCUMENTS_OR_SKIP(docs, name)                                                  \
  const Documents* docs = documents(name);                                                       \
  if (docs == nullptr) {                                                                         \
    state.SkipWithError("shared data not found (set STAGEFLOW_DATA_DIR or run from meson)"); \
    return;                                                                                      \
  }

void compress_delta(benchmark::State& state, std::string name) {
  STAGEFLOW_DOCUMENTS_OR_SKIP(docs, name);
  std::size_t delta_bytes = 0;
  for (auto _ : state) {
    auto result = stageflow::compression::compress(docs->base, docs->current);
    delta_bytes = result.delta.size();
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (docs->base.size() + docs->current.size())));
  state.counters["delta_bytes"] = static_cast<double>(delta_bytes);
}

void simdjson_parse_both(benchmark::State& state, std::string name) {
  STAGEFLOW_DOCUMENTS_OR_SKIP(docs, name);
  simdjson::dom::parser base_parser, current_parser;
  for (auto _ : state) {
    auto base = base_parser.parse(docs->base_padded);
    auto current = current_parser.parse(docs->current_padded);
    if (base.error() || current.error()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(base);
    benchmark::DoNotOptimize(current);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (docs->base.size() + docs->current.size())));
}

void apply(benchmark::State& state, std::string name) {
  STAGEFLOW_DOCUMENTS_OR_SKIP(docs, name);
  for (auto _ : state) {
    std::string rebuilt = stageflow::compression::apply_delta(docs->base, docs->delta);
    benchmark::DoNotOptimize(rebuilt);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (docs->base.size() + docs->delta.size())));
}

// Issue 25, defect 14: a patch of 1M "add /a/0" (front inserts) against the same 1M values
// appended ("add /a/-"), the linear baseline. Quadratic, the front inserts took over 5 minutes.
constexpr int edits = 1'000'000;

std::string patch_of(std::string_view path) {
  std::string patch = "[";
  for (int i = 0; i < edits; ++i) {
    if (i) patch += ',';
    patch += R"({"op":"add","path":")";
    patch += path;
    patch += R"(","value":)" + std::to_string(i) + "}";
  }
  return patch + "]";
}

void apply_edits(benchmark::State& state, std::string_view path) {
  static const std::string front = patch_of("/a/0"), append = patch_of("/a/-");
  const std::string& patch = path == "/a/0" ? front : append;
  for (auto _ : state) {
    std::string rebuilt = stageflow::compression::apply_delta(R"({"a":[]})", patch);
    benchmark::DoNotOptimize(rebuilt);
  }
  state.counters["edits"] = edits;
}
void apply_front_inserts(benchmark::State& state) { apply_edits(state, "/a/0"); }
void apply_appends(benchmark::State& state) { apply_edits(state, "/a/-"); }
BENCHMARK(apply_front_inserts)->Unit(benchmark::kMillisecond);
BENCHMARK(apply_appends)->Unit(benchmark::kMillisecond);
// Goal: near-linear, 1M front inserts within 2 times 1M appends.
STAGEFLOW_BENCHMARK_RATIO("apply_delta 1M front inserts vs 1M appends", "apply_front_inserts", "apply_appends", 2.0);

#ifdef STAGEFLOW_HAVE_NLOHMANN
void nlohmann_diff(benchmark::State& state, std::string name) {
  STAGEFLOW_DOCUMENTS_OR_SKIP(docs, name);
  std::size_t delta_bytes = 0;
  for (auto _ : state) {
    const auto base = nlohmann::json::parse(docs->base);
    const auto current = nlohmann::json::parse(docs->current);
    std::string delta = nlohmann::json::diff(base, current).dump();
    delta_bytes = delta.size();
    benchmark::DoNotOptimize(delta);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (docs->base.size() + docs->current.size())));
  state.counters["delta_bytes"] = static_cast<double>(delta_bytes);
}

void nlohmann_patch(benchmark::State& state, std::string name) {
  STAGEFLOW_DOCUMENTS_OR_SKIP(docs, name);
  for (auto _ : state) {
    const auto base = nlohmann::json::parse(docs->base);
    const auto delta = nlohmann::json::parse(docs->delta);
    std::string rebuilt = base.patch(delta).dump();
    benchmark::DoNotOptimize(rebuilt);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (docs->base.size() + docs->delta.size())));
}
#endif

}  // namespace

// Registered in this order: each document's compress, floor and apply, then nlohmann's.
#define STAGEFLOW_COMPRESSION_BENCHMARKS(document)                                              \
  BENCHMARK_CAPTURE(compress_delta, document, #document)->Unit(benchmark::kMicrosecond);       \
  BENCHMARK_CAPTURE(simdjson_parse_both, document, #document)->Unit(benchmark::kMicrosecond); \
  BENCHMARK_CAPTURE(apply, document, #document)->Unit(benchmark::kMicrosecond)

STAGEFLOW_COMPRESSION_BENCHMARKS(twitter);
STAGEFLOW_COMPRESSION_BENCHMARKS(twitter-minified);
STAGEFLOW_COMPRESSION_BENCHMARKS(citm);
STAGEFLOW_COMPRESSION_BENCHMARKS(citm-minified);

STAGEFLOW_BENCHMARK_RATIO("compress vs simdjson parse of both (twitter)", "compress_delta/twitter",
                          "simdjson_parse_both/twitter", 1.5);
STAGEFLOW_BENCHMARK_RATIO("compress vs simdjson parse of both (twitter-minified)", "compress_delta/twitter-minified",
                          "simdjson_parse_both/twitter-minified", 1.5);
STAGEFLOW_BENCHMARK_RATIO("compress vs simdjson parse of both (citm)", "compress_delta/citm",
                          "simdjson_parse_both/citm", 1.5);
STAGEFLOW_BENCHMARK_RATIO("compress vs simdjson parse of both (citm-minified)", "compress_delta/citm-minified",
                          "simdjson_parse_both/citm-minified", 1.5);

#ifdef STAGEFLOW_HAVE_NLOHMANN
#  define STAGEFLOW_NLOHMANN_BENCHMARKS(document)                                       \
    BENCHMARK_CAPTURE(nlohmann_diff, document, #document)->Unit(benchmark::kMicrosecond); \
    BENCHMARK_CAPTURE(nlohmann_patch, document, #document)->Unit(benchmark::kMicrosecond)

STAGEFLOW_NLOHMANN_BENCHMARKS(twitter);
STAGEFLOW_NLOHMANN_BENCHMARKS(twitter-minified);
STAGEFLOW_NLOHMANN_BENCHMARKS(citm);
STAGEFLOW_NLOHMANN_BENCHMARKS(citm-minified);

// Goal: at least 20 times faster, a ratio of at most 0.05.
STAGEFLOW_BENCHMARK_RATIO("compress vs nlohmann parse+diff+dump (twitter)", "compress_delta/twitter",
                          "nlohmann_diff/twitter", 0.05);
STAGEFLOW_BENCHMARK_RATIO("compress vs nlohmann parse+diff+dump (twitter-minified)", "compress_delta/twitter-minified",
                          "nlohmann_diff/twitter-minified", 0.05);
STAGEFLOW_BENCHMARK_RATIO("compress vs nlohmann parse+diff+dump (citm)", "compress_delta/citm",
                          "nlohmann_diff/citm", 0.05);
STAGEFLOW_BENCHMARK_RATIO("compress vs nlohmann parse+diff+dump (citm-minified)", "compress_delta/citm-minified",
                          "nlohmann_diff/citm-minified", 0.05);
STAGEFLOW_BENCHMARK_RATIO("apply_delta vs nlohmann parse+patch+dump (twitter)", "apply/twitter",
                          "nlohmann_patch/twitter", 0.05);
STAGEFLOW_BENCHMARK_RATIO("apply_delta vs nlohmann parse+patch+dump (twitter-minified)", "apply/twitter-minified",
                          "nlohmann_patch/twitter-minified", 0.05);
STAGEFLOW_BENCHMARK_RATIO("apply_delta vs nlohmann parse+patch+dump (citm)", "apply/citm",
                          "nlohmann_patch/citm", 0.05);
STAGEFLOW_BENCHMARK_RATIO("apply_delta vs nlohmann parse+patch+dump (citm-minified)", "apply/citm-minified",
                          "nlohmann_patch/citm-minified", 0.05);
#endif

STAGEFLOW_BENCHMARK_MAIN();
