// SPDX-License-Identifier: BSL-1.0
// RedisWindow on a real redis-server: two processes share ids (fleet collisions), ids apart by
// more than the TTL do not collide, an outage loses no local detection and the window recovers,
// and a full queue drops ids (counted) without blocking observe().
//
// The shared server is scripts/test-servers' (STAGEFLOW_REDIS_ADDRESS); the outage test starts and
// kills its own (STAGEFLOW_REDIS_SERVER). Without them those cases say SKIP with the reason.
#include <stageflow/fleet/fleet_events.hpp>
#include <stageflow/fleet/redis_window.hpp>
#include <stageflow/sinks/collecting_sink.hpp>
#include <stageflow/uuid/collision_monitor.hpp>
#include <stageflow/uuid/uuid7.hpp>

#include <boost/uuid/uuid_io.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch2_shim.hpp"
#include "test_servers.hpp"

using namespace stageflow;
using namespace std::chrono_literals;
using helpers::UuidCollisionMonitor;

extern char** environ;

namespace {

// A key prefix of this test run alone, so parallel tests on the one server do not meet.
std::string fresh_prefix(const std::string& what) {
  return "stageflow-test:" + std::to_string(::getpid()) + ":" + what + ":" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ":";
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// What one fleet_peer process printed.
struct PeerReport {
  std::string instance;
  std::vector<std::string> local;
  std::map<std::string, std::string> fleet;  // id -> holder
  std::string done;
  int status = -1;
};

// The ids one peer observes: `shared` random version 4 ids from the seed (the same in every peer
// given it), then `unique` UUIDv7 of its own.
std::vector<boost::uuids::uuid> peer_ids(int seed, int shared, int unique) {
  std::mt19937_64 random(static_cast<unsigned long long>(seed));
  std::vector<boost::uuids::uuid> ids;
  for (int i = 0; i < shared; ++i) {
    boost::uuids::uuid id{};
    for (int half = 0; half < 2; ++half) {
      const auto bits = random();
      for (int b = 0; b < 8; ++b) id.data[half * 8 + b] = static_cast<std::uint8_t>(bits >> (8 * b));
    }
    id.data[6] = static_cast<std::uint8_t>((id.data[6] & 0x0F) | 0x40);
    id.data[8] = static_cast<std::uint8_t>((id.data[8] & 0x3F) | 0x80);
    ids.push_back(id);
  }
  for (int i = 0; i < unique; ++i) ids.push_back(helpers::generate_uuid7());
  return ids;
}

// One instance of a service, in a child process: a monitor on a RedisWindow observes the peer's
// ids in a random order, waits until Redis answered for all, and writes what it found to `out`:
//   instance <name> / local <id> (a local collision: none expected) / fleet <id> <holder> / done ...
// Returns the exit status: 0, or 1 when Redis did not answer for every id within 20 s.
int run_peer(int out, const std::string& address, const std::string& prefix, double ttl, int seed, int shared,
             int unique) {
  auto ids = peer_ids(seed, shared, unique);
  std::shuffle(ids.begin(), ids.end(), std::mt19937_64(std::random_device{}()));
  const fleet::RedisWindow window({.address = address, .key_prefix = prefix, .flush_interval = 200us});
  std::string text = "instance " + window.options().instance + "\n";
  std::mutex mutex;
  int status = 0;
  {
    UuidCollisionMonitor monitor({.ttl_seconds = ttl, .max_entries = ids.size() + 1, .shared_window = window});
    monitor.add_listener([&](const helpers::UuidEvent& e) {
      if (e.scope != helpers::UuidScope::fleet) return;
      std::lock_guard lock(mutex);
      text += "fleet " + boost::uuids::to_string(e.id) + " " + e.other_instance + "\n";
    });
    for (const auto& id : ids)
      if (monitor.observe(id)) {
        std::lock_guard lock(mutex);
        text += "local " + boost::uuids::to_string(id) + "\n";
      }
    const bool answered = wait_for([&] {
      const auto c = window.counters();
      return c.checked + c.dropped == c.submitted;
    }, 20s);
    status = answered ? 0 : 1;
  }  // the monitor stops the window: every report has been delivered
  const auto c = window.counters();
  text += "done submitted=" + std::to_string(c.submitted) + " checked=" + std::to_string(c.checked) +
          " dropped=" + std::to_string(c.dropped) + " errors=" + std::to_string(c.backend_errors) + "\n";
  for (std::size_t at = 0; at < text.size();) {
    const auto n = ::write(out, text.data() + at, text.size() - at);
    if (n <= 0) return 3;
    at += static_cast<std::size_t>(n);
  }
  return status;
}

// A peer in a forked child process (no other thread runs when it forks: each monitor's thread ends
// with the monitor); finish() collects what it wrote and its exit status.
class Peer {
 public:
  Peer(const std::string& address, const std::string& prefix, double ttl, int seed, int shared, int unique) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::fflush(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(fds[0]);
      int status = 2;
      try {
        status = run_peer(fds[1], address, prefix, ttl, seed, shared, unique);
      } catch (...) {
      }
      ::_exit(status);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~Peer() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  PeerReport finish() {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    ::close(std::exchange(fd_, -1));
    PeerReport report;
    int status = 0;
    ::waitpid(std::exchange(pid_, -1), &status, 0);
    report.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::istringstream lines(text);
    for (std::string kind; lines >> kind;) {
      std::string rest;
      std::getline(lines, rest);
      if (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
      if (kind == "instance") report.instance = rest;
      if (kind == "local") report.local.push_back(rest);
      if (kind == "done") report.done = rest;
      if (kind == "fleet") {
        const auto space = rest.find(' ');
        report.fleet[rest.substr(0, space)] = rest.substr(space + 1);
      }
    }
    return report;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

// The text of the shared ids every peer given this seed observes.
std::set<std::string> shared_ids(int seed, int count) {
  std::set<std::string> texts;
  for (const auto& id : peer_ids(seed, count, 0)) texts.insert(boost::uuids::to_string(id));
  return texts;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A redis-server of the test's own, on a port it chooses, that the test can kill and restart.
class OwnRedis {
 public:
  OwnRedis(std::string program, int port) : program_(std::move(program)), port_(port) {}
  ~OwnRedis() { kill(); }
  OwnRedis(const OwnRedis&) = delete;
  OwnRedis& operator=(const OwnRedis&) = delete;

  bool start() {
    const std::string port = std::to_string(port_);
    std::vector<std::string> args = {program_, "--port", port, "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--dir", "/tmp", "--logfile", "/dev/null"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, program_.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return false;
    std::string why_not;
    return wait_for([&] { return stageflow::testing::tcp_answers("127.0.0.1", port, 200, why_not); }, 10s);
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string program_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("two processes on one Redis: each id both observe within the TTL is one fleet collision", "[threads]") {
  std::string why_not;
  const auto address = stageflow::testing::redis_address(why_not);
  if (!address) STAGEFLOW_SKIP(why_not);
  const std::string prefix = fresh_prefix("two-processes");
  constexpr int seed = 1234, shared = 2000, unique = 2000;
  // Both at once: for each shared id exactly one of them claims it first and the other hears a
  // fleet collision naming the first; ids of their own never collide.
  Peer a(*address, prefix, 60, seed, shared, unique);
  Peer b(*address, prefix, 60, seed, shared, unique);
  const PeerReport ra = a.finish(), rb = b.finish();
  REQUIRE(ra.status == 0);
  REQUIRE(rb.status == 0);
  INFO("a: " << ra.done << "; b: " << rb.done);
  CHECK(ra.instance != rb.instance);
  CHECK(ra.local.empty());
  CHECK(rb.local.empty());
  std::set<std::string> reported;
  for (const auto& [id, holder] : ra.fleet) {
    CHECK(holder == rb.instance);
    reported.insert(id);
  }
  for (const auto& [id, holder] : rb.fleet) {
    CHECK(holder == ra.instance);
    CHECK(reported.insert(id).second);  // not reported by both
  }
  CHECK(reported == shared_ids(seed, shared));
  // A third process later, within the TTL: every shared id is a fleet collision for it.
  Peer c(*address, prefix, 60, seed, shared, 10);
  const PeerReport rc = c.finish();
  REQUIRE(rc.status == 0);
  CHECK(rc.fleet.size() == static_cast<std::size_t>(shared));
}

TEST_CASE("two processes on one Redis: ids observed further apart than the TTL are no collision", "[threads]") {
  std::string why_not;
  const auto address = stageflow::testing::redis_address(why_not);
  if (!address) STAGEFLOW_SKIP(why_not);
  const std::string prefix = fresh_prefix("apart");
  constexpr int seed = 99, shared = 300;
  constexpr double ttl = 2.0;  // long enough for the third peer below to start in, even under TSan
  Peer first(*address, prefix, ttl, seed, shared, 0);
  const PeerReport r1 = first.finish();
  REQUIRE(r1.status == 0);
  CHECK(r1.fleet.empty());
  std::this_thread::sleep_for(2500ms);  // past the TTL: Redis has expired every key
  Peer second(*address, prefix, ttl, seed, shared, 0);
  const PeerReport r2 = second.finish();
  REQUIRE(r2.status == 0);
  CHECK(r2.fleet.empty());
  // The same again without the wait: the ids do collide, so the TTL is what kept them apart above.
  Peer third(*address, prefix, ttl, seed, shared, 0);
  const PeerReport r3 = third.finish();
  REQUIRE(r3.status == 0);
  CHECK(r3.fleet.size() == static_cast<std::size_t>(shared));
}

TEST_CASE("Redis killed mid-run: observe() keeps detecting locally, the outage is reported, the window recovers",
          "[threads]") {
  std::string why_not;
  const auto program = stageflow::testing::redis_server_program(why_not);
  if (!program) STAGEFLOW_SKIP(why_not);
  OwnRedis server(*program, free_port());
  REQUIRE(server.start());
  const std::string prefix = fresh_prefix("outage");
  const fleet::RedisWindow window({.address = server.address(), .key_prefix = prefix,
                                   .flush_interval = 200us, .io_timeout = 500ms, .reconnect_min = 20ms,
                                   .reconnect_max = 200ms, .report_interval = 300ms});
  UuidCollisionMonitor monitor({.ttl_seconds = 60, .category = "pipeline", .shared_window = window});
  CollectingSink sink;
  fleet::forward_fleet_events(monitor, sink);
  auto all_answered = [&] {
    const auto c = window.counters();
    return c.checked + c.dropped == c.submitted;
  };

  std::vector<boost::uuids::uuid> before;
  for (int i = 0; i < 500; ++i) {
    before.push_back(helpers::generate_uuid7());
    CHECK_FALSE(monitor.observe(before.back()));
  }
  REQUIRE(wait_for(all_answered, 10s));
  CHECK(window.counters().checked == 500);
  CHECK(window.counters().connected);

  server.kill();
  // During the outage: every repeat is still a local collision, new ids are not, and no
  // observe() waits for the network.
  auto slowest = std::chrono::nanoseconds::zero();
  int local_collisions = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 25; ++i) {
      const auto started = std::chrono::steady_clock::now();
      const bool repeat = monitor.observe(before[static_cast<std::size_t>(round * 25 + i)]);
      const bool fresh = monitor.observe(helpers::generate_uuid7());
      slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
      local_collisions += repeat ? 1 : 0;
      CHECK_FALSE(fresh);
    }
    std::this_thread::sleep_for(5ms);
  }
  CHECK(local_collisions == 500);
  CHECK(slowest < 50ms);  // a queue push; the connect attempts are on the window's thread
  REQUIRE(wait_for([&] { return monitor.counters().backend_errors > 0; }, 5s));
  REQUIRE(wait_for([&] {
    for (const auto& e : sink.events())
      if (e.type == "uuid.backend_unavailable") return true;
    return false;
  }, 5s));
  CHECK_FALSE(window.counters().connected);
  const auto unavailable = [&] {
    int n = 0;
    for (const auto& e : sink.events()) n += e.type == "uuid.backend_unavailable" ? 1 : 0;
    return n;
  };
  // Once per report interval, not once per error.
  std::this_thread::sleep_for(700ms);
  const auto errors = monitor.counters().backend_errors;
  CHECK(unavailable() <= 4);
  CHECK(static_cast<int>(errors) > unavailable());

  // Back: the window reconnects by itself and checks ids again, fleet collisions included.
  REQUIRE(server.start());
  REQUIRE(wait_for([&] { return window.counters().connected && window.counters().reconnects >= 1; }, 10s));
  const auto checked_before = window.counters().checked;
  const auto claimed_elsewhere = helpers::generate_uuid7();
  {
    const fleet::RedisWindow other({.address = server.address(), .key_prefix = prefix, .instance = "other-instance"});
    UuidCollisionMonitor other_monitor({.ttl_seconds = 60, .shared_window = other});
    other_monitor.observe(claimed_elsewhere);
    REQUIRE(wait_for([&] { return other.counters().checked == 1; }, 10s));
  }
  CHECK_FALSE(monitor.observe(claimed_elsewhere));  // locally new
  REQUIRE(wait_for([&] { return monitor.counters().fleet_collisions == 1; }, 10s));
  REQUIRE(wait_for(all_answered, 10s));
  CHECK(window.counters().checked > checked_before);
  bool heard = false;
  for (const auto& e : sink.events())
    if (e.type == "uuid.collision" && e.text("id") == boost::uuids::to_string(claimed_elsewhere)) {
      heard = true;
      CHECK(e.text("instance") == "other-instance");
      CHECK(e.text("scope") == "fleet");
    }
  CHECK(heard);
}

TEST_CASE("no server: a full queue drops ids, counted, and observe() still answers locally", "[threads]") {
  const fleet::RedisWindow window({.address = "127.0.0.1:" + std::to_string(free_port()), .queue_capacity = 16,
                                   .reconnect_min = 1000ms, .reconnect_max = 1000ms});
  UuidCollisionMonitor monitor({.shared_window = window});
  // The first failed connect happens before the listener is there; that report, heard by nobody,
  // must not silence the next ones for the 10 s report interval.
  REQUIRE(wait_for([&] { return window.counters().backend_errors >= 1; }, 5s));
  std::vector<helpers::UuidBackendNotice> notices;
  std::mutex mutex;
  monitor.add_backend_listener([&](const helpers::UuidBackendNotice& n) {
    std::lock_guard lock(mutex);
    notices.push_back(n);
  });
  const auto id = helpers::generate_uuid7();
  CHECK_FALSE(monitor.observe(id));
  for (int i = 0; i < 99; ++i) monitor.observe(helpers::generate_uuid7());
  CHECK(monitor.observe(id));
  const auto c = monitor.counters();
  CHECK(c.observed == 101);
  CHECK(c.collisions == 1);
  CHECK(c.fleet_dropped >= 101 - 16);
  CHECK(window.queued() <= 16);
  REQUIRE(wait_for([&] {
    std::lock_guard lock(mutex);
    return !notices.empty();
  }, 5s));
  std::lock_guard lock(mutex);
  CHECK(notices[0].error.find("cannot connect to Redis at 127.0.0.1:") != std::string::npos);
  CHECK(notices[0].backend_errors >= 1);
}

TEST_CASE("RedisWindow rejects what it cannot work with, clearly") {
  CHECK_THROWS_WITH(fleet::RedisWindow({.address = "localhost"}), Catch::Contains("is not host:port"));
  CHECK_THROWS_WITH(fleet::RedisWindow({.address = "127.0.0.1:99999"}), Catch::Contains("is not host:port"));
  CHECK_THROWS_AS(fleet::RedisWindow({.queue_capacity = 0}), std::invalid_argument);
  CHECK_THROWS_AS(fleet::RedisWindow({.max_batch = 0}), std::invalid_argument);
  CHECK_NOTHROW(fleet::RedisWindow({.address = "[::1]:6379"}));
  const fleet::RedisWindow window({.address = "127.0.0.1:1"});
  CHECK_THROWS_WITH(UuidCollisionMonitor({.ttl_seconds = std::numeric_limits<double>::infinity(),
                                          .shared_window = window}),
                    Catch::Contains("finite"));
  UuidCollisionMonitor monitor({.shared_window = window});
  CHECK_THROWS_WITH(UuidCollisionMonitor({.shared_window = window}), Catch::Contains("serves one"));
  CHECK_FALSE(window.options().instance.empty());
}
