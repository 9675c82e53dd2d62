// SPDX-License-Identifier: BSL-1.0
// ContextSnapshot: a ready-made run input for pipelines.
//
// Any type can be a pipeline's snapshot; this one carries what a chat or agent request usually
// has: the run's identity (UUIDs), the input text, the conversation so far and free-form JSON
// metadata. It is reflectable with Boost.Hana, so the hardening policies (size, fingerprint,
// immutability, delta) can look inside it; make your own snapshot type reflectable the same way
// (BOOST_HANA_DEFINE_STRUCT or BOOST_HANA_ADAPT_STRUCT) to get the same checks.
#pragma once

#include <stageflow/json/value.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/hana/adapt_struct.hpp>
#include <boost/uuid/uuid.hpp>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow {

/// Who and what a run belongs to. A nil UUID means "not set"; the runner gives a run without a
/// pipeline_run_id a fresh UUIDv7.
struct RunIdentity {
  boost::uuids::uuid pipeline_run_id{};
  boost::uuids::uuid request_id{};
  boost::uuids::uuid session_id{};
  boost::uuids::uuid user_id{};
  boost::uuids::uuid org_id{};
  boost::uuids::uuid interaction_id{};

  /// Every id a fresh UUIDv7 except org_id, which names an existing organisation (nil here).
  static RunIdentity generate() {
    RunIdentity ids{};
    ids.pipeline_run_id = helpers::generate_uuid7();
    ids.request_id = helpers::generate_uuid7();
    ids.session_id = helpers::generate_uuid7();
    ids.user_id = helpers::generate_uuid7();
    ids.interaction_id = helpers::generate_uuid7();
    return ids;
  }

  friend bool operator==(const RunIdentity&, const RunIdentity&) = default;
};

/// One turn of a conversation.
struct Message {
  std::string role{};     // "user", "assistant", "system", "tool"
  std::string content{};

  friend bool operator==(const Message&, const Message&) = default;
};

/// The input of a run, seen `const` by every stage.
struct ContextSnapshot {
  RunIdentity run{};
  std::string input_text{};
  std::vector<Message> messages{};
  JsonValue metadata{};          // arbitrary JSON (an object by convention)
  std::string topology{};        // the pipeline's name, for reports
  std::string execution_mode{};  // e.g. "practice", "live"

  /// The run id the runner reports and puts on every event (nil: the runner generates one).
  const boost::uuids::uuid& pipeline_run_id() const noexcept { return run.pipeline_run_id; }

  /// The ids besides the run id that must be unique per run, for UUID collision monitoring
  /// (session, user and organisation ids repeat across runs by design).
  std::array<std::pair<std::string_view, boost::uuids::uuid>, 2> correlation_ids() const noexcept {
    return {{{"request_id", run.request_id}, {"interaction_id", run.interaction_id}}};
  }

  friend bool operator==(const ContextSnapshot&, const ContextSnapshot&) = default;
};

}  // namespace stageflow

// Plain aggregates with default member initializers (so designated initializers may leave members
// out without -Wmissing-field-initializers), made reflectable from outside.
BOOST_HANA_ADAPT_STRUCT(stageflow::RunIdentity, pipeline_run_id, request_id, session_id, user_id, org_id,
                        interaction_id);
BOOST_HANA_ADAPT_STRUCT(stageflow::Message, role, content);
BOOST_HANA_ADAPT_STRUCT(stageflow::ContextSnapshot, run, input_text, messages, metadata, topology, execution_mode);
