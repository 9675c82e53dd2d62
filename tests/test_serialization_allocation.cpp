// SPDX-License-Identifier: BSL-1.0
// "No allocation on the hot path", checked: this program counts every operator new.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/serialization/byte_count.hpp>
#include <stageflow/serialization/fingerprint.hpp>
#include <stageflow/serialization/fingerprint_tree.hpp>
#include <stageflow/serialization/json_writer.hpp>
#include <stageflow/serialization/value_image.hpp>
#include <stageflow/hardening/immutability_interceptor.hpp>
#include <stageflow/runner/runner.hpp>

#include <boost/hana/define_struct.hpp>

#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "catch2_shim.hpp"

namespace {
thread_local std::size_t allocations = 0;
}  // namespace

// Every form of the global allocation functions, so that all of them pair malloc with free.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new(std::size_t size) {
  if (void* p = ::operator new(size, std::nothrow)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  ++allocations;
  const auto alignment = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return ::operator new(size, std::nothrow); }
void* operator new[](std::size_t size, std::align_val_t align) { return ::operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

/// Allocations made by `f` on this thread.
template <class F>
std::size_t allocations_in(F&& f) {
  const std::size_t before = allocations;
  f();
  return allocations - before;
}

struct Shapes {
  BOOST_HANA_DEFINE_STRUCT(Shapes, (stageflow::ContextSnapshot, snapshot),
                           (std::unordered_map<std::string, std::vector<double>>, series),
                           (std::map<int, std::string>, names));
};

Shapes sample() {
  Shapes shapes;
  shapes.snapshot.run = stageflow::RunIdentity::generate();
  shapes.snapshot.messages = {{"user", "a long enough message to live on the heap"}, {"assistant", "ok"}};
  // Built by hand, not parsed: simdjson's shared library allocates with its own operator new, which
  // this program's replacement would then free (a mismatch sanitizers rightly refuse).
  shapes.snapshot.metadata["user"]["tier"] = "gold";
  shapes.snapshot.metadata["user"]["tags"] = stageflow::JsonValue::array({"a", "b"});
  shapes.snapshot.metadata["score"] = 0.25;
  shapes.snapshot.metadata["n"] = 12345678901234;
  for (int i = 0; i < 64; ++i) shapes.series["s" + std::to_string(i)] = {i * 0.5, -1.0 / (i + 1)};
  shapes.names = {{10, "ten"}, {2, "two"}};
  return shapes;
}

}  // namespace

TEST_CASE("byte_count never allocates", "[serialization][allocation]") {
  const Shapes shapes = sample();
  std::size_t bytes = 0;
  CHECK(allocations_in([&] { bytes = stageflow::serialization::byte_count(shapes); }) == 0);
  std::string text;
  CHECK(allocations_in([&] { text = stageflow::serialization::to_json(shapes); }) > 0);  // the counter counts
  CHECK(bytes == text.size());
}

TEST_CASE("a warm fingerprint and a warm tree recording do not allocate", "[serialization][allocation]") {
  const Shapes shapes = sample();
  const std::uint64_t first = stageflow::serialization::fingerprint(shapes);  // grows the thread's buffers
  std::uint64_t again = 0;
  CHECK(allocations_in([&] { again = stageflow::serialization::fingerprint(shapes); }) == 0);
  CHECK(again == first);

  stageflow::serialization::FingerprintTree before;
  stageflow::serialization::FingerprintTree after;
  before.record(shapes);
  after.record(shapes);
  CHECK(allocations_in([&] {
          before.record(shapes);
          after.record(shapes);
        }) == 0);
  // An unchanged value: the comparison costs nothing either.
  CHECK(allocations_in([&] { CHECK(stageflow::serialization::changed_fields(before, after).empty()); }) == 0);
}

TEST_CASE("a reused JsonWriter writes into a reused string without allocating", "[serialization][allocation]") {
  const Shapes shapes = sample();  // has hash containers, which the writer sorts in scratch buffers
  stageflow::serialization::JsonWriter writer;
  std::string out;
  writer.append(out, shapes);
  const std::string first = out;
  CHECK(allocations_in([&] {
          out.clear();
          writer.append(out, shapes);
        }) == 0);
  CHECK(out == first);
}

TEST_CASE("a warm value image records and compares without allocating", "[serialization][allocation]") {
  const Shapes shapes = sample();  // hash containers: their entries are sorted in scratch buffers
  stageflow::serialization::ValueImage before;
  stageflow::serialization::ValueImage after;
  before.record(shapes);
  after.record(shapes);
  bool same = false;
  CHECK(allocations_in([&] {
          after.record(shapes);
          same = after == before;
        }) == 0);
  CHECK(same);
}

namespace {
struct Enrich {
  static constexpr std::string_view name = "enrich";
  std::vector<int> execute() const { return {1, 2, 3}; }  // allocates: the same in both runners
};
struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = stageflow::after<Enrich>;
  std::size_t execute(const auto& ctx) const { return stageflow::input<Enrich>(ctx)->size(); }
};
}  // namespace

TEST_CASE("a warm ImmutabilityInterceptor adds no allocation to a run", "[serialization][allocation][immutability]") {
  const Shapes shapes = sample();
  const stageflow::Pipeline<Enrich, Reply> pipeline;
  const stageflow::Runner<> plain;
  const stageflow::Runner<stageflow::pipeline::ImmutabilityInterceptor> checked;
  REQUIRE(checked.run(pipeline, shapes).ok());  // the first run on this thread grows the images
  REQUIRE(plain.run(pipeline, shapes).ok());
  const std::size_t baseline = allocations_in([&] { CHECK(plain.run(pipeline, shapes).ok()); });
  CHECK(allocations_in([&] { CHECK(checked.run(pipeline, shapes).ok()); }) == baseline);
  // Nothing kept warm (keep_warm_bytes = 0): every run grows its images anew.
  const stageflow::Runner<stageflow::pipeline::ImmutabilityInterceptor> cold{
      stageflow::pipeline::ImmutabilityInterceptor({.keep_warm_bytes = 0})};
  REQUIRE(cold.run(pipeline, shapes).ok());
  CHECK(allocations_in([&] { CHECK(cold.run(pipeline, shapes).ok()); }) > baseline);
}
