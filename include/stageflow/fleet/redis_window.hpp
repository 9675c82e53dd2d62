// SPDX-License-Identifier: BSL-1.0
// RedisWindow: the UUID collision monitor's fleet-wide window on Redis (hiredis; Redis 7.0 or later).
//
//   stageflow::helpers::UuidCollisionMonitor monitor({
//       .category = "pipeline",
//       .shared_window = stageflow::fleet::RedisWindow({.address = "127.0.0.1:6379",
//                                                       .key_prefix = "stageflow:uuid:"})});
//
// Every instance of a service claims each id it observes in Redis: `SET <prefix><id> <instance> NX
// PX <ttl> GET`, which sets the key when no instance holds it and otherwise returns the holder. An
// id held by another instance is a fleet collision (the monitor's listeners hear it, with that
// instance's name); one held by this instance is only the local window's business. The key expires
// with the monitor's TTL counted from the first claim (later observations do not extend it).
//
// Off the request path: observe() pushes the id on a bounded queue (submit); a thread of this
// window sends what is queued in pipelined batches (one write, then the replies) and reports.
// Redis down, slow or gone: observe() is unaffected (the local window answers as ever); the queue
// fills and further ids are dropped (counters().dropped), a failed batch's ids too; errors are
// counted (backend_errors) and reported to the monitor at most once per `report_interval`; the
// thread reconnects with exponential backoff (with jitter) and sends what the queue holds then.
//
// Link hiredis (pkg-config hiredis, Debian libhiredis-dev) when you include this header.
#pragma once

#include <stageflow/fleet/detail/id_queue.hpp>
#include <stageflow/uuid/shared_window.hpp>
#include <stageflow/uuid/text.hpp>

#include <hiredis/hiredis.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace stageflow::fleet {

struct RedisWindowOptions {
  /// The server, "host:port" (host: a name or an IPv4/IPv6 address; [v6]:port also works).
  std::string address = "127.0.0.1:6379";
  /// Prepended to each id's canonical text to make its key.
  std::string key_prefix = "stageflow:uuid:";
  /// This instance's name, stored as each claimed key's value. Empty: "<hostname>/<pid>/<random>".
  std::string instance{};
  /// Ids queued at most (rounded up to a power of two); beyond it observe() drops them, counted.
  std::size_t queue_capacity = 1 << 16;
  /// Ids sent per pipelined batch at most.
  std::size_t max_batch = 1024;
  /// How long the thread sleeps when the queue is empty: the delay before an id reaches Redis.
  std::chrono::microseconds flush_interval{1000};
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{1000};  // a batch's write and replies
  /// Reconnect backoff: from min, doubled per failure up to max, each wait +-25% at random.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  /// At most one backend-unavailable report per this interval.
  std::chrono::milliseconds report_interval{10'000};
};

namespace detail {

inline std::string default_instance_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device random;
  char tag[9] = {};
  const auto value = random();
  for (int i = 0; i < 8; ++i) tag[i] = "0123456789abcdef"[(value >> (4 * i)) & 0xF];
  return std::string(host) + "/" + std::to_string(::getpid()) + "/" + tag;
}

/// "host:port" or "[v6]:port" -> (host, port); std::invalid_argument otherwise.
inline std::pair<std::string, int> split_address(std::string_view address) {
  const auto colon = address.rfind(':');
  int port = 0;
  const bool has_port = colon != std::string_view::npos && colon + 1 < address.size();
  if (has_port) {
    const auto* first = address.data() + colon + 1;
    const auto* last = address.data() + address.size();
    const auto [end, ec] = std::from_chars(first, last, port);
    if (ec != std::errc{} || end != last) port = 0;
  }
  std::string_view host = has_port ? address.substr(0, colon) : std::string_view{};
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || port <= 0 || port > 65535)
    throw std::invalid_argument("stageflow: RedisWindow address \"" + std::string(address) +
                                "\" is not host:port (e.g. 127.0.0.1:6379)");
  return {std::string(host), port};
}

inline timeval to_timeval(std::chrono::microseconds d) noexcept {
  return timeval{static_cast<time_t>(d.count() / 1'000'000), static_cast<suseconds_t>(d.count() % 1'000'000)};
}

/// The backend behind RedisWindow: the queue, the thread and the connection.
class RedisWindowBackend final : public helpers::SharedWindowBackend {
 public:
  explicit RedisWindowBackend(RedisWindowOptions options)
      : options_(std::move(options)), queue_(options_.queue_capacity) {
    std::tie(host_, port_) = split_address(options_.address);
    if (options_.instance.empty()) options_.instance = default_instance_name();
    if (options_.max_batch == 0) throw std::invalid_argument("stageflow: RedisWindow max_batch must be >= 1");
    if (options_.reconnect_min.count() <= 0 || options_.reconnect_max < options_.reconnect_min)
      throw std::invalid_argument("stageflow: RedisWindow needs 0 < reconnect_min <= reconnect_max");
  }
  ~RedisWindowBackend() override { stop(); }
  RedisWindowBackend(const RedisWindowBackend&) = delete;
  RedisWindowBackend& operator=(const RedisWindowBackend&) = delete;

  void start(std::chrono::nanoseconds ttl, helpers::SharedWindowReceiver& receiver) override {
    std::lock_guard lock(report_mutex_);
    if (started_) throw std::logic_error("stageflow: a RedisWindow serves one UuidCollisionMonitor; make one per monitor");
    constexpr auto day = std::chrono::hours(24);
    if (ttl <= std::chrono::nanoseconds::zero() || ttl > 365 * day)
      throw std::invalid_argument("stageflow: a RedisWindow needs the monitor's ttl_seconds finite (at most a year)");
    ttl_ms_ = std::to_string(std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(ttl).count()));
    receiver_ = &receiver;
    started_ = true;
    thread_ = std::thread([this] { run(); });
  }

  // Calls are serialized (the monitor's lock), so the count is a plain load and store, not a
  // read-modify-write; submitted is what the queue took plus this.
  void submit(const boost::uuids::uuid& id) noexcept override {
    if (!queue_.push(id)) full_drops_.store(full_drops_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  void retarget(helpers::SharedWindowReceiver& receiver) noexcept override {
    std::lock_guard lock(report_mutex_);
    receiver_ = &receiver;
  }

  void stop() noexcept override {
    {
      std::lock_guard lock(wake_mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(report_mutex_);
    receiver_ = nullptr;
  }

  helpers::SharedWindowCounters counters() const noexcept override {
    helpers::SharedWindowCounters c;
    c.checked = checked_.load(std::memory_order_relaxed);
    c.fleet_collisions = fleet_collisions_.load(std::memory_order_relaxed);
    const auto full_drops = full_drops_.load(std::memory_order_relaxed);
    c.submitted = queue_.pushed() + full_drops;
    c.dropped = full_drops + lost_.load(std::memory_order_relaxed);
    c.backend_errors = backend_errors_.load(std::memory_order_relaxed);
    c.reconnects = reconnects_.load(std::memory_order_relaxed);
    c.connected = connected_.load(std::memory_order_relaxed);
    return c;
  }

  const RedisWindowOptions& options() const noexcept { return options_; }
  std::size_t queued() const noexcept { return queue_.size(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct ContextFree {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
  };
  struct ReplyFree {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
  };

  // Sleeps until `until` or stop(); true when stopping.
  bool sleep_until(Clock::time_point until) {
    std::unique_lock lock(wake_mutex_);
    return wake_.wait_until(lock, until, [this] { return stopping_; });
  }
  bool stopping() {
    std::lock_guard lock(wake_mutex_);
    return stopping_;
  }

  void run() {
    std::vector<boost::uuids::uuid> batch(options_.max_batch);
    std::minstd_rand jitter(std::random_device{}());
    auto backoff = options_.reconnect_min;
    bool ever_connected = false;
    while (!stopping()) {
      if (!context_) {
        if (!connect()) {
          // +-25% so that a fleet does not reconnect in step after an outage.
          const auto wait = backoff * (75 + static_cast<int>(jitter() % 51)) / 100;
          backoff = std::min(options_.reconnect_max, backoff * 2);
          if (sleep_until(Clock::now() + wait)) break;
          continue;
        }
        backoff = options_.reconnect_min;
        if (ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
        ever_connected = true;
      }
      const std::size_t n = queue_.pop(batch.data(), batch.size());
      if (n == 0) {
        if (sleep_until(Clock::now() + options_.flush_interval)) break;
        continue;
      }
      send(batch.data(), n);
    }
    context_.reset();
  }

  bool connect() {
    context_.reset(redisConnectWithTimeout(host_.c_str(), port_, to_timeval(options_.connect_timeout)));
    if (context_ && context_->err == 0 && redisSetTimeout(context_.get(), to_timeval(options_.io_timeout)) == REDIS_OK) {
      connected_.store(true, std::memory_order_relaxed);
      return true;
    }
    fail("cannot connect to Redis at " + options_.address + ": " +
         (context_ ? std::string(context_->errstr) : std::string("out of memory")));
    context_.reset();
    return false;
  }

  // One pipelined batch: every command in one buffer, one write, then one reply per id.
  void send(const boost::uuids::uuid* ids, std::size_t n) {
    command_.clear();
    for (std::size_t i = 0; i < n; ++i) append_claim(ids[i]);
    if (redisAppendFormattedCommand(context_.get(), command_.data(), command_.size()) != REDIS_OK) {
      lose_connection(n, "Redis at " + options_.address + ": " + context_->errstr);
      return;
    }
    std::string refused;  // the first error reply, if any (e.g. a Redis older than 7.0)
    std::uint64_t checked = 0;
    for (std::size_t i = 0; i < n; ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
        checked_.fetch_add(checked, std::memory_order_relaxed);
        lose_connection(n - i, "Redis at " + options_.address + ": " + context_->errstr);
        return;
      }
      const std::unique_ptr<redisReply, ReplyFree> reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_NIL) {
        ++checked;
      } else if (reply->type == REDIS_REPLY_STRING) {
        ++checked;
        const std::string_view holder(reply->str, reply->len);
        if (holder != options_.instance) {
          fleet_collisions_.fetch_add(1, std::memory_order_relaxed);
          std::lock_guard lock(report_mutex_);
          if (receiver_) receiver_->on_fleet_collision(ids[i], holder);
        }
      } else {
        lost_.fetch_add(1, std::memory_order_relaxed);
        if (refused.empty())
          refused = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "an unexpected reply";
      }
    }
    checked_.fetch_add(checked, std::memory_order_relaxed);
    if (!refused.empty()) fail("Redis at " + options_.address + " refused SET NX PX GET (needs Redis 7.0): " + refused);
  }

  void append_claim(const boost::uuids::uuid& id) {
    // RESP: *7 SET <key> <instance> NX PX <ttl> GET, each argument as $<length>\r\n<bytes>\r\n.
    const std::size_t key_size = options_.key_prefix.size() + stageflow::detail::uuid_text_size;
    command_ += "*7\r\n$3\r\nSET\r\n$";
    command_ += std::to_string(key_size);
    command_ += "\r\n";
    command_ += options_.key_prefix;
    const std::size_t at = command_.size();
    command_.resize(at + stageflow::detail::uuid_text_size);
    stageflow::detail::write_uuid_text(command_.data() + at, id);
    command_ += "\r\n";
    append_bulk(options_.instance);
    command_ += "$2\r\nNX\r\n$2\r\nPX\r\n";
    append_bulk(ttl_ms_);
    command_ += "$3\r\nGET\r\n";
  }
  void append_bulk(std::string_view text) {
    command_ += '$';
    command_ += std::to_string(text.size());
    command_ += "\r\n";
    command_ += text;
    command_ += "\r\n";
  }

  void lose_connection(std::size_t lost_ids, std::string error) {
    lost_.fetch_add(lost_ids, std::memory_order_relaxed);
    context_.reset();
    fail(std::move(error));
  }

  // Counts the error and reports it, at most once per report_interval (a report nobody heard,
  // such as one before the monitor's backend listeners were added, does not count).
  void fail(std::string error) {
    backend_errors_.fetch_add(1, std::memory_order_relaxed);
    connected_.store(false, std::memory_order_relaxed);
    const auto now = Clock::now();
    if (reported_once_ && now - last_report_ < options_.report_interval) return;
    const auto totals = counters();
    std::lock_guard lock(report_mutex_);
    if (receiver_ && receiver_->on_backend_unavailable(error, totals)) {
      reported_once_ = true;
      last_report_ = now;
    }
  }

  RedisWindowOptions options_;
  std::string host_;
  int port_ = 0;
  std::string ttl_ms_;
  IdQueue queue_;
  std::atomic<std::uint64_t> full_drops_{0};  // written by submit() alone
  // Written by the thread alone (lost_: ids of failed batches):
  std::atomic<std::uint64_t> checked_{0}, fleet_collisions_{0}, lost_{0}, backend_errors_{0}, reconnects_{0};
  std::atomic<bool> connected_{false};
  // The thread's own:
  std::unique_ptr<redisContext, ContextFree> context_;
  std::string command_;
  bool reported_once_ = false;
  Clock::time_point last_report_{};
  // Reports go to receiver_ under report_mutex_ (retarget and stop wait for one in progress).
  std::mutex report_mutex_;
  helpers::SharedWindowReceiver* receiver_ = nullptr;
  bool started_ = false;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by wake_mutex_
  std::thread thread_;
};

}  // namespace detail

/// The `.shared_window` option of UuidCollisionMonitor on Redis (see the header comment). A handle:
/// copies share one window, which serves one monitor.
class RedisWindow : public helpers::SharedWindow {
 public:
  /// Throws std::invalid_argument for a malformed address or option. Connects later, on its thread.
  explicit RedisWindow(RedisWindowOptions options = {})
      : helpers::SharedWindow(std::make_shared<detail::RedisWindowBackend>(std::move(options))) {}

  /// The window's counters (the monitor's counters() carries the main ones too).
  helpers::SharedWindowCounters counters() const noexcept { return backend()->counters(); }
  /// The options in effect (instance filled in when it was left empty).
  const RedisWindowOptions& options() const noexcept { return redis().options(); }
  /// Ids waiting to be sent now.
  std::size_t queued() const noexcept { return redis().queued(); }

 private:
  const detail::RedisWindowBackend& redis() const noexcept {
    return static_cast<const detail::RedisWindowBackend&>(*backend());
  }
};

}  // namespace stageflow::fleet
