// An append handed to a stream owner on the same node without a request: the asio thread sends
// it straight to an owner it already knows (net/owner_cache.hpp), and the owner calls `done`
// once the entry is durable. This skips what a CAF request costs per order (a helper actor, a
// registry round trip, request timeouts and a monitor). Never sent to another node: it carries
// a callback, so it has no wire form.
#pragma once
#include <functional>
#include <memory>

#include <caf/all.hpp>

#include "actors/interfaces.hpp"

namespace sb {

class local_append {
 public:
  // Called at most once, with the request and `done`, when the message is destroyed unhandled
  // (its owner had stopped, or stopped with it in its mailbox), so the caller can take the
  // path through the registry instead. Runs on whichever thread drops the message.
  using fallback = std::function<void(append_request, append_done)>;

  local_append(append_request req, append_done done, fallback on_dropped);

  // The owner takes the request and the callback; the fallback is then never called. Only the
  // first take of a message (and its copies) gets them.
  bool take(append_request& req, append_done& done);

 private:
  class state;
  // Shared because CAF copies message contents; the last copy's destruction decides.
  std::shared_ptr<state> state_;
};

}  // namespace sb

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::local_append)
