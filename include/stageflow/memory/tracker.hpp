// SPDX-License-Identifier: BSL-1.0
// Memory growth tracking: labelled samples of heap and resident memory, kept in a bounded ring, with
// growth warnings when memory rises past a threshold from its baseline or rises steadily (a leak).
//
//   MemoryTracker tracker({.auto_start = true, .heap_growth_threshold_bytes = 64 << 20});
//   tracker.add_listener([](const MemoryGrowthWarning& warning) { log(to_string(warning)); });
//   MemorySample before = tracker.observe("batch:start");
//   run_batch();
//   MemorySample after = tracker.observe("batch:end");
//   MemoryDelta delta = after.since(before);               // heap, RSS, allocations in between
//
// Options: tracker_options.hpp; samples: sample.hpp; warnings: growth_warning.hpp; scope.hpp: track_memory.
//
// Heap figures come from the opt-in exact counter when the program includes
// <stageflow/memory/allocation_counter.hpp>, else from the allocator (glibc mallinfo2); RSS from
// /proc/self on Linux (see sources.hpp for what each costs and where it exists).
//
// Thread safety: every member function may be called from any thread. Listeners run on the
// observing thread, outside the tracker's lock, so concurrent observations call them concurrently.
#pragma once

#include <stageflow/memory/detail/allocation_counter_state.hpp>
#include <stageflow/memory/detail/growth_window.hpp>
#include <stageflow/memory/growth_warning.hpp>
#include <stageflow/memory/sample.hpp>
#include <stageflow/memory/sources.hpp>
#include <stageflow/memory/tracker_options.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stageflow::helpers {

/// A sample and the warnings it raised.
struct MemoryObservation {
  MemorySample sample;
  std::vector<MemoryGrowthWarning> warnings;
};

class MemoryScope;

class MemoryTracker {
 public:
  using Options = MemoryTrackerOptions;

  MemoryTracker() : MemoryTracker(Options{}) {}

  explicit MemoryTracker(Options options) : options_(std::move(options)) {
    validate(options_);
    stageflow::detail::AllocationCountingPause pause;  // the tracker's own memory is invisible to the counter
    heap_window_ = stageflow::detail::GrowthWindow(options_.sustained_growth_window);
    rss_window_ = stageflow::detail::GrowthWindow(options_.sustained_growth_window);
    if (options_.auto_start) start();
  }

  MemoryTracker(const MemoryTracker&) = delete;
  MemoryTracker& operator=(const MemoryTracker&) = delete;

  /// Moving is for setting up (e.g. into an options struct); it is not safe while another thread
  /// uses either tracker.
  MemoryTracker(MemoryTracker&& other) noexcept {
    std::lock_guard lock(other.mutex_);
    take(other);
  }
  MemoryTracker& operator=(MemoryTracker&& other) noexcept {
    if (this != &other) {
      std::scoped_lock lock(mutex_, other.mutex_);
      stageflow::detail::AllocationCountingPause pause;
      take(other);
    }
    return *this;
  }

  ~MemoryTracker() = default;

  /// Starts observing. The next sample becomes the baseline; peaks, growth windows and warning
  /// levels start afresh; samples already kept stay. No effect when already active.
  void start() {
    stageflow::detail::AllocationCountingPause pause;
    std::lock_guard lock(mutex_);
    if (active_.load(std::memory_order_relaxed)) return;
    baseline_.reset();
    heap_peak_.reset();
    heap_window_.clear();
    rss_window_.clear();
    heap_warned_level_ = 0;
    rss_warned_level_ = 0;
    warming_up_ = 0;
    active_.store(true, std::memory_order_release);
  }

  /// Stops observing; samples stay readable. The counter, if installed, keeps counting: it is
  /// part of the program, not of the tracker.
  void stop() {
    std::lock_guard lock(mutex_);
    active_.store(false, std::memory_order_release);
  }

  bool active() const noexcept { return active_.load(std::memory_order_acquire); }

  /// Takes a sample, keeps it, checks growth, calls the listeners, returns it.
  /// Throws std::logic_error when the tracker is stopped.
  MemorySample observe(std::string_view label = {}, ObserveOptions options = {}) {
    std::optional<MemoryObservation> observation = try_observe(label, options);
    if (!observation)
      throw std::logic_error("MemoryTracker::observe(\"" + std::string(label) +
                             "\"): the tracker is stopped; call start() first, or use try_observe()");
    return std::move(observation->sample);
  }

  /// As observe, but std::nullopt when the tracker is stopped, and with the warnings this sample
  /// raised (for a caller that turns them into events). What runners and scopes use.
  std::optional<MemoryObservation> try_observe(std::string_view label = {}, ObserveOptions options = {}) {
    if (!active()) return std::nullopt;
    const MemoryReading reading =
        options_.reader ? options_.reader() : read_memory(options_.heap_source, options_.read_rss);
    const auto now = std::chrono::system_clock::now();

    std::optional<MemoryObservation> result;
    std::shared_ptr<const Listeners> listeners;
    {
      stageflow::detail::AllocationCountingPause pause;
      result.emplace();
      MemorySample& sample = result->sample;
      sample.label.reserve(label.size() + options.label_suffix.size());
      sample.label.append(label).append(options.label_suffix);
      sample.time = now;
      sample.heap_bytes = reading.heap_bytes;
      sample.rss_bytes = reading.rss_bytes;
      sample.rss_peak_bytes = reading.rss_peak_bytes;
      sample.allocations = reading.allocations;
      sample.heap_source = reading.heap_source;

      std::lock_guard lock(mutex_);
      if (!active_.load(std::memory_order_relaxed)) return std::nullopt;  // stopped meanwhile
      ++observations_;
      if (sample.heap_bytes && (!heap_peak_ || *sample.heap_bytes > *heap_peak_)) heap_peak_ = sample.heap_bytes;
      sample.heap_peak_bytes = heap_peak_;
      if (!baseline_) baseline_ = sample;
      keep(sample);
      check_absolute(MemoryMetric::heap, sample.heap_bytes, baseline_->heap_bytes,
                     options_.heap_growth_threshold_bytes, heap_warned_level_, sample, result->warnings);
      check_absolute(MemoryMetric::rss, sample.rss_bytes, baseline_->rss_bytes, options_.rss_growth_threshold_bytes,
                     rss_warned_level_, sample, result->warnings);
      if (options.in_growth_window && warming_up_ < options_.sustained_growth_warmup_samples) {
        ++warming_up_;  // warm-up: kept and checked against the absolute thresholds only
      } else if (options.in_growth_window) {
        check_sustained(MemoryMetric::heap, sample.heap_bytes, heap_window_, sample, result->warnings);
        check_sustained(MemoryMetric::rss, sample.rss_bytes, rss_window_, sample, result->warnings);
      }
      listeners = listeners_;
    }
    if (listeners) notify(*listeners, *result);
    return result;
  }

  /// The kept samples, oldest first (a copy).
  std::vector<MemorySample> samples() const {
    stageflow::detail::AllocationCountingPause pause;
    std::lock_guard lock(mutex_);
    std::vector<MemorySample> ordered;
    ordered.reserve(ring_.size());
    for (std::size_t i = 0; i < ring_.size(); ++i) ordered.push_back(ring_[(ring_start_ + i) % ring_.size()]);
    return ordered;
  }

  /// The newest kept sample.
  std::optional<MemorySample> latest() const {
    stageflow::detail::AllocationCountingPause pause;
    std::lock_guard lock(mutex_);
    if (ring_.empty()) return std::nullopt;
    return ring_[(ring_start_ + ring_.size() - 1) % ring_.size()];
  }

  /// The first sample since start(): what absolute growth is measured from.
  std::optional<MemorySample> baseline() const {
    stageflow::detail::AllocationCountingPause pause;
    std::lock_guard lock(mutex_);
    return baseline_;
  }

  /// Observations since construction, including those the ring has dropped.
  std::uint64_t observation_count() const {
    std::lock_guard lock(mutex_);
    return observations_;
  }

  /// Adds a listener called with each sample (`void(const MemorySample&)`), with each growth
  /// warning (`void(const MemoryGrowthWarning&)`), or with both when it accepts both. A listener
  /// that throws does not stop the observation nor the other listeners: the exception is caught,
  /// counted in error_count() and kept in last_error().
  template <class Listener>
    requires std::invocable<Listener&, const MemorySample&> || std::invocable<Listener&, const MemoryGrowthWarning&>
  void add_listener(Listener listener) {
    stageflow::detail::AllocationCountingPause pause;
    constexpr bool takes_samples = std::invocable<Listener&, const MemorySample&>;
    constexpr bool takes_warnings = std::invocable<Listener&, const MemoryGrowthWarning&>;
    std::lock_guard lock(mutex_);
    auto next = listeners_ ? std::make_shared<Listeners>(*listeners_) : std::make_shared<Listeners>();
    if constexpr (takes_samples && takes_warnings) {
      auto shared = std::make_shared<Listener>(std::move(listener));  // one object behind both
      next->on_sample.emplace_back([shared](const MemorySample& sample) { (*shared)(sample); });
      next->on_warning.emplace_back([shared](const MemoryGrowthWarning& warning) { (*shared)(warning); });
    } else if constexpr (takes_samples) {
      next->on_sample.emplace_back(std::move(listener));
    } else {
      next->on_warning.emplace_back(std::move(listener));
    }
    listeners_ = std::move(next);  // copy-on-write: observers calling the old list keep it alive
  }

  /// Exceptions caught and not rethrown: from listeners, and from the end observation of a
  /// MemoryScope (taken in a destructor, which must not throw).
  std::uint64_t error_count() const {
    std::lock_guard lock(mutex_);
    return error_count_;
  }
  /// The most recent of those, or null.
  std::exception_ptr last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

  const Options& options() const noexcept { return options_; }

 private:
  friend class MemoryScope;

  /// Records an exception that had to be swallowed (see error_count()).
  void record_error(std::exception_ptr error) noexcept {
    std::lock_guard lock(mutex_);
    ++error_count_;
    last_error_ = std::move(error);
  }

  struct Listeners {
    std::vector<std::function<void(const MemorySample&)>> on_sample;
    std::vector<std::function<void(const MemoryGrowthWarning&)>> on_warning;
  };

  static void validate(const Options& options) {
    if (options.sustained_growth_window != 0 &&
        (options.sustained_growth_window < 3 ||
         options.sustained_growth_window > stageflow::detail::GrowthWindow::max_capacity))
      throw std::invalid_argument("MemoryTracker: sustained_growth_window must be 0 (off) or between 3 and " +
                                  std::to_string(stageflow::detail::GrowthWindow::max_capacity) + ", got " +
                                  std::to_string(options.sustained_growth_window));
    if (!(options.sustained_growth_min_trend >= 0.0 && options.sustained_growth_min_trend <= 1.0))
      throw std::invalid_argument("MemoryTracker: sustained_growth_min_trend must be between 0 and 1");
    if (options.reader) {
      if (options.heap_source != HeapSource::automatic && options.heap_source != HeapSource::custom)
        throw std::invalid_argument("MemoryTracker: a custom reader replaces heap_source; leave heap_source automatic");
      return;
    }
    if (options.heap_source == HeapSource::custom)
      throw std::invalid_argument("MemoryTracker: HeapSource::custom needs a reader");
    if (options.heap_source == HeapSource::counter && !allocation_counter_installed())
      throw std::invalid_argument(
          "MemoryTracker: HeapSource::counter needs <stageflow/helpers/allocation_counter.hpp> included in one "
          "translation unit of the program");
    if (options.heap_source == HeapSource::allocator && !allocator_statistics_available)
      throw std::invalid_argument("MemoryTracker: HeapSource::allocator (mallinfo2) is unavailable: " +
                                  std::string(allocator_statistics_unavailable_reason) +
                                  "; ask for HeapSource::automatic to use the best available source "
                                  "(the sample's heap_source says which one it was)");
  }

  void take(MemoryTracker& other) {
    options_ = std::move(other.options_);
    active_.store(other.active_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    other.active_.store(false, std::memory_order_relaxed);
    ring_ = std::move(other.ring_);
    ring_start_ = std::exchange(other.ring_start_, 0);
    baseline_ = std::move(other.baseline_);
    heap_peak_ = std::move(other.heap_peak_);
    heap_window_ = std::move(other.heap_window_);
    rss_window_ = std::move(other.rss_window_);
    heap_warned_level_ = other.heap_warned_level_;
    rss_warned_level_ = other.rss_warned_level_;
    warming_up_ = other.warming_up_;
    observations_ = other.observations_;
    listeners_ = std::move(other.listeners_);
    error_count_ = other.error_count_;
    last_error_ = std::move(other.last_error_);
  }

  void keep(const MemorySample& sample) {
    if (options_.sample_capacity == 0) return;
    if (ring_.size() < options_.sample_capacity) {
      ring_.push_back(sample);
    } else {
      ring_[ring_start_] = sample;  // reuses the old label's buffer
      ring_start_ = (ring_start_ + 1) % ring_.size();
    }
  }

  static void check_absolute(MemoryMetric metric, const std::optional<std::size_t>& current,
                             const std::optional<std::size_t>& baseline, std::size_t threshold,
                             std::uint64_t& warned_level, const MemorySample& sample,
                             std::vector<MemoryGrowthWarning>& warnings) {
    if (threshold == 0 || !current || !baseline || *current <= *baseline) return;
    const std::size_t growth = *current - *baseline;
    const std::uint64_t level = growth / threshold;  // warn once per multiple of the threshold
    if (level <= warned_level) return;
    warned_level = level;
    MemoryGrowthWarning& warning = warnings.emplace_back();
    warning.kind = MemoryGrowthKind::absolute;
    warning.metric = metric;
    warning.label = sample.label;
    warning.time = sample.time;
    warning.growth_bytes = static_cast<std::int64_t>(growth);
    warning.baseline_bytes = *baseline;
    warning.current_bytes = *current;
    warning.threshold_bytes = threshold;
  }

  void check_sustained(MemoryMetric metric, const std::optional<std::size_t>& current, stageflow::detail::GrowthWindow& window,
                       const MemorySample& sample, std::vector<MemoryGrowthWarning>& warnings) const {
    if (!current || window.capacity() == 0) return;
    window.push(*current);
    if (!window.full()) return;
    const double slope = window.slope();
    if (!(slope > static_cast<double>(options_.sustained_growth_slope_bytes))) return;
    const double trend = window.trend();
    if (trend < options_.sustained_growth_min_trend) return;
    MemoryGrowthWarning& warning = warnings.emplace_back();
    warning.kind = MemoryGrowthKind::sustained;
    warning.metric = metric;
    warning.label = sample.label;
    warning.time = sample.time;
    warning.growth_bytes = static_cast<std::int64_t>(window.back()) - static_cast<std::int64_t>(window.front());
    warning.baseline_bytes = window.front();
    warning.current_bytes = window.back();
    warning.threshold_bytes = options_.sustained_growth_slope_bytes;
    warning.slope_bytes_per_sample = slope;
    warning.trend = trend;
    warning.window_samples = window.size();
    window.clear();
  }

  void notify(const Listeners& listeners, const MemoryObservation& observation) {
    for (const auto& listener : listeners.on_sample) call_guarded(listener, observation.sample);
    for (const auto& warning : observation.warnings)
      for (const auto& listener : listeners.on_warning) call_guarded(listener, warning);
  }

  template <class Listener, class Event>
  void call_guarded(const Listener& listener, const Event& event) noexcept {
    try {
      listener(event);
    } catch (...) {
      record_error(std::current_exception());
    }
  }

  Options options_;
  mutable std::mutex mutex_;
  std::atomic<bool> active_{false};
  std::vector<MemorySample> ring_;  // grows to sample_capacity, then wraps at ring_start_
  std::size_t ring_start_ = 0;
  std::optional<MemorySample> baseline_;
  std::optional<std::size_t> heap_peak_;
  stageflow::detail::GrowthWindow heap_window_;
  stageflow::detail::GrowthWindow rss_window_;
  std::uint64_t heap_warned_level_ = 0;
  std::uint64_t rss_warned_level_ = 0;
  std::size_t warming_up_ = 0;  // growth-window samples let pass since start()
  std::uint64_t observations_ = 0;
  std::shared_ptr<const Listeners> listeners_;
  std::uint64_t error_count_ = 0;
  std::exception_ptr last_error_;
};

/// The process-wide tracker that the one-argument track_memory and MemoryScope record into.
/// Default options (started). Created on first use and never destroyed, so it stays usable from
/// static destructors.
inline MemoryTracker& default_memory_tracker() {
  alignas(MemoryTracker) static unsigned char storage[sizeof(MemoryTracker)];
  static MemoryTracker* const tracker = [] {
    stageflow::detail::AllocationCountingPause pause;
    return ::new (static_cast<void*>(storage)) MemoryTracker();
  }();
  return *tracker;
}

}  // namespace stageflow::helpers
