#include "actors/local_append.hpp"

#include <mutex>
#include <utility>

namespace sb {

class local_append::state {
 public:
  state(append_request req, append_done done, fallback on_dropped)
      : req_(std::move(req)), done_(std::move(done)), on_dropped_(std::move(on_dropped)) {}
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  ~state() {
    if (!taken_ && on_dropped_) on_dropped_(std::move(req_), std::move(done_));
  }

  bool take(append_request& req, append_done& done) {
    std::lock_guard guard{mutex_};
    if (taken_) return false;
    taken_ = true;
    req = std::move(req_);
    done = std::move(done_);
    return true;
  }

 private:
  std::mutex mutex_;  // copies of one message could reach two actors
  bool taken_ = false;
  append_request req_;
  append_done done_;
  fallback on_dropped_;
};

local_append::local_append(append_request req, append_done done, fallback on_dropped)
    : state_(std::make_shared<state>(std::move(req), std::move(done), std::move(on_dropped))) {}

bool local_append::take(append_request& req, append_done& done) {
  return state_ && state_->take(req, done);
}

}  // namespace sb
