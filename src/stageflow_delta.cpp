// stageflow-delta: RFC 6902 deltas between JSON documents, from the command line.
//
//   stageflow-delta diff BASE.json CURRENT.json > delta.json     (metrics on stderr)
//   stageflow-delta apply BASE.json delta.json > current.json
#include <stageflow/compression.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace sc = stageflow::compression;

constexpr int exit_ok = 0;
constexpr int exit_bad_input = 1;  // invalid JSON, or a delta that does not apply
constexpr int exit_usage = 2;
constexpr int exit_io = 3;

constexpr std::string_view usage = R"(Usage:
  stageflow-delta diff [--metrics=text|json|none] BASE CURRENT
  stageflow-delta apply BASE DELTA
  stageflow-delta --help

diff   prints the RFC 6902 JSON Patch that turns BASE into CURRENT on standard output, and what
       it saves on standard error (--metrics=json: one JSON line; --metrics=none: nothing).
apply  prints BASE with the patch DELTA applied (minified). Any RFC 6902 patch is accepted; it is
       applied entirely or not at all.

A file name "-" reads standard input (for one of the two files). Output ends with a newline.

Exit status: 0 success; 1 invalid JSON or a delta that does not apply to BASE; 2 usage error;
3 a file cannot be read, the output cannot be written, or another system error.
)";

struct UsageError {
  std::string message;
};

struct IoError {
  std::string message;
};

enum class MetricsFormat { text, json, none };

struct Options {
  std::string command;
  std::vector<std::string> files;
  MetricsFormat metrics = MetricsFormat::text;
  bool help = false;
};

MetricsFormat parse_metrics_format(std::string_view value) {
  if (value == "text") return MetricsFormat::text;
  if (value == "json") return MetricsFormat::json;
  if (value == "none") return MetricsFormat::none;
  throw UsageError{"unknown --metrics format '" + std::string(value) + "' (expected text, json or none)"};
}

Options parse_arguments(int argc, char** argv) {
  Options options;
  bool only_files = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (!only_files && argument == "--") {
      only_files = true;
    } else if (!only_files && (argument == "--help" || argument == "-h")) {
      options.help = true;
    } else if (!only_files && argument.substr(0, 10) == "--metrics=") {
      options.metrics = parse_metrics_format(argument.substr(10));
    } else if (!only_files && argument == "--metrics") {
      if (i + 1 >= argc) throw UsageError{"--metrics needs a value (text, json or none)"};
      options.metrics = parse_metrics_format(argv[++i]);
    } else if (!only_files && argument.size() > 1 && argument.front() == '-') {
      throw UsageError{"unknown option '" + std::string(argument) + "'"};
    } else if (options.command.empty()) {
      options.command = argument;
    } else {
      options.files.emplace_back(argument);
    }
  }
  if (options.help) return options;
  if (options.command.empty()) throw UsageError{"missing command (diff or apply)"};
  if (options.command != "diff" && options.command != "apply")
    throw UsageError{"unknown command '" + options.command + "' (expected diff or apply)"};
  if (options.files.size() != 2)
    throw UsageError{options.command + " takes exactly two files, got " + std::to_string(options.files.size())};
  if (options.files[0] == "-" && options.files[1] == "-")
    throw UsageError{"only one of the two files can be standard input (\"-\")"};
  return options;
}

std::string read_stream(std::FILE* stream, const std::string& name) {
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const std::size_t got = std::fread(buffer, 1, sizeof buffer, stream);
    text.append(buffer, got);
    if (got < sizeof buffer) break;
  }
  if (std::ferror(stream)) throw IoError{"cannot read " + name + ": " + std::strerror(errno)};
  return text;
}

std::string read_input(const std::string& name) {
  if (name == "-") return read_stream(stdin, "standard input");
  std::FILE* file = std::fopen(name.c_str(), "rb");
  if (file == nullptr) throw IoError{"cannot open '" + name + "': " + std::strerror(errno)};
  try {
    std::string text = read_stream(file, "'" + name + "'");
    std::fclose(file);
    return text;
  } catch (...) {
    std::fclose(file);
    throw;
  }
}

void write_output(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fputc('\n', stdout) == EOF ||
      std::fflush(stdout) != 0)
    throw IoError{std::string("cannot write the output: ") + std::strerror(errno)};
}

void print_metrics(const sc::CompressionMetrics& metrics, MetricsFormat format) {
  char line[512];
  if (format == MetricsFormat::json) {
    std::snprintf(line, sizeof line,
                  "{\"original_bytes\":%zu,\"delta_bytes\":%zu,\"compression_ratio\":%.6g,\"reduction_bytes\":%zu,"
                  "\"operations\":%zu}\n",
                  metrics.original_bytes, metrics.delta_bytes, metrics.compression_ratio, metrics.reduction_bytes,
                  metrics.operations);
  } else if (format == MetricsFormat::text) {
    std::snprintf(line, sizeof line,
                  "original %zu bytes (minified), delta %zu bytes, ratio %.4f, saved %zu bytes, %zu operation%s\n",
                  metrics.original_bytes, metrics.delta_bytes, metrics.compression_ratio, metrics.reduction_bytes,
                  metrics.operations, metrics.operations == 1 ? "" : "s");
  } else {
    return;
  }
  std::fputs(line, stderr);
}

// Names the file behind the argument a ParseError is about.
std::string describe(const sc::ParseError& error, const Options& options) {
  const std::string& file = error.argument() == sc::JsonArgument::base ? options.files[0] : options.files[1];
  std::string text = (file == "-" ? std::string("standard input") : "'" + file + "'") + " (" +
                     std::string(sc::to_string(error.argument())) + ") is not valid JSON: ";
  if (error.has_position())
    text += "line " + std::to_string(error.line()) + ", column " + std::to_string(error.column()) + ": ";
  return text + error.reason();
}

int run(int argc, char** argv) {
  Options options;
  try {
    options = parse_arguments(argc, argv);
    if (options.help) {
      std::fwrite(usage.data(), 1, usage.size(), stdout);
      return exit_ok;
    }
    const std::string first = read_input(options.files[0]);
    const std::string second = read_input(options.files[1]);
    if (options.command == "diff") {
      const auto [delta, metrics] = sc::compress(first, second);
      write_output(delta);
      print_metrics(metrics, options.metrics);
    } else {
      write_output(sc::apply_delta(first, second));
    }
    return exit_ok;
  } catch (const UsageError& error) {
    std::fprintf(stderr, "stageflow-delta: %s\n\n%.*s", error.message.c_str(), static_cast<int>(usage.size()),
                 usage.data());
    return exit_usage;
  } catch (const IoError& error) {
    std::fprintf(stderr, "stageflow-delta: %s\n", error.message.c_str());
    return exit_io;
  } catch (const sc::ParseError& error) {
    std::fprintf(stderr, "stageflow-delta: %s\n", describe(error, options).c_str());
    return exit_bad_input;
  } catch (const sc::DeltaError& error) {
    const std::string message = error.what();
    const std::string_view prefix = "stageflow::compression: ";
    std::fprintf(stderr, "stageflow-delta: %s\n",
                 message.compare(0, prefix.size(), prefix) == 0 ? message.c_str() + prefix.size() : message.c_str());
    return exit_bad_input;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "stageflow-delta: %s\n", error.what());
    return exit_io;
  }
}
