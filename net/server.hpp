// The HTTP + WebSocket server on one port (Beast, behind this Beast-free facade). main creates
// it after the actor system and destroys it before. listen/run/shutdown from main's thread;
// shutdown may be called from any thread.
#pragma once
#include <memory>
#include <string>

#include "codec/metrics.hpp"
#include "config/config.hpp"
#include "net/bridge.hpp"

namespace sb::net {

class server {
 public:
  server(const config::settings& cfg, codec::metrics& metrics, bridge& actors);
  ~server();

  // Binds and listens. Returns "" or one line (e.g. "cannot listen on 127.0.0.1:8080: Address
  // already in use").
  std::string listen();
  uint16_t port() const;
  // Serves on node.io_threads threads; returns after shutdown() has closed every socket.
  void run();
  // Stops accepting, closes WebSockets with 1001 and lets HTTP responses in progress finish
  // (at most `grace`), then makes run() return.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sb::net
