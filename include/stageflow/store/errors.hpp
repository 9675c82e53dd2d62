// SPDX-License-Identifier: BSL-1.0
// Errors of the snapshot stores (<stageflow/store/snapshot_store.hpp>).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace stageflow::store {

/// A store operation failed: the database could not be opened or answered with an error.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An error about one version of one run (the version is 0 when it is about the whole run).
class StoreVersionError : public StoreError {
 public:
  StoreVersionError(const std::string& what, std::string run_id, std::int64_t version)
      : StoreError(what), run_id_(std::move(run_id)), version_(version) {}
  const std::string& run_id() const noexcept { return run_id_; }
  std::int64_t version() const noexcept { return version_; }

 private:
  std::string run_id_;
  std::int64_t version_;
};

/// A stored record does not yield the document it was written from (its XXH3-64 differs, or its
/// delta no longer applies): the store returns nothing rather than wrong data.
class StoreCorruptionError : public StoreVersionError {
 public:
  using StoreVersionError::StoreVersionError;
};

/// Another writer appended this version of this run first (two processes appending to one run):
/// nothing of this append was stored; load the latest version and append again.
class StoreConflictError : public StoreVersionError {
 public:
  using StoreVersionError::StoreVersionError;
};

/// The run, or this version of it, is not in the store.
class StoreNotFoundError : public StoreVersionError {
 public:
  using StoreVersionError::StoreVersionError;
};

/// A checkpoint cannot be resumed: the stored document is not a checkpoint, or it does not fit the
/// pipeline and snapshot type given to resume (a stage the pipeline lacks, an output that does not
/// read back). The message names the run, the version and the path of the mismatch.
class CheckpointError : public StoreVersionError {
 public:
  using StoreVersionError::StoreVersionError;
};

}  // namespace stageflow::store
