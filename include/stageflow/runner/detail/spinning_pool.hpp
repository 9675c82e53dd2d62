// SPDX-License-Identifier: BSL-1.0
// ParallelExecutor's own pool: Asio's io_context run by threads of its own, which spin a bounded
// time before they park (<stageflow/runner/parallel_executor.hpp> says why).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

namespace stageflow::detail {

// Asio's io_context run by threads of our own: each polls it for up to `spin` after its last
// task, then blocks in run_one() (Asio's thread_pool would park at once). The destructor stops
// the context, so queued tasks never run (they are destroyed with it: their runs fail), and
// joins the workers, waiting for the tasks they are running.
struct SpinningPool {
  SpinningPool(std::size_t n, std::chrono::microseconds spin_for)
      : io(static_cast<int>(n)), keep_running(io.get_executor()), spin(std::max(spin_for, std::chrono::microseconds(0))) {
    workers.reserve(n);
    try {
      for (std::size_t i = 0; i < n; ++i) workers.emplace_back([this] { work(); });
    } catch (...) {
      join();  // the workers already started: a std::thread destroyed unjoined would terminate
      throw;
    }
  }
  SpinningPool(const SpinningPool&) = delete;
  SpinningPool& operator=(const SpinningPool&) = delete;
  ~SpinningPool() { join(); }
  void join() {
    io.stop();
    for (auto& w : workers) w.join();
  }
  void work() {
    while (!io.stopped()) {
      if (spin.count() > 0 && spin_for_work()) continue;
      io.run_one();  // parks until a task comes (or the pool stops)
    }
  }
  // Polls for up to `spin`; true when it ran a task. Yields between polls: on a machine with
  // fewer cores than threads, a spinning worker must not keep a working one off its core.
  bool spin_for_work() {
    const auto until = std::chrono::steady_clock::now() + spin;
    do {
      if (io.poll_one() != 0) return true;
      std::this_thread::yield();
    } while (std::chrono::steady_clock::now() < until && !io.stopped());
    return false;
  }
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> keep_running;
  std::chrono::microseconds spin;
  std::atomic<bool> stopped{false};
  std::vector<std::thread> workers;  // last: started once the rest is built
};

}  // namespace stageflow::detail
