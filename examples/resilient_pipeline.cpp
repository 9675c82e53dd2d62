// SPDX-License-Identifier: BSL-1.0
// A stage that calls a flaky HTTP service, kept in check by a retry, hedging, a circuit breaker and
// a run deadline.
//
// The program starts the service itself on a loopback port (Boost.Beast, 127.0.0.1:0). It answers
// GET /quote?run=N on a schedule: the first request of runs 4 and 45 gets "503" (a blip), runs 8
// and 9 stall for 2 s, every request of runs 15 to 24 gets "503 Service Unavailable" (an outage),
// the first request of runs 41 and 52 is slow (300 ms: a slow replica), everything else gets a
// quote. Sixty runs go through
//
//   Quote::retry{.max_attempts = 2, ...}       a failed call is tried once more, 5 ms later
//   Quote::hedge{.after = 20 ms, .max_extra = 1}  a call still running after 20 ms gets a twin
//   Runner<CollectingSink, CircuitBreakers>   failure_threshold 3, open_for 200 ms, 1 probe
//   RunOptions{.deadline = now + 100 ms}       per run
//
// and the program prints one character per run and what each mechanism did: the retry saves the
// two blips; the deadline cuts the two stalls at 100 ms (the stage's socket is cancelled by its
// stop token); the hedge answers the two slow-replica runs in about 20 ms (the slow call is
// stopped); the breaker sees every attempt, opens after three 503s, rejects what follows without
// calling the service (a retry never retries an open circuit), lets one probe through after
// 200 ms and closes once the service answers again. Exit status 0 when all of that happened.
#include <stageflow/core/context_snapshot.hpp>
#include <stageflow/resilience/circuit_breakers.hpp>
#include <stageflow/resilience/hedge.hpp>
#include <stageflow/resilience/retry.hpp>
#include <stageflow/runner/async_run.hpp>
#include <stageflow/runner/cancel_on_stop.hpp>
#include <stageflow/runner/runner.hpp>
#include <stageflow/sinks/collecting_sink.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// ---- the flaky service ------------------------------------------------------------------------

std::atomic<int> service_calls{0};
std::atomic<int> outage_calls{0};  // requests that reached the service during its outage

bool in_outage(int run) { return run >= 15 && run <= 24; }
bool stalls(int run) { return run == 8 || run == 9; }
bool blips(int run) { return run == 4 || run == 45; }
bool slow_replica(int run) { return run == 41 || run == 52; }
std::map<int, int> requests_of_run;  // the service runs on one thread: no lock

asio::awaitable<void> serve_one(tcp::socket socket) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  co_await http::async_read(socket, buffer, request, asio::use_awaitable);
  const std::string target(request.target());
  const int run = std::stoi(target.substr(target.find('=') + 1));
  ++service_calls;
  const bool first_request = ++requests_of_run[run] == 1;
  http::response<http::string_body> response{http::status::ok, request.version()};
  if (stalls(run) || (slow_replica(run) && first_request)) {
    asio::steady_timer stall(socket.get_executor(), stalls(run) ? 2s : 300ms);
    co_await stall.async_wait(asio::use_awaitable);
  }
  if (in_outage(run) || (blips(run) && first_request)) {
    if (in_outage(run)) ++outage_calls;
    response.result(http::status::service_unavailable);
    response.body() = "overloaded";
  } else {
    response.body() = "quote " + std::to_string(100 + run);
  }
  response.prepare_payload();
  co_await http::async_write(socket, response, asio::use_awaitable);
}

asio::awaitable<void> serve(tcp::acceptor* acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor->async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor->get_executor(), serve_one(std::move(socket)), asio::detached);
  }
}

// ---- the pipeline -----------------------------------------------------------------------------

struct Request {
  int run = 0;
  tcp::endpoint service;
};

// Calls the service; a 503 fails the attempt (retried once; the breaker counts each attempt), the
// run's deadline cancels the socket through the stop token (the stage times out, not retried, and
// the breaker counts that too). A call still running after 20 ms gets a twin; the first answer
// wins and the other call is stopped: a quote is a read, so calling twice is harmless.
struct Quote {
  static constexpr std::string_view name = "quote";
  static constexpr stageflow::Retry retry{.max_attempts = 2,
                                          .initial_backoff = std::chrono::milliseconds(5),
                                          .max_backoff = std::chrono::milliseconds(20),
                                          .jitter = stageflow::Jitter::equal};
  static constexpr stageflow::Hedge hedge{.after = std::chrono::milliseconds(20), .max_extra = 1};
  asio::awaitable<stageflow::StageOutput<std::string>> execute(const auto& ctx) const {
    const Request& request = ctx.snapshot();
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stageflow::cancel_on_stop cancel(ctx.stop_token(), stream);
    co_await stream.async_connect(request.service, asio::use_awaitable);
    http::request<http::empty_body> get{http::verb::get, "/quote?run=" + std::to_string(request.run), 11};
    get.set(http::field::host, "127.0.0.1");
    co_await http::async_write(stream, get, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    co_await http::async_read(stream, buffer, response, asio::use_awaitable);
    if (response.result() != http::status::ok)
      co_return stageflow::fail("HTTP " + std::to_string(response.result_int()) + " " + response.body());
    co_return response.body();
  }
};

struct Answer {
  static constexpr std::string_view name = "answer";
  using depends_on = stageflow::after<Quote>;
  std::string execute(const auto& ctx) const { return "the " + *stageflow::input<Quote>(ctx); }
};

using QuotePipeline = stageflow::Pipeline<Quote, Answer>;
using Runner = stageflow::Runner<stageflow::CollectingSink, stageflow::CircuitBreakers>;

struct Tally {
  int ok = 0, retried_ok = 0, hedged_ok = 0, failed = 0, timed_out = 0, rejected = 0;
  std::chrono::milliseconds slowest_hedged{0};
  std::chrono::milliseconds longest_timed_out{0};
};

asio::awaitable<Tally> client(tcp::endpoint service, const Runner* runner, const stageflow::CollectingSink* events) {
  const QuotePipeline pipeline;
  Tally tally;
  std::string strip;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (int run = 0; run < 60; ++run) {
    const auto hedges_before = events->count("stage.hedged");
    const auto result = co_await runner->async_run(pipeline, Request{run, service},
                                                   {.deadline = std::chrono::steady_clock::now() + 100ms});
    const auto& quote = result.report<Quote>();
    if (result.ok()) {
      ++tally.ok;
      const bool retried = quote.attempts > 1;
      const bool hedged = events->count("stage.hedged") > hedges_before;
      tally.retried_ok += retried ? 1 : 0;
      if (hedged) {
        ++tally.hedged_ok;
        tally.slowest_hedged =
            std::max(tally.slowest_hedged, std::chrono::duration_cast<std::chrono::milliseconds>(result.duration));
      }
      strip += retried ? 'r' : hedged ? 'h' : '.';
    } else if (quote.reason == stageflow::circuit_open_reason) {
      ++tally.rejected;
      strip += 'x';
    } else if (result.status == stageflow::RunStatus::timed_out) {
      ++tally.timed_out;
      tally.longest_timed_out =
          std::max(tally.longest_timed_out, std::chrono::duration_cast<std::chrono::milliseconds>(result.duration));
      strip += 'T';
    } else {
      ++tally.failed;
      strip += 'F';
    }
    pause.expires_after(10ms);
    co_await pause.async_wait(asio::use_awaitable);
  }
  std::cout << "runs: " << strip << "\n      (. answered, r by a retry, h by a hedge, F failed, T cut by the deadline, x rejected by the breaker)\n";
  co_return tally;
}

int main() {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint service = acceptor.local_endpoint();
  std::cout << "flaky quote service on " << service << ": 503 once at runs 4 and 45, stalls at runs 8-9, 503 at runs 15-24, a slow replica at runs 41 and 52\n";
  asio::co_spawn(io, serve(&acceptor), asio::detached);

  stageflow::CollectingSink events;
  const stageflow::CircuitBreakers breakers({.failure_threshold = 3, .open_for = 200ms, .half_open_probes = 1});
  const Runner runner(events, breakers);

  Tally tally;
  bool done = false;
  asio::co_spawn(io, client(service, &runner, &events), [&](std::exception_ptr error, Tally t) {
    done = !error;
    tally = t;
    acceptor.close();  // ends the service; a stalled handler still waiting is left behind
    io.stop();
  });
  io.run();
  if (!done) {
    std::cout << "the client failed\n";
    return 1;
  }

  const auto opened = events.count("circuit.opened");
  const auto closed = events.count("circuit.closed");
  std::cout << "retry:    " << events.count("stage.retrying") << " attempts retried; " << tally.retried_ok
            << " runs answered thanks to a second attempt\n";
  std::cout << "hedge:    " << events.count("stage.hedged") << " calls hedged; " << tally.hedged_ok
            << " runs answered by the twin call (slowest " << tally.slowest_hedged.count()
            << " ms, the slow replica takes 300 ms)\n";
  std::cout << "deadline: " << tally.timed_out << " runs cut while the service stalled (longest "
            << tally.longest_timed_out.count() << " ms of a 2000 ms stall)\n"
            << "breaker:  opened " << opened << "x, half-opened " << events.count("circuit.half_opened")
            << "x, closed " << closed << "x; " << tally.rejected
            << " runs rejected without calling the service; the service saw " << outage_calls.load()
            << " of the outage's 10 requests (" << service_calls.load() << " in all); now "
            << stageflow::to_string(breakers.state("quote")) << '\n'
            << "outcomes: " << tally.ok << " answered, " << tally.failed << " failed, " << tally.timed_out
            << " timed out, " << tally.rejected << " rejected\n";

  const bool as_described = tally.retried_ok >= 1 && tally.hedged_ok >= 1 && tally.slowest_hedged < 300ms &&
                            tally.timed_out == 2 && tally.longest_timed_out < 1500ms && opened >= 1 && closed >= 1 &&
                            tally.rejected >= 1 && outage_calls.load() < 10 &&
                            breakers.state("quote") == stageflow::CircuitState::closed;
  return as_described ? 0 : 1;
}
