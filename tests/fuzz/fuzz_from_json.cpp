// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for stageflow::from_json<T>: the input is JSON text, read as several types.
// Checks, beyond "no crash, no sanitizer report":
//   - the only errors are JsonParseError (not JSON) and FromJsonError (JSON that does not fit T),
//     and a FromJsonError's message starts with its path;
//   - what was read is a fixed point: from_json<T>(to_json(x)) writes the same text again.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/serialization/from_json.hpp>
#include <stageflow/serialization/json_writer.hpp>

#include <boost/hana/define_struct.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

namespace {

struct Leaf {
  BOOST_HANA_DEFINE_STRUCT(Leaf, (std::string, name), (std::optional<std::int32_t>, score), (double, ratio));
};

struct Mixed {
  BOOST_HANA_DEFINE_STRUCT(Mixed, (bool, flag), (char, letter), (std::uint8_t, small),
    (std::variant<std::int64_t, std::string, Leaf, std::vector<int>>, choice), (std::unique_ptr<Leaf>, owned),
    (std::vector<Leaf>, leaves), (std::map<std::int16_t, std::string>, by_number), (std::set<std::string>, names),
    (std::tuple<bool, std::uint64_t>, pair), (boost::uuids::uuid, id), (stageflow::JsonValue, rest));
};

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view detail) {
  std::fprintf(stderr, "%s\n--- input (%zu bytes)\n%.*s\n--- detail\n%.*s\n", what, input.size(),
               static_cast<int>(input.size()), input.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

template <class T>
void check(std::string_view input) {
  std::string first;
  try {
    first = stageflow::serialization::to_json(stageflow::from_json<T>(input));
  } catch (const stageflow::JsonParseError&) {
    return;
  } catch (const stageflow::FromJsonError& error) {
    const std::string message = error.what();
    const std::string path = error.path().empty() ? "(root)" : error.path();
    if (message.rfind(path + ": ", 0) != 0) fail("the message does not start with the path", input, message);
    return;
  } catch (const std::exception& error) {
    fail("an unexpected exception", input, error.what());
  }
  std::string second;
  try {
    second = stageflow::serialization::to_json(stageflow::from_json<T>(first));
  } catch (const std::exception& error) {
    fail("to_json of a read value does not read back", input, std::string(error.what()) + "\n" + first);
  }
  if (second != first) fail("the round trip is not a fixed point", input, first + "\n" + second);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check<Mixed>(input);
  check<stageflow::ContextSnapshot>(input);
  check<std::vector<std::variant<std::monostate, bool, std::int64_t, double, std::string>>>(input);
  check<std::map<std::string, std::vector<std::optional<float>>>>(input);
  return 0;
}
