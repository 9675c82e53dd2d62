// SPDX-License-Identifier: BSL-1.0
// Why and where simdjson rejected a text: the one error locator behind parse_json, compress and
// apply_delta. simdjson says only that the text is malformed (an error code); the strict checker
// runs over the same text, only then, to find the first error and its position.
#pragma once

#include <stageflow/json/detail/syntax_check.hpp>

#include <simdjson.h>

#include <cstddef>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace stageflow::detail {

struct LocatedJsonError {
  std::string reason;
  std::optional<std::size_t> offset;  // nullopt when no position can be given
};

inline LocatedJsonError locate_json_error(std::string_view text, simdjson::error_code code) {
  if (code == simdjson::MEMALLOC) throw std::bad_alloc();
  if (code == simdjson::CAPACITY) return {"the document is larger than simdjson's limit of 4 GiB", std::nullopt};
  if (auto issue = find_syntax_error(text, simdjson::DEFAULT_MAX_DEPTH)) return {std::move(issue->reason), issue->offset};
  // The checker follows simdjson's rules; should the two ever disagree, say what simdjson said.
  if (code == simdjson::DEPTH_ERROR)
    return {"nesting is too deep (simdjson's limit is " + std::to_string(simdjson::DEFAULT_MAX_DEPTH) + " levels)",
            std::nullopt};
  return {simdjson::error_message(code), std::nullopt};
}

}  // namespace stageflow::detail
