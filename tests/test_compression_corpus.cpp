// SPDX-License-Identifier: BSL-1.0
// Delta compression on real and generated documents: the shared JSON documents with many kinds of
// edits, every JSONTestSuite parsing case, seeded random pairs, and a cross-check with nlohmann's
// independent JSON Patch implementation (when it is installed).
#include <stageflow/compression.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "catch2_shim.hpp"
#include "json_oracle.hpp"
#include "random_json.hpp"
#include "shared_data.hpp"

#if __has_include(<nlohmann/json.hpp>)
#  include <nlohmann/json.hpp>
#  define STAGEFLOW_HAVE_NLOHMANN 1
#endif

using stageflow::compression::apply_delta;
using stageflow::compression::compress;
using stageflow::compression::JsonArgument;
using stageflow::compression::ParseError;
using stageflow::testing::json_equal;

namespace {

#ifdef STAGEFLOW_HAVE_NLOHMANN
// nlohmann compares 1 and 1.0 as equal; we want the kinds to match too.
bool exactly_equal(const nlohmann::json& a, const nlohmann::json& b) {
  const bool int_a = a.is_number_integer(), int_b = b.is_number_integer();
  if (a.is_number() && b.is_number()) {
    if (int_a != int_b) return false;
    if (!int_a) return a.get<double>() == b.get<double>() && std::signbit(a.get<double>()) == std::signbit(b.get<double>());
    if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<std::uint64_t>() == b.get<std::uint64_t>();
    if (a.is_number_unsigned() || b.is_number_unsigned()) {
      const auto& u = a.is_number_unsigned() ? a : b;
      const auto& s = a.is_number_unsigned() ? b : a;
      return s.get<std::int64_t>() >= 0 && static_cast<std::uint64_t>(s.get<std::int64_t>()) == u.get<std::uint64_t>();
    }
    return a.get<std::int64_t>() == b.get<std::int64_t>();
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!exactly_equal(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto found = b.find(it.key());
      if (found == b.end() || !exactly_equal(it.value(), *found)) return false;
    }
    return true;
  }
  return a == b;
}

// Our delta, applied by nlohmann's json::patch, gives the current document.
void check_nlohmann_applies(std::string_view base, std::string_view current, const std::string& delta) {
  const auto patched = nlohmann::json::parse(base).patch(nlohmann::json::parse(delta));
  CHECK(exactly_equal(patched, nlohmann::json::parse(current)));
}
#else
void check_nlohmann_applies(std::string_view, std::string_view, const std::string&) {}
#endif

// The round trip every delta must survive; returns the delta.
std::string check_round_trip(std::string_view base, std::string_view current) {
  const auto [delta, metrics] = compress(base, current);
  INFO("delta: " << delta.substr(0, 2000));
  const std::string rebuilt = apply_delta(base, delta);
  CHECK(json_equal(rebuilt, current));
  CHECK(metrics.delta_bytes == delta.size());
  CHECK(compress(rebuilt, current).delta == "[]");
  return delta;
}

std::vector<std::filesystem::path> test_parsing_files(char prefix) {
  std::vector<std::filesystem::path> files;
  const auto dir = stageflow::testing::shared_data_dir();
  if (!dir) return files;
  const auto folder = *dir / "JSONTestSuite" / "test_parsing";
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 2 && name[0] == prefix && name[1] == '_' && entry.path().extension() == ".json")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

template <class Call>
void check_rejects(Call&& call, JsonArgument argument, const std::string& name) {
  INFO(name << " as " << stageflow::compression::to_string(argument));
  try {
    call();
    FAIL("accepted");
  } catch (const ParseError& error) {
    CHECK(error.argument() == argument);
    CHECK_THAT(error.what(), Catch::Contains(std::string(stageflow::compression::to_string(argument)) + " is not valid JSON"));
    // The position checker finds the error simdjson found.
    CHECK(error.has_position());
  }
}

}  // namespace

TEST_CASE("JSONTestSuite: every n_ file is rejected as base, current and delta", "[compression][corpus]") {
  const auto files = test_parsing_files('n');
  if (files.empty()) STAGEFLOW_SKIP("JSONTestSuite/test_parsing not found (set STAGEFLOW_DATA_DIR)");
  CHECK(files.size() > 150);
  for (const auto& file : files) {
    const std::string text = stageflow::testing::read_file(file);
    const std::string name = file.filename().string();
    check_rejects([&] { (void)compress(text, "{}"); }, JsonArgument::base, name);
    check_rejects([&] { (void)compress("{}", text); }, JsonArgument::current, name);
    check_rejects([&] { (void)apply_delta(text, "[]"); }, JsonArgument::base, name);
    check_rejects([&] { (void)apply_delta("{}", text); }, JsonArgument::delta, name);
  }
}

TEST_CASE("JSONTestSuite: every y_ file round-trips", "[compression][corpus]") {
  const auto files = test_parsing_files('y');
  if (files.empty()) STAGEFLOW_SKIP("JSONTestSuite/test_parsing not found (set STAGEFLOW_DATA_DIR)");
  CHECK(files.size() > 90);
  std::string previous = "null";
  for (const auto& file : files) {
    const std::string text = stageflow::testing::read_file(file);
    INFO(file.filename().string());
    CHECK(compress(text, text).delta == "[]");
    CHECK(json_equal(apply_delta(text, "[]"), text));
    // Against the previous file (another kind of root, other contents), both ways.
    const std::string forward = check_round_trip(previous, text);
    const std::string backward = check_round_trip(text, previous);
    check_nlohmann_applies(previous, text, forward);
    check_nlohmann_applies(text, previous, backward);
    previous = text;
  }
}

namespace {

struct Edit {
  const char* name;
  const char* patch;  // applied to the base to make the current document
  // Our values are the current document's text; nlohmann re-serializes its values (an escaped
  // "\u00e9" comes out as raw UTF-8), so sizes compare only when the edit has no such escapes.
  bool compare_size_with_nlohmann = true;
};

void check_document_edits(const std::string& base, const std::vector<Edit>& edits) {
  const std::string minified = stageflow::testing::minify_json(base);
  // Formatting alone is no change.
  CHECK(compress(base, minified).delta == "[]");
  CHECK(compress(minified, base).delta == "[]");
  for (const Edit& edit : edits) {
    INFO("edit: " << edit.name);
    const std::string current = apply_delta(base, edit.patch);
    const std::string delta = check_round_trip(base, current);
    check_nlohmann_applies(base, current, delta);
    // A pretty base against a minified current and the other way round.
    check_round_trip(minified, current);
    check_round_trip(current, base);
    // Small edits give small deltas.
    CHECK(delta.size() < minified.size() / 4);
#ifdef STAGEFLOW_HAVE_NLOHMANN
    // No larger than nlohmann's delta, when nlohmann's is right (it thinks 0 and 0.0 are equal).
    const auto base_json = nlohmann::json::parse(base), current_json = nlohmann::json::parse(current);
    const auto theirs = nlohmann::json::diff(base_json, current_json);
    if (edit.compare_size_with_nlohmann && exactly_equal(base_json.patch(theirs), current_json)) {
      INFO("ours " << delta.size() << " bytes, nlohmann's " << theirs.dump().size() << " bytes");
      CHECK(delta.size() <= theirs.dump().size());
    }
#endif
  }
}

}  // namespace

TEST_CASE("Shared documents: twitter.json with many kinds of edits", "[compression][corpus]") {
  const auto file = stageflow::testing::shared_data_file("json/twitter.json");
  if (!file) STAGEFLOW_SKIP("json/twitter.json not found (set STAGEFLOW_DATA_DIR)");
  const std::string base = stageflow::testing::read_file(*file);
  check_document_edits(
      base,
      {
          {"number changed", R"([{"op":"replace","path":"/statuses/0/retweet_count","value":12}])"},
          {"string changed", "[{\"op\":\"replace\",\"path\":\"/statuses/10/text\",\"value\":\"edited \xC3\xA9 \xF0\x9F\x98\x80\"}]"},
          {"escaped string changed", R"([{"op":"replace","path":"/statuses/11/text","value":"\u00e9\n\"\\"}])", false},
          {"number becomes string", R"([{"op":"replace","path":"/statuses/7/id","value":"505874919020699648"}])"},
          {"integer becomes float", R"([{"op":"replace","path":"/statuses/3/favorite_count","value":0.0}])"},
          {"object becomes array", R"([{"op":"replace","path":"/statuses/4/metadata","value":[1,2]}])"},
          {"element removed", R"([{"op":"remove","path":"/statuses/3"}])"},
          {"element inserted at the front", R"([{"op":"copy","from":"/statuses/5","path":"/statuses/0"}])"},
          {"element appended", R"([{"op":"copy","from":"/statuses/5","path":"/statuses/-"}])"},
          {"member added deep", R"([{"op":"add","path":"/statuses/50/user/entities/new","value":{"a/b":[1],"m~n":null}}])"},
          {"member removed deep", R"([{"op":"remove","path":"/statuses/50/user/description"}])"},
          {"member moved", R"([{"op":"move","from":"/statuses/10/entities","path":"/statuses/11/moved"}])"},
          {"metadata changed", R"([{"op":"replace","path":"/search_metadata/count","value":101}])"},
          {"several edits", R"([{"op":"remove","path":"/statuses/90"},{"op":"replace","path":"/statuses/1/user/name","value":"x"},
                                {"op":"add","path":"/statuses/2/new","value":true},{"op":"remove","path":"/statuses/60/entities/hashtags"},
                                {"op":"add","path":"/statuses/30/user/entities/description/urls/-","value":"u"}])"},
      });
}

TEST_CASE("Shared documents: citm_catalog.json with many kinds of edits", "[compression][corpus]") {
  const auto file = stageflow::testing::shared_data_file("json/citm_catalog.json");
  if (!file) STAGEFLOW_SKIP("json/citm_catalog.json not found (set STAGEFLOW_DATA_DIR)");
  const std::string base = stageflow::testing::read_file(*file);
  check_document_edits(
      base,
      {
          {"event renamed", R"([{"op":"replace","path":"/events/138586341/name","value":"Renamed"}])"},
          {"event removed", R"([{"op":"remove","path":"/events/138586341"}])"},
          {"event added", R"([{"op":"copy","from":"/events/138586341","path":"/events/1"}])"},
          {"performance removed", R"([{"op":"remove","path":"/performances/17"}])"},
          {"performance price changed", R"([{"op":"replace","path":"/performances/0/prices/0/amount","value":1.5}])"},
          {"seat category inserted", R"([{"op":"copy","from":"/performances/3/seatCategories/0","path":"/performances/3/seatCategories/0"}])"},
          {"area names key added", R"([{"op":"add","path":"/areaNames/~01","value":"tilde"}])"},
          {"several edits", R"([{"op":"remove","path":"/performances/200"},{"op":"remove","path":"/performances/10"},
                                {"op":"replace","path":"/venueNames/PLEYEL_PLEYEL","value":null},
                                {"op":"add","path":"/subTopicNames/1","value":{"n":[1,2,3]}}])"},
      });
}

TEST_CASE("Shrinking and growing long arrays is linear, and replaces when smaller", "[compression][corpus]") {
  std::string big = "[";
  for (int i = 0; i < 200000; ++i) big += (i ? "," : "") + std::to_string(i);
  big += ']';
  // Remove the middle half: the common prefix and suffix are kept, the middle is one replace of
  // the array (smaller than 100000 removes) or removes, whichever is smaller. Quadratic work
  // here would take minutes; linear takes milliseconds.
  std::string half = "[";
  for (int i = 0; i < 200000; ++i)
    if (i < 50000 || i >= 150000) half += (half.size() > 1 ? "," : "") + std::to_string(i);
  half += ']';
  const std::string shrink = check_round_trip(big, half);
  CHECK(shrink.size() < half.size() + 64);
  const std::string grow = check_round_trip(half, big);
  CHECK(grow.size() < big.size() + 64);
  CHECK(check_round_trip(big, "[]") == R"([{"op":"replace","path":"","value":[]}])");
  CHECK(check_round_trip(big, "[-1," + big.substr(1)) == R"([{"op":"add","path":"/0","value":-1}])");
}

TEST_CASE("Random documents with random edits round-trip (seeded)", "[compression][corpus]") {
  for (std::uint64_t seed = 1; seed <= 1500; ++seed) {
    stageflow::testing::RandomJsonGenerator generator(seed);
    const auto base_value = generator.value(5);
    auto current_value = base_value;
    generator.edit(current_value, 1 + generator.below(6));
    const bool pretty_base = generator.below(2) == 0, pretty_current = generator.below(2) == 0;
    const std::string base = stageflow::testing::RandomJsonGenerator::write(base_value, pretty_base);
    const std::string current = stageflow::testing::RandomJsonGenerator::write(current_value, pretty_current);
    INFO("seed " << seed << "\nbase: " << base << "\ncurrent: " << current);
    const std::string delta = check_round_trip(base, current);
    check_nlohmann_applies(base, current, delta);
  }
}

TEST_CASE("Random documents with duplicated keys round-trip (seeded)", "[compression][corpus]") {
  for (std::uint64_t seed = 1; seed <= 500; ++seed) {
    stageflow::testing::RandomJsonGenerator generator(seed, /*allow_duplicate_keys=*/true);
    const auto base_value = generator.value(4);
    auto current_value = base_value;
    generator.edit(current_value, 1 + generator.below(4));
    const std::string base = stageflow::testing::RandomJsonGenerator::write(base_value, false);
    const std::string current = stageflow::testing::RandomJsonGenerator::write(current_value, true);
    INFO("seed " << seed << "\nbase: " << base << "\ncurrent: " << current);
    check_round_trip(base, current);
  }
}

TEST_CASE("Unrelated random documents round-trip (seeded)", "[compression][corpus]") {
  for (std::uint64_t seed = 1; seed <= 500; ++seed) {
    stageflow::testing::RandomJsonGenerator generator(seed * 7919);
    const std::string base = stageflow::testing::RandomJsonGenerator::write(generator.value(4), false);
    const std::string current = stageflow::testing::RandomJsonGenerator::write(generator.value(4), false);
    INFO("seed " << seed << "\nbase: " << base << "\ncurrent: " << current);
    const std::string delta = check_round_trip(base, current);
    check_nlohmann_applies(base, current, delta);
  }
}

#ifdef STAGEFLOW_HAVE_NLOHMANN
TEST_CASE("nlohmann's deltas, applied by apply_delta, give the current document (seeded)", "[compression][corpus]") {
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    stageflow::testing::RandomJsonGenerator generator(seed * 104729);
    const auto base_value = generator.value(5);
    auto current_value = base_value;
    generator.edit(current_value, 1 + generator.below(6));
    const std::string base = stageflow::testing::RandomJsonGenerator::write(base_value, false);
    const std::string current = stageflow::testing::RandomJsonGenerator::write(current_value, false);
    const std::string theirs = nlohmann::json::diff(nlohmann::json::parse(base), nlohmann::json::parse(current)).dump();
    INFO("seed " << seed << "\nbase: " << base << "\ncurrent: " << current << "\nnlohmann's delta: " << theirs);
    // nlohmann's diff is only right up to its own equality (0 == -0.0 == 0.0 there): compare that way.
    const std::string ours = apply_delta(base, theirs);
    CHECK(nlohmann::json::parse(ours) == nlohmann::json::parse(current));
  }
}
#endif
