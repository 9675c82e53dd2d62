// SPDX-License-Identifier: BSL-1.0
// stageflow-delta: RFC 6902 deltas between JSON documents, from the command line.
//
//   stageflow-delta diff BASE.json CURRENT.json > delta.json     (metrics on stderr)
//   stageflow-delta apply BASE.json delta.json > current.json
#include <stageflow/compression.hpp>
#include <stageflow/version.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <charconv>
#include <memory>
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

#if !defined(STAGEFLOW_DELTA_VERSION)
#  define STAGEFLOW_DELTA_VERSION "unknown"
#endif

// The largest document the parser takes (simdjson: 4 GiB - 1), the default input limit.
constexpr std::uint64_t document_limit_bytes = simdjson::SIMDJSON_MAXSIZE_BYTES;

constexpr std::string_view usage = R"(Usage:
  stageflow-delta diff [--metrics=text|json|none] [--max-input-bytes=N] BASE CURRENT
  stageflow-delta apply [--max-input-bytes=N] [--max-document-bytes=N] BASE DELTA
  stageflow-delta --help | --version

diff   prints the RFC 6902 JSON Patch that turns BASE into CURRENT on standard output, and what
       it saves on standard error (--metrics=json: one JSON line; --metrics=none: nothing).
apply  prints BASE with the patch DELTA applied (minified). Any RFC 6902 patch is accepted; it is
       applied entirely or not at all.

A file name "-" reads standard input (for one of the two files). Output ends with a newline.
--max-input-bytes=N refuses (exit status 1) an input larger than N bytes, reading no more than N
bytes plus one block of it; the default is the largest document the parser takes, 4294967295.
--max-document-bytes=N (apply) refuses (exit status 1) a delta whose result would pass N bytes
(counting copied parts at their source size), before building it: "copy" operations can double a
document each. The default is 4 times the size of both inputs plus 1 MiB.

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
  std::uint64_t max_input_bytes = document_limit_bytes;
  std::optional<std::uint64_t> max_document_bytes;
  bool help = false;
  bool version = false;
};

/// An input is larger than --max-input-bytes (exit status 1, like any input the tool refuses).
struct InputTooLarge {
  std::string message;
};

std::uint64_t parse_byte_count(std::string_view value, std::string_view option = "--max-input-bytes",
                               std::uint64_t most = document_limit_bytes) {
  std::uint64_t n = 0;
  const bool digits = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (error == std::errc() && end == value.data() + value.size() && n <= most) return n;
  }
  throw UsageError{std::string(option) + " takes a byte count from 0 to " + std::to_string(most) +
                   ", got '" + std::string(value) + "'"};
}

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
    } else if (!only_files && argument == "--version") {
      options.version = true;
    } else if (!only_files && argument.substr(0, 18) == "--max-input-bytes=") {
      options.max_input_bytes = parse_byte_count(argument.substr(18));
    } else if (!only_files && argument == "--max-input-bytes") {
      if (i + 1 >= argc) throw UsageError{"--max-input-bytes needs a byte count"};
      options.max_input_bytes = parse_byte_count(argv[++i]);
    } else if (!only_files && argument.substr(0, 21) == "--max-document-bytes=") {
      options.max_document_bytes = parse_byte_count(argument.substr(21), "--max-document-bytes", SIZE_MAX);
    } else if (!only_files && argument == "--max-document-bytes") {
      if (i + 1 >= argc) throw UsageError{"--max-document-bytes needs a byte count"};
      options.max_document_bytes = parse_byte_count(argv[++i], "--max-document-bytes", SIZE_MAX);
    } else if (!only_files && argument.size() > 1 && argument.front() == '-') {
      throw UsageError{"unknown option '" + std::string(argument) + "'"};
    } else if (options.command.empty()) {
      options.command = argument;
    } else {
      options.files.emplace_back(argument);
    }
  }
  if (options.help || options.version) return options;
  if (options.command.empty()) throw UsageError{"missing command (diff or apply)"};
  if (options.command != "diff" && options.command != "apply")
    throw UsageError{"unknown command '" + options.command + "' (expected diff or apply)"};
  if (options.files.size() != 2)
    throw UsageError{options.command + " takes exactly two files, got " + std::to_string(options.files.size())};
  if (options.max_document_bytes && options.command != "apply")
    throw UsageError{"--max-document-bytes is an option of apply"};
  if (options.files[0] == "-" && options.files[1] == "-")
    throw UsageError{"only one of the two files can be standard input (\"-\")"};
  return options;
}

std::string display_name(const std::string& name) { return name == "-" ? "standard input" : "'" + name + "'"; }

[[noreturn]] void throw_too_large(const std::string& name, std::uint64_t limit) {
  throw InputTooLarge{display_name(name) + " is larger than the input limit of " + std::to_string(limit) +
                      " bytes (--max-input-bytes)"};
}

// Reads the whole stream, refusing more than `limit` bytes. Memory stays within the input plus
// one block: blocks are read (at most limit + one block), then moved into one string of the exact
// size, each freed once copied (no doubling growth, no second full copy).
std::string read_stream(std::FILE* stream, const std::string& name, std::uint64_t limit) {
  struct stat status {};
  if (::fstat(::fileno(stream), &status) == 0 && S_ISREG(status.st_mode) &&
      static_cast<std::uint64_t>(status.st_size) > limit)
    throw_too_large(name, limit);  // a regular file says its size: no need to read it
  constexpr std::size_t block_size = std::size_t{1} << 20;
  std::vector<std::unique_ptr<char[]>> blocks;
  std::uint64_t total = 0;
  std::size_t last_size = 0;
  for (;;) {
    auto block = std::make_unique_for_overwrite<char[]>(block_size);
    const std::size_t got = std::fread(block.get(), 1, block_size, stream);
    if (got > 0) {
      total += got;
      if (total > limit) throw_too_large(name, limit);
      blocks.push_back(std::move(block));
      last_size = got;
    }
    if (got < block_size) break;
  }
  if (std::ferror(stream)) throw IoError{"cannot read " + display_name(name) + ": " + std::strerror(errno)};
  std::string text;
  text.reserve(static_cast<std::size_t>(total) + simdjson::SIMDJSON_PADDING);  // room to parse in place
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    text.append(blocks[i].get(), i + 1 == blocks.size() ? last_size : block_size);
    blocks[i].reset();
  }
  return text;
}

std::string read_input(const std::string& name, std::uint64_t limit) {
  if (name == "-") return read_stream(stdin, name, limit);
  std::FILE* file = std::fopen(name.c_str(), "rb");
  if (file == nullptr) throw IoError{"cannot open '" + name + "': " + std::strerror(errno)};
  try {
    std::string text = read_stream(file, name, limit);
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
  std::string text = display_name(file) + " (" +
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
    if (options.version) {
      std::printf("stageflow-delta %.*s\n", static_cast<int>(stageflow::version().size()), stageflow::version().data());
      return exit_ok;
    }
    const std::string first = read_input(options.files[0], options.max_input_bytes);
    const std::string second = read_input(options.files[1], options.max_input_bytes);
    if (options.command == "diff") {
      const auto [delta, metrics] = sc::compress(first, second);
      write_output(delta);
      print_metrics(metrics, options.metrics);
    } else {
      // Streamed: the patched document is never held whole (peak memory: the inputs and their parse).
      sc::ApplyOptions apply_options;
      if (options.max_document_bytes) apply_options.max_document_bytes = static_cast<std::size_t>(*options.max_document_bytes);
      sc::apply_delta_to(
          first, second,
          [](std::string_view piece) {
            if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size())
              throw IoError{std::string("cannot write the output: ") + std::strerror(errno)};
          },
          apply_options);
      write_output("");
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
  } catch (const InputTooLarge& error) {
    std::fprintf(stderr, "stageflow-delta: %s\n", error.message.c_str());
    return exit_bad_input;
  } catch (const sc::DeltaError& error) {
    // "delta operation 1 (remove "/b/9"): ..." names the delta file: "'d.json' (delta) operation 1 ...".
    std::string message = error.what();
    const std::string_view prefix = "stageflow::compression: delta ";
    if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
    std::fprintf(stderr, "stageflow-delta: %s (delta) %s\n", display_name(options.files[1]).c_str(), message.c_str());
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
