// SPDX-License-Identifier: BSL-1.0
// cancel_on_stop: an async stage's waits end when its stop token fires.
//
//   boost::asio::awaitable<Reply> execute(const auto& ctx) const {
//     boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::seconds(1));
//     stageflow::cancel_on_stop guard(ctx.stop_token(), timer);     // a socket, a resolver, a stream too
//     boost::system::error_code ec;
//     co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
//     if (ec == boost::asio::error::operation_aborted) co_return Reply::fallback();   // stopped
//     ...
//   }
//
// This is the std::stop_callback idiom, done safely. The stop token may fire on any thread (the
// watchdog's at a deadline or timeout, a failing sibling's, the caller's), but an Asio I/O object
// must only be touched on its own executor. So the callback does not cancel; it posts the cancel to
// the object's executor, where it runs between the stage's own steps, and only if the guard (hence,
// the object) is still alive. A stop that came before the guard was made is honoured too: the
// cancel is posted at once and reaches the first wait. The object's executor must run its
// handlers one at a time (a strand, or an io_context run by one thread): an async stage's
// `co_await this_coro::executor` is a strand.
#pragma once

#include <boost/asio/post.hpp>

#include <memory>
#include <optional>
#include <stop_token>
#include <utility>

namespace stageflow {

template <class IoObject>
class cancel_on_stop {
 public:
  /// Cancels `object`'s pending operations (object.cancel()) on its executor when `stop` fires.
  cancel_on_stop(const std::stop_token& stop, IoObject& object)
      : target_(std::make_shared<IoObject*>(&object)) {
    callback_.emplace(stop, Post{target_});
  }
  cancel_on_stop(const cancel_on_stop&) = delete;
  cancel_on_stop& operator=(const cancel_on_stop&) = delete;
  /// Runs on the object's executor (the stage's coroutine): a cancel still queued finds nothing.
  ~cancel_on_stop() {
    callback_.reset();  // waits for a callback that is running on another thread
    *target_ = nullptr;
  }

 private:
  struct Post {
    std::shared_ptr<IoObject*> target;
    void operator()() const {
      IoObject* object = *target;  // read before posting: the guard is alive while its callback runs
      boost::asio::post(object->get_executor(), [target = target] {
        if (IoObject* alive = *target) alive->cancel();
      });
    }
  };

  std::shared_ptr<IoObject*> target_;
  std::optional<std::stop_callback<Post>> callback_;
};

}  // namespace stageflow
