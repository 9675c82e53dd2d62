// SPDX-License-Identifier: BSL-1.0
// What the README's and docs/'s `// fragment` blocks take for granted: the headers their sections name, and the
// placeholder names they use (the reader's own functions and data), declared so that each
// fragment compiles (tests/readme/check_snippets.py). In a namespace of their own, so a fragment
// may define the same names itself. Only declarations: fragments are compiled, never run.
#pragma once

#include <stageflow/helpers/memory_tracker.hpp>
#include <stageflow/helpers/run_utils.hpp>
#include <stageflow/helpers/uuid_utils.hpp>
#include <stageflow/pipeline/interceptors_hardening.hpp>
#include <stageflow/hardening/memory_tracking.hpp>
#include <stageflow/hardening/uuid_telemetry.hpp>
#include <stageflow/stageflow.hpp>
#include <stageflow/tools/executor.hpp>

#include <boost/hana/define_struct.hpp>
#include <boost/uuid/uuid.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace readme_harness {

/// A value of whatever type it initializes (`Cart cart = load_cart();` for a type the fragment defines).
struct Placeholder {
  template <class T>
  operator T() const;
};

// Stages and pipelines, Running
struct Intent {
  std::string name;
};
std::string lowercase(std::string_view text);
bool model_ready();
Intent classify(const std::string& text);
void use(const auto& value);

// UUID telemetry
inline boost::uuids::uuid correlation_id{};
inline boost::uuids::uuid incoming_id{};
void log_warning(const auto&... parts);

// Memory tracking
struct Request {
  std::string text;
};
struct Reply {
  std::string text;
};
Reply handle(const Request& request);
inline Request request;
void run_batch();
void rebuild_cache();

// Pipelines and snapshots the hardening fragments run
struct Enrich {
  static constexpr std::string_view name = "enrich";
  std::string execute(const auto& ctx) const { return ctx.snapshot().input_text; }
};
inline const stageflow::Pipeline<Enrich> pipeline;
inline stageflow::ContextSnapshot snapshot;
void run_stage(stageflow::ContextSnapshot& snapshot);
void log(std::string_view type, std::string_view stage);

// Serialization
struct Line {
  BOOST_HANA_DEFINE_STRUCT(Line, (std::string, sku), (int, quantity));
};
struct Customer {
  BOOST_HANA_DEFINE_STRUCT(Customer, (std::string, name));
};
inline Placeholder load_cart() { return {}; }

// ToolExecutor
std::string search(std::string_view query);

}  // namespace readme_harness
using namespace readme_harness;
