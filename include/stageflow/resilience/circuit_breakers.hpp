// SPDX-License-Identifier: BSL-1.0
// CircuitBreakers: a policy that stops calling a stage whose service keeps failing.
//
//   stageflow::Runner<stageflow::CircuitBreakers> runner(stageflow::CircuitBreakers(
//       {.failure_threshold = 5, .open_for = std::chrono::seconds(5), .half_open_probes = 1}));
//
// One breaker per stage name, shared by every run of the runner and by every copy of the policy
// (copies share; `CircuitBreakers(other.shared())` shares with another runner). A breaker is
//   closed     the stage runs; `failure_threshold` failures in a row (or, when `failure_ratio` is
//              set, that share of failures over the last `window` runs) open it;
//   open       the stage does not run: before_stage fails it at once with circuit_open_reason;
//   half_open  after `open_for`, `half_open_probes` runs try the stage; if they all succeed the
//              breaker closes, if one fails it opens again for another `open_for` (probes that
//              have not reported after `open_for` are given up and new ones admitted).
// A failure is a stage that failed or timed out; ok is a success; skip and cancel (a stop) count
// as neither. Events circuit.opened, circuit.half_opened, circuit.closed name the stage.
//
// The closed path takes no lock with the consecutive rule: one atomic load before the stage, one
// after (a ratio window takes a short lock to record each outcome). The clock is read only when a
// breaker opens or is open. Declare the policy before retries' users care: a stage the breaker
// rejected never starts, so it is not retried (its reason is circuit_open_reason).
#pragma once

#include <stageflow/core/stage_output.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stageflow {

namespace events {
inline constexpr std::string_view circuit_opened = "circuit.opened";
inline constexpr std::string_view circuit_half_opened = "circuit.half_opened";
inline constexpr std::string_view circuit_closed = "circuit.closed";
}  // namespace events

/// The reason of a stage an open breaker rejected (StageReport::reason): it never started.
inline constexpr std::string_view circuit_open_reason = "circuit open";

enum class CircuitState : std::uint8_t { closed, open, half_open };

constexpr std::string_view to_string(CircuitState state) noexcept {
  switch (state) {
    case CircuitState::closed: return "closed";
    case CircuitState::open: return "open";
    case CircuitState::half_open: return "half_open";
  }
  return "unknown";
}

struct CircuitBreakerOptions {
  /// Consecutive failures that open a breaker; 0: only the ratio rule opens it.
  std::uint32_t failure_threshold = 5;
  /// How long an open breaker rejects the stage before letting probes through.
  std::chrono::nanoseconds open_for = std::chrono::seconds(5);
  /// Runs admitted while half open; all of them must succeed to close the breaker.
  std::uint32_t half_open_probes = 1;
  /// When > 0: the breaker also opens when at least this share of the last `window` runs failed.
  double failure_ratio = 0.0;
  /// The runs the ratio is taken over (the window must be full before the ratio rule opens).
  std::uint32_t window = 20;
};

namespace detail {

/// One stage's breaker. `state` is read without the lock; every transition happens under it.
template <class TimePoint>
struct CircuitBreaker {
  std::atomic<CircuitState> state{CircuitState::closed};
  std::atomic<std::uint32_t> consecutive{0};
  std::mutex mutex;
  std::uint64_t generation = 0;  // bumped at each transition: stale probes are not counted
  std::uint32_t probes_admitted = 0;
  std::uint32_t probes_succeeded = 0;
  std::vector<bool> window;  // the ratio rule's ring of outcomes (true: failed)
  std::size_t window_next = 0, window_count = 0, window_failures = 0;
  TimePoint opened_at{};
};

/// What happened to a breaker, for the event emitted after its lock is released.
struct CircuitTransition {
  std::string_view event;  // empty: nothing
  std::string_view from;
  std::int64_t count = 0;  // circuit.opened: failures; half_opened / closed: probes
};

/// Every breaker of a CircuitBreakers policy and its copies, by stage name; each pipeline type
/// finds its stages' breakers once, then through a lock-free list.
template <class Clock>
class CircuitBreakerTable {
 public:
  using time_point = typename Clock::time_point;
  using breaker_type = CircuitBreaker<time_point>;

  CircuitBreakerTable(CircuitBreakerOptions options, Clock clock) : options_(options), clock_(std::move(clock)) {
    if (options_.failure_threshold == 0 && options_.failure_ratio <= 0.0)
      throw std::invalid_argument("CircuitBreakers: set failure_threshold or failure_ratio, or no breaker opens");
    if (options_.half_open_probes == 0) throw std::invalid_argument("CircuitBreakers: half_open_probes must be >= 1");
    if (options_.failure_ratio > 1.0 || (options_.failure_ratio > 0.0 && options_.window == 0))
      throw std::invalid_argument("CircuitBreakers: failure_ratio must be in (0, 1] over a window of >= 1 run");
  }
  CircuitBreakerTable(const CircuitBreakerTable&) = delete;
  CircuitBreakerTable& operator=(const CircuitBreakerTable&) = delete;

  const CircuitBreakerOptions& options() const noexcept { return options_; }

  /// The state of the breaker of the stage with this name (closed for a stage never run).
  CircuitState state(std::string_view stage) const {
    std::lock_guard lock(names_mutex_);
    const auto found = by_name_.find(stage);
    return found == by_name_.end() ? CircuitState::closed : found->second->state.load(std::memory_order_acquire);
  }

  /// The breakers of Pipeline's stages, in listing order.
  template <class Pipeline>
  breaker_type* const* breakers_of() {
    const void* key = &pipeline_key<Pipeline>;
    for (const Node* node = head_.load(std::memory_order_acquire); node != nullptr; node = node->next)
      if (node->key == key) return node->breakers.data();
    return add<Pipeline>(key);
  }

  /// The closed path: one load, no lock.
  static bool closed(const breaker_type& b) noexcept {
    return b.state.load(std::memory_order_acquire) == CircuitState::closed;
  }
  /// A success while closed with no failure counted (the common case): nothing to record.
  bool quiet(const breaker_type& b, StageStatus status, bool probe) const noexcept {
    return status == StageStatus::ok && !probe && !by_ratio_ && b.consecutive.load(std::memory_order_relaxed) == 0;
  }

  /// Before the stage: false when it must not run. `probe` is set when it runs as a half-open probe.
  bool admit(breaker_type& b, bool& probe, std::uint64_t& generation, CircuitTransition& t) {
    probe = false;
    return closed(b) || admit_slow(b, probe, generation, t);
  }
  /// After a stage the breaker admitted: records its outcome.
  void record(breaker_type& b, StageStatus status, bool probe, std::uint64_t generation, CircuitTransition& t) {
    if (!quiet(b, status, probe)) record_slow(b, status, probe, generation, t);
  }

 private:
  [[gnu::noinline]] bool admit_slow(breaker_type& b, bool& probe, std::uint64_t& generation, CircuitTransition& t) {
    std::lock_guard lock(b.mutex);
    CircuitState s = b.state.load(std::memory_order_relaxed);
    if (s == CircuitState::open) {
      const auto now = clock_.now();
      if (now - b.opened_at < options_.open_for) return false;
      set(b, CircuitState::half_open);
      b.opened_at = now;  // half open since
      t = {events::circuit_half_opened, "open", options_.half_open_probes};
      s = CircuitState::half_open;
    }
    if (s == CircuitState::closed) return true;  // closed while we waited for the lock
    if (b.probes_admitted >= options_.half_open_probes) {
      // Probes out for longer than open_for are given up (a stage left running at an abandoned
      // deadline never reports): a new set of probes, whose outcomes alone count.
      const auto now = clock_.now();
      if (now - b.opened_at < options_.open_for) return false;
      set(b, CircuitState::half_open);
      b.opened_at = now;
    }
    ++b.probes_admitted;
    probe = true;
    generation = b.generation;
    return true;
  }

  [[gnu::noinline]] void record_slow(breaker_type& b, StageStatus status, bool probe, std::uint64_t generation,
                                     CircuitTransition& t) {
    const bool failed = status == StageStatus::fail || status == StageStatus::timed_out;
    if (!failed && status != StageStatus::ok) {  // skip, cancel, not_run: neither; a probe gives its slot back
      if (probe) {
        std::lock_guard lock(b.mutex);
        if (b.generation == generation && b.probes_admitted > 0) --b.probes_admitted;
      }
      return;
    }
    if (probe) return record_probe(b, failed, generation, t);
    if (by_ratio_) return record_windowed(b, failed, t);
    if (!failed) {
      if (b.consecutive.load(std::memory_order_relaxed) != 0) b.consecutive.store(0, std::memory_order_relaxed);
      return;
    }
    const std::uint32_t n = b.consecutive.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n < options_.failure_threshold) return;
    std::lock_guard lock(b.mutex);
    if (b.state.load(std::memory_order_relaxed) == CircuitState::closed) open(b, "closed", n, t);
  }

  struct Node {
    const void* key;
    std::vector<breaker_type*> breakers;
    const Node* next;
  };
  template <class Pipeline>
  static constexpr char pipeline_key = 0;

  template <class Pipeline>
  breaker_type* const* add(const void* key) {
    std::lock_guard lock(names_mutex_);
    for (const Node* node = head_.load(std::memory_order_acquire); node != nullptr; node = node->next)
      if (node->key == key) return node->breakers.data();  // added while we waited
    auto node = std::make_unique<Node>(Node{key, {}, head_.load(std::memory_order_relaxed)});
    for (const std::string_view name : Pipeline::names) {
      auto found = by_name_.find(name);
      if (found == by_name_.end()) found = by_name_.emplace(std::string(name), std::make_unique<breaker_type>()).first;
      node->breakers.push_back(found->second.get());
    }
    head_.store(node.get(), std::memory_order_release);
    return nodes_.emplace_back(std::move(node))->breakers.data();
  }

  // Under b.mutex from here on.
  void record_probe(breaker_type& b, bool failed, std::uint64_t generation, CircuitTransition& t) {
    std::lock_guard lock(b.mutex);
    if (b.generation != generation || b.state.load(std::memory_order_relaxed) != CircuitState::half_open) return;
    if (failed) return open(b, "half_open", 1, t);
    if (++b.probes_succeeded < options_.half_open_probes) return;
    const std::int64_t probes = b.probes_succeeded;
    set(b, CircuitState::closed);
    t = {events::circuit_closed, "half_open", probes};
  }

  void record_windowed(breaker_type& b, bool failed, CircuitTransition& t) {
    std::lock_guard lock(b.mutex);
    if (b.state.load(std::memory_order_relaxed) != CircuitState::closed) return;  // admitted before it opened
    if (b.window.size() != options_.window) b.window.assign(options_.window, false);
    if (b.window_count == b.window.size()) {
      if (b.window[b.window_next]) --b.window_failures;
    } else {
      ++b.window_count;
    }
    b.window[b.window_next] = failed;
    b.window_failures += failed ? 1 : 0;
    b.window_next = (b.window_next + 1) % b.window.size();
    const std::uint32_t n = failed ? b.consecutive.fetch_add(1, std::memory_order_relaxed) + 1 : 0;
    if (!failed) b.consecutive.store(0, std::memory_order_relaxed);
    const bool by_ratio = b.window_count == b.window.size() &&
                          static_cast<double>(b.window_failures) >= options_.failure_ratio * static_cast<double>(b.window_count);
    const bool by_threshold = options_.failure_threshold > 0 && n >= options_.failure_threshold;
    if (failed && (by_ratio || by_threshold))
      open(b, "closed", static_cast<std::int64_t>(by_ratio ? b.window_failures : n), t);
  }

  void open(breaker_type& b, std::string_view from, std::int64_t failures, CircuitTransition& t) {
    set(b, CircuitState::open);
    b.opened_at = clock_.now();
    t = {events::circuit_opened, from, failures};
  }

  /// A transition: a new generation, counters cleared.
  void set(breaker_type& b, CircuitState s) {
    ++b.generation;
    b.probes_admitted = b.probes_succeeded = 0;
    b.consecutive.store(0, std::memory_order_relaxed);
    b.window_next = b.window_count = b.window_failures = 0;
    b.state.store(s, std::memory_order_release);
  }

  const CircuitBreakerOptions options_;
  const bool by_ratio_ = options_.failure_ratio > 0.0;
  Clock clock_;
  mutable std::mutex names_mutex_;
  std::map<std::string, std::unique_ptr<breaker_type>, std::less<>> by_name_;
  std::atomic<const Node*> head_{nullptr};
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace detail

/// The policy: see the top of this file. `Clock` (steady_clock) is injectable for tests: any
/// copyable type with a thread-safe `now()` (copies of the policy share one copy of it).
template <class Clock = std::chrono::steady_clock>
class BasicCircuitBreakers {
 public:
  using table_type = detail::CircuitBreakerTable<Clock>;

  BasicCircuitBreakers() : BasicCircuitBreakers(CircuitBreakerOptions{}) {}
  explicit BasicCircuitBreakers(CircuitBreakerOptions options, Clock clock = {})
      : table_(std::make_shared<table_type>(options, std::move(clock))) {}
  /// Shares the breakers of another policy (another runner): `CircuitBreakers(first.shared())`.
  explicit BasicCircuitBreakers(std::shared_ptr<table_type> shared) : table_(std::move(shared)) {
    if (!table_) throw std::invalid_argument("CircuitBreakers: null shared breakers");
  }

  /// The state of the named stage's breaker (closed for a stage that never ran). Thread-safe.
  CircuitState state(std::string_view stage) const { return table_->state(stage); }
  const CircuitBreakerOptions& options() const noexcept { return table_->options(); }
  const std::shared_ptr<table_type>& shared() const noexcept { return table_; }
  /// A closed breaker's hooks are an atomic load and a compare (a short lock with `.failure_ratio`):
  /// stages may share clock readings (<stageflow/runner/policy.hpp>).
  static constexpr bool light_hooks = true;

  /// One stage execution: which breaker admitted it, and how.
  struct stage_state {
    typename table_type::breaker_type* breaker = nullptr;  // null: rejected, nothing to record
    std::uint64_t generation = 0;
    bool probe = false;
  };

  // The closed paths are inline; whatever takes the breaker's lock is out of line.
  template <class Run, class Stage>
  void before_stage(stage_state& ss, Run& run, Stage& stage) const {
    auto& b = *table_->template breakers_of<typename Run::pipeline_type>()[Stage::index];
    ss.breaker = &b;
    ss.probe = false;  // a retried attempt reuses the state
    if (!table_type::closed(b)) [[unlikely]]
      admit_slow(ss, run, stage);
  }

  template <class Run, class Stage>
  void after_stage(stage_state& ss, Run& run, Stage& stage) const {
    auto* b = ss.breaker;
    if (b == nullptr) return;
    ss.breaker = nullptr;  // a hook that runs twice records once
    if (!table_->quiet(*b, stage.status(), ss.probe)) [[unlikely]]
      record_slow(*b, ss, run, stage);
  }

 private:
  template <class Run, class Stage>
  [[gnu::noinline]] void admit_slow(stage_state& ss, Run& run, Stage& stage) const {
    detail::CircuitTransition t;
    const bool admitted = table_->admit(*ss.breaker, ss.probe, ss.generation, t);
    if (!t.event.empty()) run.emit(t.event, Stage::name, {{"from", t.from}, {"probes", t.count}});
    if (!admitted) {
      ss.breaker = nullptr;
      stage.fail(std::string(circuit_open_reason));
    }
  }

  template <class Run, class Stage>
  [[gnu::noinline]] void record_slow(typename table_type::breaker_type& b, const stage_state& ss, Run& run,
                                     Stage& stage) const {
    detail::CircuitTransition t;
    table_->record(b, stage.status(), ss.probe, ss.generation, t);
    if (t.event == events::circuit_opened)
      run.emit(t.event, Stage::name,
               {{"from", t.from},
                {"failures", t.count},
                {"open_for_ns", static_cast<std::int64_t>(table_->options().open_for.count())}});
    else if (!t.event.empty())
      run.emit(t.event, Stage::name, {{"from", t.from}, {"probes", t.count}});
  }

  std::shared_ptr<table_type> table_;
};

using CircuitBreakers = BasicCircuitBreakers<>;

}  // namespace stageflow
