// SPDX-License-Identifier: BSL-1.0
// The mutex a sink and its copies share (a runner holds a copy of each sink it is given), or
// nothing at all for NullMutex.
#pragma once

#include <stageflow/sinks/null_mutex.hpp>

#include <memory>

namespace stageflow::detail {

template <class Mutex>
class SharedMutex {
 public:
  Mutex& get() const noexcept { return *mutex_; }

 private:
  std::shared_ptr<Mutex> mutex_ = std::make_shared<Mutex>();
};

/// Empty: a sink with NullMutex is no bigger than its own members.
template <>
class SharedMutex<NullMutex> {
 public:
  NullMutex& get() const noexcept {
    static constinit NullMutex none;  // stateless: one for every sink
    return none;
  }
};

}  // namespace stageflow::detail
