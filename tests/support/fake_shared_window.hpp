// SPDX-License-Identifier: BSL-1.0
// A SharedWindowBackend for tests: records what the monitor submits, and reports fleet collisions
// and backend outages when the test says so (on the test's thread), without any server. Like a real
// backend, it reports under a lock of its own that submit() never takes (submit runs under the
// monitor's lock, a report takes the monitor's lock).
#pragma once

#include <stageflow/uuid/shared_window.hpp>

#include <boost/uuid/uuid.hpp>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stageflow::testing {

class FakeSharedWindow final : public helpers::SharedWindowBackend {
 public:
  void start(std::chrono::nanoseconds ttl, helpers::SharedWindowReceiver& receiver) override {
    std::scoped_lock lock(report_mutex_, mutex_);
    if (started_) throw std::logic_error("FakeSharedWindow: started twice");
    started_ = true;
    ttl_ = ttl;
    receiver_ = &receiver;
  }
  void submit(const boost::uuids::uuid& id) noexcept override {
    std::lock_guard lock(mutex_);
    submitted_.push_back(id);
  }
  void retarget(helpers::SharedWindowReceiver& receiver) noexcept override {
    std::lock_guard lock(report_mutex_);
    receiver_ = &receiver;
  }
  void stop() noexcept override {
    std::scoped_lock lock(report_mutex_, mutex_);
    receiver_ = nullptr;
    ++stops_;
  }
  helpers::SharedWindowCounters counters() const noexcept override {
    std::lock_guard lock(mutex_);
    return counters_;
  }

  // The test's side.
  void report_collision(const boost::uuids::uuid& id, std::string_view other_instance) {
    {
      std::lock_guard lock(mutex_);
      ++counters_.fleet_collisions;
    }
    std::lock_guard lock(report_mutex_);
    if (receiver_) receiver_->on_fleet_collision(id, other_instance);
  }
  bool report_unavailable(std::string_view error) {
    helpers::SharedWindowCounters totals;
    {
      std::lock_guard lock(mutex_);
      ++counters_.backend_errors;
      totals = counters_;
    }
    std::lock_guard lock(report_mutex_);
    return receiver_ && receiver_->on_backend_unavailable(error, totals);
  }
  void set_counters(const helpers::SharedWindowCounters& counters) {
    std::lock_guard lock(mutex_);
    counters_ = counters;
  }
  std::vector<boost::uuids::uuid> submitted() const {
    std::lock_guard lock(mutex_);
    return submitted_;
  }
  std::chrono::nanoseconds ttl() const {
    std::lock_guard lock(mutex_);
    return ttl_;
  }
  int stops() const {
    std::lock_guard lock(mutex_);
    return stops_;
  }
  bool attached() const {
    std::lock_guard lock(report_mutex_);
    return receiver_ != nullptr;
  }

 private:
  mutable std::mutex report_mutex_;  // receiver_ (held while reporting)
  helpers::SharedWindowReceiver* receiver_ = nullptr;
  mutable std::mutex mutex_;         // the rest
  bool started_ = false;
  int stops_ = 0;
  std::chrono::nanoseconds ttl_{0};
  helpers::SharedWindowCounters counters_{};
  std::vector<boost::uuids::uuid> submitted_;
};

}  // namespace stageflow::testing
