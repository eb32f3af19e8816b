// The HTTP API of docs/PROTOCOL.md, routed on plain request/response structs so that it
// stays Beast-free. `handle` may be called from any asio thread; `reply` is called exactly
// once, possibly later from a CAF thread, and must only post back to the session's strand.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "actors/connection.hpp"
#include "codec/jwt.hpp"
#include "codec/metrics.hpp"
#include "codec/rate_limiter.hpp"
#include "config/config.hpp"
#include "net/bridge.hpp"

namespace sb::net {

struct target_parts;

struct http_request {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query
  std::string authorization;
  std::string content_type;
  std::string idempotency_key;
  bool has_idempotency_key = false;
  std::string body;
  std::string client_ip;
  std::string node_signature;  // X-Switchboard-Signature of a handoff chunk between nodes
};

struct http_response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

using responder = std::function<void(http_response)>;

class http_api {
 public:
  http_api(const config::settings& cfg, codec::metrics& metrics, bridge& actors);

  void handle(http_request req, responder reply);

  // Authenticates a WebSocket upgrade (token in ?token= or Authorization) and applies the
  // per-IP rate limit: the principal, or the error response to send instead of upgrading.
  std::variant<codec::principal, http_response> authenticate_upgrade(const http_request& req);

  // For connection actors: the shared per-principal limiter and their dependencies.
  connection_deps connection_dependencies();

  // Set once the node is shutting down: new requests answer 503.
  void set_stopping() { stopping_ = true; }

 private:
  void post_order(const http_request& req, responder reply);
  void poll(const http_request& req, responder reply);
  void dev_token(const http_request& req, responder reply);
  http_response dev_demo() const;
  // /api/conversations… and /admin/merchants/… (net/chat_routes.cpp).
  void chat_route(const http_request& req, const target_parts& parts, responder reply);
  void open_conversation(const http_request& req, const codec::principal& p, responder reply);
  void post_message(const http_request& req, const codec::principal& p, const std::string& conv,
                    responder reply);
  void history(const target_parts& parts, const codec::principal& p, const std::string& conv,
               responder reply);
  void list_conversations(const target_parts& parts, const codec::principal& p, responder reply);
  void order_status(const http_request& req, const codec::principal& p, const std::string& order_id,
                    responder reply);
  void stream_entries(const target_parts& parts, const codec::principal& p,
                      const std::string& stream, responder reply);
  void enrol_agent(const http_request& req, const codec::principal& p, const std::string& merchant,
                   const std::string& agent, responder reply);
  // Channels and the outbox (net/channel_routes.cpp).
  void wechat_callback(const http_request& req, const target_parts& parts,
                       const std::string& merchant, responder reply);
  void app_message(const http_request& req, responder reply);
  void channel_settings(const http_request& req, const codec::principal& p,
                        const std::string& merchant, const std::string& channel, responder reply);
  void outbox_list(const target_parts& parts, const codec::principal& p, responder reply);
  // POST /admin/outbox/{id}/retry (retry) and DELETE /admin/outbox/{id} (!retry).
  void outbox_item(const codec::principal& p, const std::string& id, bool retry, responder reply);
  // A service caller's scope ("*" or a merchant) and principal, or the error to answer.
  std::variant<std::pair<std::string, std::string>, http_response> service_caller(
      const http_request& req);
  // The cluster: /readyz, the internal handoff endpoint, /admin/nodes…, /admin/actors…,
  // /admin/streams/… (net/cluster_routes.cpp).
  http_response readiness() const;
  void cluster_route(const http_request& req, const target_parts& parts, responder reply);
  void import_chunk(const http_request& req, const target_parts& parts, const std::string& p,
                    const std::string& kind, responder reply);
  void list_nodes(responder reply);
  void list_replication(responder reply);
  void list_actors(const target_parts& parts, responder reply);
  void inspect_actor(const std::string& key, const std::string& kind, responder reply);
  void drain_node(const std::string& node, bool draining, responder reply);
  http_response static_file(const std::string& path) const;
  // The JWT principal of the request, or the 401 to answer.
  std::variant<codec::principal, http_response> jwt_principal(const http_request& req) const;
  // A 429 when the key is over its budget, else a response with status 0.
  http_response limit(codec::rate_limiter& limiter, const std::string& key);

  const config::settings& cfg_;
  codec::metrics& metrics_;
  bridge& actors_;
  codec::rate_limiter ip_limiter_;
  codec::rate_limiter principal_limiter_;
  std::atomic<bool> stopping_{false};
};

http_response json_error(unsigned status, std::string_view code, std::string_view message);

}  // namespace sb::net
