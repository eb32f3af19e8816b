// The port a connection actor writes to (the CAF → asio half of the bridge). Owned by actors/
// (the consumer); implemented by net/websocket_session. Every member is safe from any thread (it
// posts onto the session's strand and never blocks). Actors hold it only as a weak_ptr.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sb {

class socket_sink {
 public:
  virtual ~socket_sink() = default;
  // Queues text frames, written in order and coalesced per wake-up. A socket whose queue
  // exceeds limits.max_outbound_bytes is closed with 1008 (a reader too slow to keep up).
  virtual void send(std::vector<std::shared_ptr<const std::string>> frames) = 0;
  // Sends a close frame with `code` after the queued frames.
  virtual void close(uint16_t code) = 0;
};

}  // namespace sb
