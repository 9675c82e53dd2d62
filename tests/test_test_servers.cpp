// SPDX-License-Identifier: BSL-1.0
// support/test_servers.hpp: how tests find the servers of scripts/test-servers, and the reasons
// they give (for SKIP) when a server is not there.
#include "catch2_shim.hpp"
#include "test_servers.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace {

using namespace stageflow::testing;

// Sets an environment variable for one scope, restoring the earlier value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1); else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1); else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A loopback port nothing listens on: bound (so nobody else takes it) but not listening.
struct ClosedPort {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  ClosedPort() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~ClosedPort() { ::close(fd); }
};

std::string send_and_read(const std::string& host_port, const std::string& request) {
  const auto colon = host_port.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1))));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  char buffer[64] = {};
  const auto n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

TEST_CASE("an unset address is no server, with the variable to set as the reason") {
  ScopedEnv redis(redis_address_variable, nullptr);
  ScopedEnv postgres(postgres_conninfo_variable, "");
  std::string why_not;
  CHECK_FALSE(redis_address(why_not));
  CHECK(why_not.find("STAGEFLOW_REDIS_ADDRESS is not set") != std::string::npos);
  CHECK_FALSE(postgres_conninfo(why_not));
  CHECK(why_not.find("STAGEFLOW_POSTGRES_CONNINFO is not set") != std::string::npos);
}

TEST_CASE("an address where nothing answers is no server, and the reason names it") {
  ClosedPort closed;
  const std::string address = "127.0.0.1:" + std::to_string(closed.port);
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(closed.port) + " user=postgres";
  ScopedEnv redis(redis_address_variable, address.c_str());
  ScopedEnv postgres(postgres_conninfo_variable, conninfo.c_str());
  std::string why_not;
  CHECK_FALSE(redis_address(why_not));
  CHECK(why_not.find(address) != std::string::npos);
  CHECK_FALSE(postgres_conninfo(why_not));
  CHECK(why_not.find(address) != std::string::npos);
  ScopedEnv malformed(redis_address_variable, "localhost");
  CHECK_FALSE(redis_address(why_not));
  CHECK(why_not.find("not host:port") != std::string::npos);
}

TEST_CASE("the Redis server of scripts/test-servers answers PING") {
  std::string why_not;
  const auto address = redis_address(why_not);
  if (!address) STAGEFLOW_SKIP(why_not);
  CHECK(send_and_read(*address, "PING\r\n") == "+PONG\r\n");
}

TEST_CASE("the PostgreSQL server of scripts/test-servers accepts connections") {
  std::string why_not;
  const auto conninfo = postgres_conninfo(why_not);
  if (!conninfo) STAGEFLOW_SKIP(why_not);
  CHECK(conninfo->find("dbname=") != std::string::npos);
}
