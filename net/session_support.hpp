// Internal to net/: what the Beast translation units (server.cpp, http_session.cpp,
// websocket_session.cpp) share. Includes Beast; never include it elsewhere.
#pragma once
#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "net/http_api.hpp"

namespace sb::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class websocket_session;

// Counts open sockets per client IP; a slot is released when its holder is destroyed.
class ip_slots {
 public:
  explicit ip_slots(size_t per_ip, size_t total) : per_ip_(per_ip), total_(total) {}
  struct slot {
    ip_slots* owner = nullptr;
    std::string ip;
    slot() = default;
    slot(ip_slots* o, std::string i) : owner(o), ip(std::move(i)) {}
    slot(slot&& other) noexcept
        : owner(std::exchange(other.owner, nullptr)), ip(std::move(other.ip)) {}
    slot& operator=(slot&&) = delete;
    ~slot() {
      if (owner) owner->release(ip);
    }
  };
  // A slot, or an empty one (owner == nullptr) when the IP or the node is at its limit.
  slot acquire(const std::string& ip);

 private:
  void release(const std::string& ip);
  std::mutex mutex_;
  std::unordered_map<std::string, size_t> counts_;
  size_t open_ = 0;
  size_t per_ip_;
  size_t total_;
};

// Shared by every session of one server.
struct server_context {
  const config::settings& cfg;
  codec::metrics& metrics;
  bridge& actors;
  http_api api;
  ip_slots slots;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::set<std::weak_ptr<websocket_session>, std::owner_less<std::weak_ptr<websocket_session>>>
      websockets;

  server_context(const config::settings& c, codec::metrics& m, bridge& a)
      : cfg(c),
        metrics(m),
        actors(a),
        api(c, m, a),
        slots(c.limits.max_connections_per_ip, c.limits.max_connections) {}
};

// Starts serving HTTP on an accepted socket.
void start_http_session(tcp::socket socket, server_context& ctx, ip_slots::slot slot);

// Takes over a socket whose upgrade request was accepted and authenticated; `response` (the
// 101) is the first thing written to it.
void start_websocket_session(tcp::socket socket, std::string response, server_context& ctx,
                             ip_slots::slot slot, codec::principal who);

// Closes every open WebSocket with 1001 (going away).
void close_all_websockets(server_context& ctx);

// Pings WebSockets silent for a while and drops those silent for too long or stuck in a close
// handshake. Called every few seconds from one timer per server; cheap for idle sockets.
void sweep_websockets(server_context& ctx);

}  // namespace sb::net
