// SPDX-License-Identifier: BSL-1.0
// Fingerprint and byte count of a snapshot holding a real JSON document, against the Python
// original's method: serialize the snapshot to a string, then compare it with the string taken
// before the stage (immutability) or take its size (context size).
//
// Throughput is in bytes of the snapshot's canonical JSON per second, the same for every line, so
// the rates compare directly. Run from a release build:
//   build/release/benchmarks/bench_serialization --benchmark_min_time=0.5
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/fingerprint.hpp>
#include <stageflow/serialization/fingerprint_tree.hpp>
#include <stageflow/serialization/json_parse.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/serialization/value_image.hpp>
#include <stageflow/serialization/walk.hpp>

#include <boost/uuid/uuid.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "ratio_main.hpp"
#include "shared_data.hpp"

#if __has_include(<nlohmann/json.hpp>)
#  include <nlohmann/json.hpp>
#  define STAGEFLOW_HAVE_NLOHMANN 1
#endif

namespace {

using stageflow::ContextSnapshot;
namespace ser = stageflow::serialization;

struct Fixture {
  ContextSnapshot snapshot;
  std::string json;  // its canonical JSON, taken "before the stage"
#ifdef STAGEFLOW_HAVE_NLOHMANN
  nlohmann::json peer;  // the same snapshot as nlohmann::json
#endif
};

/// The snapshot for a shared document, loaded once; nullptr when the data is absent.
const Fixture* fixture(const std::string& document) {
  static std::map<std::string, std::unique_ptr<Fixture>> loaded;
  auto [it, inserted] = loaded.try_emplace(document);
  if (inserted) {
    const auto path = stageflow::testing::shared_data_file(document);
    if (!path) return nullptr;
    auto f = std::make_unique<Fixture>();
    f->snapshot.run = stageflow::RunIdentity::generate();
    f->snapshot.input_text = "summarise the timeline";
    f->snapshot.messages = {{"system", "you are a helpful assistant"}, {"user", "summarise the timeline"}};
    f->snapshot.metadata = ser::parse_json(stageflow::testing::read_file(*path));
    f->snapshot.topology = "chat";
    f->snapshot.execution_mode = "practice";
    f->json = ser::to_json(f->snapshot);
#ifdef STAGEFLOW_HAVE_NLOHMANN
    f->peer = nlohmann::json::parse(f->json);
#endif
    it->second = std::move(f);
  }
  return it->second.get();
}

#define STAGEFLOW_LOAD_OR_SKIP(state, document)                                           \
  const Fixture* f = fixture(document);                                                   \
  if (f == nullptr) {                                                                     \
    (state).SkipWithError("shared data not found: set STAGEFLOW_DATA_DIR (data_dir option)"); \
    return;                                                                               \
  }

void set_rate(benchmark::State& state, const Fixture& f) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(f.json.size()));
}

// ---- Ours -------------------------------------------------------------------------------------

void BM_fingerprint(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  const std::uint64_t before = ser::fingerprint(f->snapshot);
  for (auto _ : state) {
    const bool unchanged = ser::fingerprint(f->snapshot) == before;
    benchmark::DoNotOptimize(unchanged);
  }
  set_rate(state, *f);
}

void BM_byte_count(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  for (auto _ : state) benchmark::DoNotOptimize(ser::byte_count(f->snapshot));
  set_rate(state, *f);
}

/// One recording with per-field hashes: what the immutability check pays before or after a stage.
void BM_fingerprint_tree(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  ser::FingerprintTree tree;
  for (auto _ : state) benchmark::DoNotOptimize(tree.record(f->snapshot));
  set_rate(state, *f);
  state.counters["nodes"] = static_cast<double>(tree.size());
}

/// A stage boundary of an immutability check: record the snapshot after the stage and compare the
/// recording with the one from before it, which (unchanged) serves the next stage as its "before".
template <class Recording, class Same>
void check_per_stage(benchmark::State& state, const Fixture& f, Same same) {
  Recording before;
  Recording after;
  before.record(f.snapshot);
  for (auto _ : state) {
    after.record(f.snapshot);
    const bool unchanged = same(before, after);
    benchmark::DoNotOptimize(unchanged);
  }
  set_rate(state, f);
}

/// With per-field hashes (the FingerprintTree the check used before): compare the root hashes.
void BM_immutability_check_per_stage(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  check_per_stage<ser::FingerprintTree>(
      state, *f, [](const auto& before, const auto& after) { return before.root_hash() == after.root_hash(); });
}

/// As the ImmutabilityInterceptor does it now: ValueImages, compared with memcmp.
void BM_value_image_per_stage(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  check_per_stage<ser::ValueImage>(state, *f, [](const auto& before, const auto& after) { return before == after; });
  ser::ValueImage image;
  image.record(f->snapshot);
  state.counters["image_bytes"] = static_cast<double>(image.bytes().size());
}

/// The floor of any "did it change?" check: one memcmp of the canonical JSON's size.
void BM_memcmp_floor(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  const std::string copy = f->json;
  for (auto _ : state) {
    benchmark::DoNotOptimize(copy.data());
    const bool same = std::memcmp(copy.data(), f->json.data(), copy.size()) == 0;
    benchmark::DoNotOptimize(same);
  }
  set_rate(state, *f);
}

/// The floor of anything that walks the value: a visitor that only counts what it is shown. The
/// fingerprint, the byte count and to_json all pay this walk and then their own work on each node.
struct CountingVisitor {
  std::size_t nodes = 0;
  void null() noexcept { ++nodes; }
  void boolean(bool) noexcept { ++nodes; }
  void integer(std::int64_t) noexcept { ++nodes; }
  void integer(std::uint64_t) noexcept { ++nodes; }
  template <class Float>
  void floating(Float) noexcept {
    ++nodes;
  }
  void string(std::string_view) noexcept { ++nodes; }
  void uuid(const boost::uuids::uuid&) noexcept { ++nodes; }
  void begin_variant(std::size_t) noexcept {}
  void begin_struct(std::size_t) noexcept { ++nodes; }
  void member(std::string_view, std::size_t) noexcept {}
  void end_struct(std::size_t) noexcept {}
  void begin_array(ser::Order) noexcept { ++nodes; }
  void element(std::size_t) noexcept {}
  void end_array(ser::Order, std::size_t) noexcept {}
  void begin_object(ser::Order) noexcept { ++nodes; }
  template <class Key>
  void key(const Key&, std::size_t) noexcept {}
  void end_entry(std::size_t) noexcept {}
  void end_object(ser::Order, std::size_t) noexcept {}
};

void BM_walk_floor(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  std::size_t nodes = 0;
  for (auto _ : state) {
    CountingVisitor visitor;
    ser::walk(f->snapshot, visitor);
    nodes = visitor.nodes;
    benchmark::DoNotOptimize(nodes);
  }
  set_rate(state, *f);
  state.counters["values"] = static_cast<double>(nodes);
}

// ---- The Python original's method, in C++ with our fast writer ---------------------------------

/// Serialize into a fresh string (what json.dumps does), compare with the string taken before.
void BM_serialize_then_compare(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  for (auto _ : state) {
    const std::string now = ser::to_json(f->snapshot);
    const bool unchanged = now == f->json;
    benchmark::DoNotOptimize(unchanged);
  }
  set_rate(state, *f);
}

/// The same with the string's buffer reused: the strongest form of the baseline.
void BM_serialize_reused_then_compare(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  ser::JsonWriter writer;
  std::string now;
  for (auto _ : state) {
    now.clear();
    writer.append(now, f->snapshot);
    const bool unchanged = now == f->json;
    benchmark::DoNotOptimize(unchanged);
  }
  set_rate(state, *f);
}

void BM_serialize_then_size(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  for (auto _ : state) benchmark::DoNotOptimize(ser::to_json(f->snapshot).size());
  set_rate(state, *f);
}

/// A stage boundary the Python way, done as cheaply: serialize after the stage, compare with the
/// text from before it, keep it for the next stage. (The Python original serializes twice.)
void BM_serialize_per_stage(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  std::string before = ser::to_json(f->snapshot);
  for (auto _ : state) {
    std::string after = ser::to_json(f->snapshot);
    const bool unchanged = before == after;
    benchmark::DoNotOptimize(unchanged);
    before = std::move(after);
  }
  set_rate(state, *f);
}

#ifdef STAGEFLOW_HAVE_NLOHMANN
/// A general-purpose JSON library doing the same: dump the document, compare.
void BM_nlohmann_dump_then_compare(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  const std::string stored = f->peer.dump();
  for (auto _ : state) {
    const std::string now = f->peer.dump();
    const bool unchanged = now == stored;
    benchmark::DoNotOptimize(unchanged);
  }
  set_rate(state, *f);
}

void BM_nlohmann_dump_then_size(benchmark::State& state, const char* document) {
  STAGEFLOW_LOAD_OR_SKIP(state, document);
  for (auto _ : state) benchmark::DoNotOptimize(f->peer.dump().size());
  set_rate(state, *f);
}
#endif

}  // namespace

BENCHMARK_CAPTURE(BM_fingerprint, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_byte_count, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_fingerprint_tree, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_immutability_check_per_stage, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_value_image_per_stage, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_memcmp_floor, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_walk_floor, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_serialize_then_compare, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_serialize_reused_then_compare, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_serialize_then_size, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_serialize_per_stage, twitter, "json/twitter.json");

BENCHMARK_CAPTURE(BM_fingerprint, citm, "json/citm_catalog.json");
BENCHMARK_CAPTURE(BM_byte_count, citm, "json/citm_catalog.json");
BENCHMARK_CAPTURE(BM_fingerprint_tree, citm, "json/citm_catalog.json");
BENCHMARK_CAPTURE(BM_value_image_per_stage, citm, "json/citm_catalog.json");
BENCHMARK_CAPTURE(BM_memcmp_floor, citm, "json/citm_catalog.json");
BENCHMARK_CAPTURE(BM_walk_floor, citm, "json/citm_catalog.json");
BENCHMARK_CAPTURE(BM_serialize_then_compare, citm, "json/citm_catalog.json");
BENCHMARK_CAPTURE(BM_serialize_then_size, citm, "json/citm_catalog.json");

#ifdef STAGEFLOW_HAVE_NLOHMANN
BENCHMARK_CAPTURE(BM_nlohmann_dump_then_compare, twitter, "json/twitter.json");
BENCHMARK_CAPTURE(BM_nlohmann_dump_then_size, twitter, "json/twitter.json");
#endif

// Goal (DESIGN section 6): fingerprint and byte count at least 5x faster than serialize-then-compare/measure.
STAGEFLOW_BENCHMARK_RATIO("fingerprint vs serialize+compare (twitter)", "BM_fingerprint/twitter",
                          "BM_serialize_then_compare/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("fingerprint vs serialize(reused)+compare (twitter)", "BM_fingerprint/twitter",
                          "BM_serialize_reused_then_compare/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("byte_count vs serialize+size (twitter)", "BM_byte_count/twitter",
                          "BM_serialize_then_size/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("fingerprint tree vs serialize+compare (twitter)", "BM_fingerprint_tree/twitter",
                          "BM_serialize_then_compare/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("immutability check vs serialize+compare (per stage)",
                          "BM_immutability_check_per_stage/twitter", "BM_serialize_per_stage/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("value image per stage vs serialize+compare (per stage)",
                          "BM_value_image_per_stage/twitter", "BM_serialize_per_stage/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("value image per stage vs memcmp floor (twitter)", "BM_value_image_per_stage/twitter",
                          "BM_memcmp_floor/twitter", 20);
STAGEFLOW_BENCHMARK_RATIO("value image per stage vs memcmp floor (citm)", "BM_value_image_per_stage/citm",
                          "BM_memcmp_floor/citm", 20);
STAGEFLOW_BENCHMARK_RATIO("fingerprint tree per stage vs memcmp floor (twitter)",
                          "BM_immutability_check_per_stage/twitter", "BM_memcmp_floor/twitter", 0);
STAGEFLOW_BENCHMARK_RATIO("fingerprint vs serialize+compare (citm)", "BM_fingerprint/citm",
                          "BM_serialize_then_compare/citm", 0.2);
STAGEFLOW_BENCHMARK_RATIO("byte_count vs serialize+size (citm)", "BM_byte_count/citm", "BM_serialize_then_size/citm",
                          0.2);
// What any walk costs before it does anything: the lowest ratio a fingerprint or a byte count
// (one walk each, plus a hash or a size per value) could reach against to_json.
STAGEFLOW_BENCHMARK_RATIO("walk doing nothing vs serialize+size (twitter)", "BM_walk_floor/twitter",
                          "BM_serialize_then_size/twitter", 0);
STAGEFLOW_BENCHMARK_RATIO("walk doing nothing vs serialize+size (citm)", "BM_walk_floor/citm",
                          "BM_serialize_then_size/citm", 0);
STAGEFLOW_BENCHMARK_RATIO("fingerprint vs walk doing nothing (twitter)", "BM_fingerprint/twitter",
                          "BM_walk_floor/twitter", 0);
STAGEFLOW_BENCHMARK_RATIO("byte_count vs walk doing nothing (twitter)", "BM_byte_count/twitter",
                          "BM_walk_floor/twitter", 0);
STAGEFLOW_BENCHMARK_RATIO("fingerprint tree vs fingerprint (twitter)", "BM_fingerprint_tree/twitter",
                          "BM_fingerprint/twitter", 0);
#ifdef STAGEFLOW_HAVE_NLOHMANN
STAGEFLOW_BENCHMARK_RATIO("fingerprint vs nlohmann dump+compare (twitter)", "BM_fingerprint/twitter",
                          "BM_nlohmann_dump_then_compare/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("byte_count vs nlohmann dump+size (twitter)", "BM_byte_count/twitter",
                          "BM_nlohmann_dump_then_size/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("immutability check vs nlohmann dump+compare", "BM_immutability_check_per_stage/twitter",
                          "BM_nlohmann_dump_then_compare/twitter", 0.2);
STAGEFLOW_BENCHMARK_RATIO("our serialize+compare vs nlohmann dump+compare", "BM_serialize_then_compare/twitter",
                          "BM_nlohmann_dump_then_compare/twitter", 0);
#endif

STAGEFLOW_BENCHMARK_MAIN();
