// SPDX-License-Identifier: BSL-1.0
// A chat pipeline with an async stage: `enrich` fetches the user's profile over HTTP (Boost.Beast)
// from a small profile service that this program starts on a loopback port (127.0.0.1:0), while
// `moderate` runs beside it. Everything runs on one thread, one io_context.
//
// The second request asks for a profile the service is slow to give (2 s), under a 300 ms
// deadline: the deadline fires enrich's stop token, stageflow::cancel_on_stop cancels its socket,
// and the run ends timed_out by its deadline instead of after 2 s. Exit status 0 when both
// outcomes are as described.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/runner.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <chrono>
#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// ---- the profile service: GET /profile/<user> -> "<user>:<tier>"; /profile/slow-* waits 2 s ----

asio::awaitable<void> serve_one(tcp::socket socket) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  co_await http::async_read(socket, buffer, request, asio::use_awaitable);
  const std::string target(request.target());
  const std::string user = target.substr(target.rfind('/') + 1);
  if (user.rfind("slow-", 0) == 0) {
    asio::steady_timer slow(socket.get_executor(), 2s);
    co_await slow.async_wait(asio::use_awaitable);
  }
  http::response<http::string_body> response{http::status::ok, request.version()};
  response.set(http::field::content_type, "text/plain");
  response.body() = user + ":" + (user == "ada" ? "gold" : "standard");
  response.prepare_payload();
  co_await http::async_write(socket, response, asio::use_awaitable);
}

asio::awaitable<void> serve(tcp::acceptor* acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor->async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor->get_executor(), serve_one(std::move(socket)), asio::detached);
  }
}

// ---- the pipeline ----------------------------------------------------------------------------

struct Request {
  std::string user;
  std::string text;
  tcp::endpoint profile_service;
};

struct Normalize {
  static constexpr std::string_view name = "normalize";
  std::string execute(const auto& ctx) const {
    std::string text = ctx.snapshot().text;
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
};

struct Profile {
  std::string user;
  std::string tier;
};

// The async stage: an HTTP GET whose socket the stop token cancels.
struct Enrich {
  static constexpr std::string_view name = "enrich";
  asio::awaitable<Profile> execute(const auto& ctx) const {
    const Request& request = ctx.snapshot();
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stageflow::cancel_on_stop cancel(ctx.stop_token(), stream);  // deadline, failure, caller's stop
    co_await stream.async_connect(request.profile_service, asio::use_awaitable);
    http::request<http::empty_body> get{http::verb::get, "/profile/" + request.user, 11};
    get.set(http::field::host, "127.0.0.1");
    co_await http::async_write(stream, get, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    co_await http::async_read(stream, buffer, response, asio::use_awaitable);
    const std::string& body = response.body();
    const auto colon = body.find(':');
    co_return Profile{body.substr(0, colon), colon == std::string::npos ? "" : body.substr(colon + 1)};
  }
};

// Runs beside enrich: both need only normalize.
struct Moderate {
  static constexpr std::string_view name = "moderate";
  using depends_on = stageflow::after<Normalize>;
  bool execute(const auto& ctx) const { return stageflow::input<Normalize>(ctx)->find("spam") == std::string::npos; }
};

struct Reply {
  static constexpr std::string_view name = "reply";
  using depends_on = stageflow::after<Normalize, Enrich, Moderate>;
  stageflow::StageOutput<std::string> execute(const auto& ctx) const {
    if (!*stageflow::input<Moderate>(ctx)) return stageflow::skip("moderated");
    const Profile& profile = *stageflow::input<Enrich>(ctx);
    return "hi " + profile.user + " (" + profile.tier + "), you said: " + *stageflow::input<Normalize>(ctx);
  }
};

using Chat = stageflow::Pipeline<Normalize, Enrich, Moderate, Reply>;

asio::awaitable<int> chat(tcp::endpoint service) {
  const stageflow::Runner<> runner;
  const Chat pipeline;
  int failures = 0;

  // 1. A normal request: the profile arrives, the reply uses it.
  const Request fast{.user = "ada", .text = "Hello There", .profile_service = service};
  const auto answered = co_await runner.async_run(pipeline, fast,
                                                  {.deadline = std::chrono::steady_clock::now() + 2s});
  if (answered.ok()) {
    std::cout << "reply: " << *answered.output<Reply>() << "  (" << answered.duration.count() / 1000 << " us)\n";
  } else {
    std::cout << "first run " << stageflow::to_string(answered.status) << ": " << answered.error << '\n';
    ++failures;
  }

  // 2. The service is slow (2 s); the run's deadline is 300 ms.
  const Request slow{.user = "slow-bob", .text = "Are you there?", .profile_service = service};
  const auto timed = co_await runner.async_run(pipeline, slow, {.deadline = std::chrono::steady_clock::now() + 300ms});
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timed.duration).count();
  std::cout << "slow profile: " << stageflow::to_string(timed.status) << " after " << ms << " ms (" << timed.error
            << "); enrich " << stageflow::to_string(timed.report<Enrich>().status) << ", reply "
            << stageflow::to_string(timed.report<Reply>().status) << '\n';
  if (timed.status != stageflow::RunStatus::timed_out || ms >= 1500) ++failures;
  co_return failures;
}

int main() {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint service = acceptor.local_endpoint();
  std::cout << "profile service on " << service << '\n';
  asio::co_spawn(io, serve(&acceptor), asio::detached);

  int failures = 1;
  asio::co_spawn(io, chat(service), [&](std::exception_ptr error, int n) {
    failures = error ? 1 : n;
    acceptor.close();  // ends the service; a slow handler still waiting is left to finish
    io.stop();
  });
  io.run();
  return failures == 0 ? 0 : 1;
}
