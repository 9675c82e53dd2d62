// SPDX-License-Identifier: BSL-1.0
// Finds the throwaway servers scripts/test-servers starts (Redis, PostgreSQL) for tests and
// benchmarks: their addresses come from the environment, and each is checked to answer on TCP, so
// a caller can say SKIP with the reason instead of failing (or passing) without a server.
//
//   std::string why_not;
//   auto address = stageflow::testing::redis_address(why_not);   // "127.0.0.1:PORT"
//   if (!address) STAGEFLOW_SKIP(why_not);
//   auto conninfo = stageflow::testing::postgres_conninfo(why_not);  // libpq conninfo
#pragma once

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sstream>
#include <string>

namespace stageflow::testing {

inline constexpr const char* redis_address_variable = "STAGEFLOW_REDIS_ADDRESS";
inline constexpr const char* redis_server_variable = "STAGEFLOW_REDIS_SERVER";
inline constexpr const char* postgres_conninfo_variable = "STAGEFLOW_POSTGRES_CONNINFO";

/// True when a TCP connection to host:port succeeds within timeout_ms; otherwise false and why.
inline bool tcp_answers(const std::string& host, const std::string& port, int timeout_ms, std::string& why_not) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    why_not = "cannot resolve " + host + ":" + port + ": " + ::gai_strerror(rc);
    return false;
  }
  std::string error = "no address";
  bool connected = false;
  for (addrinfo* a = found; a != nullptr && !connected; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      connected = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (::poll(&p, 1, timeout_ms) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 &&
          so_error == 0) {
        connected = true;
      } else {
        error = so_error != 0 ? std::strerror(so_error) : "timed out";
      }
    } else {
      error = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (!connected) why_not = "nothing answers on " + host + ":" + port + " (" + error + ")";
  return connected;
}

/// The Redis server's "host:port" from STAGEFLOW_REDIS_ADDRESS when it answers; else nullopt and why.
inline std::optional<std::string> redis_address(std::string& why_not) {
  const char* value = std::getenv(redis_address_variable);
  if (value == nullptr || *value == '\0') {
    why_not = std::string(redis_address_variable) + " is not set (scripts/test-servers starts a redis-server)";
    return std::nullopt;
  }
  const std::string address = value;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    why_not = std::string(redis_address_variable) + "=" + address + " is not host:port";
    return std::nullopt;
  }
  if (!tcp_answers(address.substr(0, colon), address.substr(colon + 1), 2000, why_not)) {
    why_not = "Redis at " + std::string(redis_address_variable) + ": " + why_not;
    return std::nullopt;
  }
  return address;
}

/// The redis-server program, for tests that start (and kill) their own server; else nullopt and why.
inline std::optional<std::string> redis_server_program(std::string& why_not) {
  const char* value = std::getenv(redis_server_variable);
  if (value == nullptr || *value == '\0' || ::access(value, X_OK) != 0) {
    why_not = std::string(redis_server_variable) +
              " does not name a runnable redis-server (scripts/test-servers sets it)";
    return std::nullopt;
  }
  return std::string(value);
}

/// The PostgreSQL conninfo from STAGEFLOW_POSTGRES_CONNINFO when its host and port answer on TCP;
/// else nullopt and why. (Only `host` and `port` keywords are read for the check; libpq reads the rest.)
inline std::optional<std::string> postgres_conninfo(std::string& why_not) {
  const char* value = std::getenv(postgres_conninfo_variable);
  if (value == nullptr || *value == '\0') {
    why_not = std::string(postgres_conninfo_variable) + " is not set (scripts/test-servers starts a PostgreSQL cluster)";
    return std::nullopt;
  }
  const std::string conninfo = value;
  std::string host = "127.0.0.1", port = "5432";
  std::istringstream words(conninfo);
  for (std::string word; words >> word;) {
    if (word.rfind("host=", 0) == 0) host = word.substr(5);
    if (word.rfind("port=", 0) == 0) port = word.substr(5);
  }
  if (!tcp_answers(host, port, 2000, why_not)) {
    why_not = "PostgreSQL at " + std::string(postgres_conninfo_variable) + ": " + why_not;
    return std::nullopt;
  }
  return conninfo;
}

}  // namespace stageflow::testing
