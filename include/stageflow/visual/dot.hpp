// SPDX-License-Identifier: BSL-1.0
// A pipeline as a picture: its DAG in Graphviz DOT, and optionally one run on it.
//
//   std::cout << stageflow::to_dot<Chat>();                  // stages as boxes, dependencies as arrows
//   stageflow::to_dot<Chat>(file);                           // the same, written to a std::ostream
//   stageflow::to_dot(result, file);                         // a RunResult: each stage coloured by its
//                                                            // status, labelled with its duration
//   $ dot -Tsvg pipeline.dot -o pipeline.svg                 (Debian: graphviz)
//
// An arrow goes from a stage to the stages that depend on it (the direction data flows). Stage
// names are written as DOT strings (quotes, backslashes and line breaks escaped), so any name draws.
#pragma once

#include <stageflow/core/pipeline.hpp>
#include <stageflow/core/run_result.hpp>

#include <chrono>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

namespace stageflow {

/// How to_dot lays the graph out.
struct DotOptions {
  /// The graph's name (`digraph "name"`), shown by some viewers.
  std::string_view graph_name = "pipeline";
  /// Left to right (rankdir=LR), the way a pipeline reads; false: top to bottom.
  bool left_to_right = true;
};

namespace detail {

/// `text` as a DOT string, quotes included.
inline void dot_string(std::ostream& out, std::string_view text) {
  out << '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') out << '\\' << c;
    else if (c == '\n') out << "\\n";
    else if (c != '\r') out << c;
  }
  out << '"';
}

/// A stage's fill colour for its status: green done, grey skipped or not run, amber cancelled or
/// timed out, red failed.
constexpr std::string_view dot_fill(StageStatus status) noexcept {
  switch (status) {
    case StageStatus::ok: return "#b7e4c7";
    case StageStatus::skip: return "#e9ecef";
    case StageStatus::cancel: return "#ffe8a3";
    case StageStatus::fail: return "#f4a6a6";
    case StageStatus::timed_out: return "#ffc999";
    case StageStatus::not_run: break;
  }
  return "#ffffff";
}

/// "48.2 us", "1.25 ms", "2.00 s": three significant digits are enough to read a picture.
inline std::string dot_duration(std::chrono::nanoseconds duration) {
  const double ns = static_cast<double>(duration.count());
  char text[32];
  if (ns < 1e3) std::snprintf(text, sizeof text, "%.0f ns", ns);
  else if (ns < 1e6) std::snprintf(text, sizeof text, "%.3g us", ns / 1e3);
  else if (ns < 1e9) std::snprintf(text, sizeof text, "%.3g ms", ns / 1e6);
  else std::snprintf(text, sizeof text, "%.3g s", ns / 1e9);
  return text;
}

template <class P>
void dot_head(std::ostream& out, const DotOptions& options) {
  out << "digraph ";
  dot_string(out, options.graph_name);
  out << " {\n";
  if (options.left_to_right) out << "  rankdir=LR;\n";
  out << "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n"
         "  edge [color=\"#555555\"];\n";
}

template <class P>
void dot_edges(std::ostream& out) {
  for (std::size_t stage = 0; stage < P::size; ++stage)
    for (std::size_t dependency = 0; dependency < P::size; ++dependency)
      if (P::plan.depends[stage][dependency]) out << "  s" << dependency << " -> s" << stage << ";\n";
  out << "}\n";
}

}  // namespace detail

/// The DAG of pipeline type P in DOT: one node per stage (labelled with its name), one edge per
/// dependency, from the stage to its dependent.
template <class P>
  requires is_pipeline_v<P>
void to_dot(std::ostream& out, const DotOptions& options = {}) {
  detail::dot_head<P>(out, options);
  for (std::size_t i = 0; i < P::size; ++i) {
    out << "  s" << i << " [label=";
    detail::dot_string(out, P::names[i]);
    out << "];\n";
  }
  detail::dot_edges<P>(out);
}

/// The same, as a string.
template <class P>
  requires is_pipeline_v<P>
std::string to_dot(const DotOptions& options = {}) {
  std::ostringstream out;
  to_dot<P>(out, options);
  return std::move(out).str();
}

/// One run drawn on its pipeline: each stage filled by its status and labelled with its name,
/// status and duration (execute() alone); a reason (why it skipped, cancelled or failed) becomes
/// the node's tooltip. The graph's label says how the run ended and how long it took.
template <class P, class Snapshot>
void to_dot(const RunResult<P, Snapshot>& result, std::ostream& out, const DotOptions& options = {}) {
  detail::dot_head<P>(out, options);
  std::string run_label = "run " + std::string(to_string(result.status)) + " in " + detail::dot_duration(result.duration);
  if (!result.error_stage.empty()) run_label += " (at " + std::string(result.error_stage) + ")";
  out << "  labelloc=t;\n  fontname=\"Helvetica\";\n  label=";
  detail::dot_string(out, run_label);
  out << ";\n";
  for (std::size_t i = 0; i < P::size; ++i) {
    const StageReport& stage = result.stages[i];
    std::string label(P::names[i]);
    label += '\n';
    label += to_string(stage.status);
    if (stage.status != StageStatus::not_run) label += ", " + detail::dot_duration(stage.duration);
    out << "  s" << i << " [label=";
    detail::dot_string(out, label);
    out << ", fillcolor=\"" << detail::dot_fill(stage.status) << '"';
    if (stage.status == StageStatus::not_run) out << ", style=\"rounded,dashed\"";
    if (!stage.reason.empty()) {
      out << ", tooltip=";
      detail::dot_string(out, stage.reason);
    }
    out << "];\n";
  }
  detail::dot_edges<P>(out);
}

/// The same, as a string.
template <class P, class Snapshot>
std::string to_dot(const RunResult<P, Snapshot>& result, const DotOptions& options = {}) {
  std::ostringstream out;
  to_dot(result, out, options);
  return std::move(out).str();
}

}  // namespace stageflow
