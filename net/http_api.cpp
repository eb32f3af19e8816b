#include "net/http_api.hpp"

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

#include "actors/stream_names.hpp"
#include "channels/channel.hpp"
#include "codec/frames.hpp"
#include "net/http_support.hpp"
#include "web/assets.hpp"

namespace sb::net {

namespace {

// Debian's libjs-bootstrap5, served under /vendor/bootstrap5/.
constexpr std::string_view bootstrap_dir = "/usr/share/javascript/bootstrap5";
constexpr std::string_view bootstrap_prefix = "/vendor/bootstrap5/";

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace

http_response json_error(unsigned status, std::string_view code, std::string_view message) {
  http_response r{status, codec::encode_http_error(code, message), "application/json", {}};
  // Every 503 is temporary (an owner being taken over or moved, storage, readiness): say when
  // to try again.
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

http_api::http_api(const config::settings& cfg, codec::metrics& metrics, bridge& actors)
    : cfg_(cfg),
      metrics_(metrics),
      actors_(actors),
      ip_limiter_(cfg.limits.ip_rate, cfg.limits.ip_burst),
      principal_limiter_(cfg.limits.principal_rate, cfg.limits.principal_burst) {}

connection_deps http_api::connection_dependencies() {
  return {actors_.registry(), &cfg_, &metrics_, &principal_limiter_};
}

http_response http_api::limit(codec::rate_limiter& limiter, const std::string& key) {
  double wait = limiter.take(key, now_s());
  if (wait <= 0) return {0, {}, {}, {}};
  metrics_.rate_limited.fetch_add(1, std::memory_order_relaxed);
  auto r = json_error(429, "rate_limited", "too many requests; retry after the given seconds");
  r.headers.emplace_back("Retry-After", std::to_string(static_cast<int64_t>(std::ceil(wait))));
  return r;
}

std::variant<codec::principal, http_response> http_api::jwt_principal(
    const http_request& req) const {
  auto token = bearer(req.authorization);
  if (token.empty()) token = split_target(req.target).param("token");
  if (token.empty()) return json_error(401, "unauthorized", "missing bearer token");
  auto verified = codec::jwt_verify(token, cfg_.auth.secret, wall_s());
  if (auto* reason = std::get_if<std::string>(&verified))
    return json_error(401, "unauthorized", "invalid token: " + *reason);
  auto& p = std::get<codec::principal>(verified);
  // "wx:" and "app:" customers are the channels' (WeChat, app backends): a token cannot be one.
  if (p.role == "customer" && channels::channel_of_customer(p.sub) != channels::channel::web)
    return json_error(403, "forbidden", "customer ids starting wx: or app: belong to channels");
  return p;
}

std::variant<codec::principal, http_response> http_api::authenticate_upgrade(
    const http_request& req) {
  if (stopping_) return json_error(503, "unavailable", "node is shutting down");
  if (auto r = limit(ip_limiter_, req.client_ip); r.status) return r;
  return jwt_principal(req);
}

void http_api::handle(http_request req, responder reply) {
  if (stopping_) return reply(json_error(503, "unavailable", "node is shutting down"));
  auto parts = split_target(req.target);
  if (!parts.ok) return reply(json_error(400, "bad_request", "malformed request target"));
  const auto& path = parts.path;
  if (path == "/healthz") return reply(json_ok(200, R"({"status":"ok"})"));
  if (path == "/readyz") return reply(readiness());
  if (auto r = limit(ip_limiter_, req.client_ip); r.status) return reply(std::move(r));
  if (path.starts_with("/internal/") || path == "/admin/nodes" ||
      path.starts_with("/admin/nodes/") || path == "/admin/actors" ||
      path.starts_with("/admin/actors/") || path.starts_with("/admin/streams/") ||
      path == "/admin/replication")
    return cluster_route(req, parts, std::move(reply));
  if (path == "/metrics") return reply({200, metrics_.render(), "text/plain; version=0.0.4", {}});
  if (path == "/api/orders") {
    if (req.method != "POST") return reply(json_error(405, "method_not_allowed", "use POST"));
    return post_order(req, std::move(reply));
  }
  if (path == "/api/poll") {
    if (req.method != "GET") return reply(json_error(405, "method_not_allowed", "use GET"));
    return poll(req, std::move(reply));
  }
  if (path == "/api/dev/token" && cfg_.node.dev_mode) {
    if (req.method != "POST") return reply(json_error(405, "method_not_allowed", "use POST"));
    return dev_token(req, std::move(reply));
  }
  if (path == "/api/dev/demo" && cfg_.node.dev_mode) {
    if (req.method != "GET") return reply(json_error(405, "method_not_allowed", "use GET"));
    return reply(dev_demo());
  }
  if (path.starts_with("/wechat/")) {
    auto merchant = path.substr(std::string_view("/wechat/").size());
    if (req.method != "GET" && req.method != "POST")
      return reply(json_error(405, "method_not_allowed", "use GET or POST"));
    return wechat_callback(req, parts, merchant, std::move(reply));
  }
  if (path == "/api/channels/app/messages") {
    if (req.method != "POST") return reply(json_error(405, "method_not_allowed", "use POST"));
    return app_message(req, std::move(reply));
  }
  if (path.starts_with("/api/conversations") || path.starts_with("/api/streams/") ||
      path.starts_with("/api/orders/") || path.starts_with("/admin/merchants/") ||
      path == "/admin/outbox" || path.starts_with("/admin/outbox/"))
    return chat_route(req, parts, std::move(reply));
  if (req.method == "GET" && !path.starts_with("/api/") && !path.starts_with("/admin/"))
    return reply(static_file(path));
  reply(json_error(404, "not_found", "no such endpoint"));
}

std::variant<std::pair<std::string, std::string>, http_response> http_api::service_caller(
    const http_request& req) {
  // Who: a service key (scoped to a merchant or "*") or a JWT of role service.
  auto token = bearer(req.authorization);
  if (token.empty()) return json_error(401, "unauthorized", "missing bearer token");
  std::string scope, principal;
  for (const auto& k : cfg_.auth.service_keys)
    if (codec::secret_equal(token, k.key)) {
      scope = k.merchant;
      principal = "key:" + k.merchant;
    }
  if (scope.empty()) {
    auto verified = codec::jwt_verify(token, cfg_.auth.secret, wall_s());
    auto* p = std::get_if<codec::principal>(&verified);
    if (!p) return json_error(401, "unauthorized", "invalid service key or token");
    if (p->role != "service")
      return json_error(403, "forbidden", "only service principals may call this");
    scope = p->mid;
    principal = p->sub;
  }
  if (auto r = limit(principal_limiter_, principal); r.status) return r;
  return std::pair{scope, principal};
}

void http_api::post_order(const http_request& req, responder reply) {
  auto caller = service_caller(req);
  if (auto* r = std::get_if<http_response>(&caller)) return reply(std::move(*r));
  const auto& scope = std::get<0>(caller).first;
  if (!req.content_type.starts_with("application/json"))
    return reply(
        json_error(415, "unsupported_media_type", "Content-Type must be application/json"));
  if (req.has_idempotency_key && (req.idempotency_key.empty() || req.idempotency_key.size() > 128 ||
                                  !printable_ascii(req.idempotency_key)))
    return reply(json_error(400, "invalid_field",
                            "Idempotency-Key must be 1..128 printable ASCII characters"));
  auto parsed = codec::parse_order(req.body, {cfg_.limits.max_body, cfg_.limits.max_json_depth});
  if (auto* err = std::get_if<codec::protocol_error>(&parsed))
    return reply(json_error(status_of(err->code), err->code, err->message));
  auto& order = std::get<codec::order_input>(parsed);
  if (scope != "*" && scope != order.merchant)
    return reply(json_error(403, "forbidden", "this key may not post orders for that merchant"));
  actors_.append(orders_stream(order.merchant),
                 append_request{"order", std::move(order.data), req.idempotency_key},
                 [reply](caf::expected<append_result> r) {
                   if (!r && error_code(r.error()) == "owner_unavailable")
                     return reply(error_response(r.error()));
                   if (!r)
                     return reply(json_error(503, "unavailable",
                                             "the order was not stored; retry with the same "
                                             "Idempotency-Key"));
                   auto res = json_ok(202, "{\"stream\":" + codec::json_quote(r->stream) +
                                               ",\"seq\":" + std::to_string(r->seq) +
                                               ",\"id\":" + codec::json_quote(r->id) + "}");
                   if (r->duplicate) res.headers.emplace_back("Idempotent-Replayed", "true");
                   reply(std::move(res));
                 });
}

void http_api::poll(const http_request& req, responder reply) {
  auto who = jwt_principal(req);
  if (auto* r = std::get_if<http_response>(&who)) return reply(std::move(*r));
  auto& p = std::get<codec::principal>(who);
  if (auto r = limit(principal_limiter_, p.sub); r.status) return reply(std::move(r));
  auto streams = readable_streams(p);
  if (streams.empty())
    return reply(json_error(403, "forbidden", "no stream to poll for this role"));
  auto parts = split_target(req.target);
  auto readable = [&](const std::string& s) {
    return std::find(streams.begin(), streams.end(), s) != streams.end();
  };
  std::string stream = parts.param("stream").empty() ? streams.front() : parts.param("stream");
  if (!readable(stream)) return reply(json_error(400, "invalid_field", "not a stream you read"));
  uint64_t after = 0;
  const std::string cursor = parts.param("cursor");
  if (!cursor.empty()) {
    auto at = cursor.rfind('@');
    auto seq = at == std::string::npos ? std::nullopt : parse_uint(cursor.substr(at + 1));
    if (!seq || !readable(cursor.substr(0, at)))
      return reply(json_error(400, "invalid_field", "cursor is not one this server returned"));
    stream = cursor.substr(0, at);
    after = *seq;
  }
  auto timeout_s = parse_uint(parts.param("timeout").empty() ? "25" : parts.param("timeout"));
  if (!timeout_s) return reply(json_error(400, "invalid_field", "timeout must be whole seconds"));
  const uint64_t capped = std::min<uint64_t>(*timeout_s, cfg_.limits.max_poll_timeout.count());
  actors_.poll(stream, p.sub, after, !cursor.empty(), static_cast<uint32_t>(capped * 1000), p.role,
               [reply](caf::expected<poll_result> r) {
                 if (!r && error_code(r.error()) == "owner_unavailable")
                   return reply(error_response(r.error()));
                 if (!r) return reply(json_error(503, "unavailable", "stream unavailable"));
                 std::string body = "{\"entries\":[";
                 for (size_t i = 0; i < r->frames.size(); ++i) {
                   if (i) body += ',';
                   body += *r->frames[i];
                 }
                 body += "],\"cursor\":" +
                         codec::json_quote(r->stream + "@" + std::to_string(r->cursor)) + "}";
                 reply(json_ok(200, std::move(body)));
               });
}

void http_api::dev_token(const http_request& req, responder reply) {
  auto err = codec::check_json_body(req.body, {cfg_.limits.max_body, cfg_.limits.max_json_depth});
  if (!err.code.empty()) return reply(json_error(status_of(err.code), err.code, err.message));
  auto body = boost::json::parse(req.body).as_object();
  auto field = [&](const char* name) -> std::string {
    auto* v = body.if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  codec::principal p{field("sub"), field("role"), field("mid"),
                     wall_s() + cfg_.auth.dev_token_ttl.count()};
  if (p.role == "customer" && channels::channel_of_customer(p.sub) != channels::channel::web)
    return reply(
        json_error(400, "invalid_field", "customer ids starting wx: or app: belong to channels"));
  if (!codec::valid_id(p.sub) || !codec::valid_role(p.role) ||
      !(codec::valid_id(p.mid) || (p.mid == "*" && (p.role == "service" || p.role == "admin"))))
    return reply(json_error(400, "invalid_field",
                            "need sub and mid (ids) and role (merchant, agent, customer, "
                            "service or admin)"));
  reply(
      json_ok(200, "{\"token\":" + codec::json_quote(codec::jwt_sign(p, cfg_.auth.secret)) + "}"));
}

// Who to log in as on a dev node (the index page says so): the first configured agent, which
// is the seeded demo:a1 unless chat.agents names others (config::seed_dev_demo).
http_response http_api::dev_demo() const {
  if (cfg_.chat.agents.empty())
    return json_error(404, "not_found", "no agents configured on this dev node");
  const auto& a = cfg_.chat.agents.front();
  return json_ok(200, boost::json::serialize(boost::json::object{
                          {"merchant", a.merchant}, {"agent", a.id}, {"user", "owner"}}));
}

http_response http_api::static_file(const std::string& path) const {
  if (auto a = web::find_asset(path)) {
    http_response r{200, std::string(a->body), std::string(web::content_type(a->path)), {}};
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  if (path.starts_with(bootstrap_prefix) && path.find("..") == std::string::npos) {
    std::ifstream in(std::string(bootstrap_dir) + "/" + path.substr(bootstrap_prefix.size()),
                     std::ios::binary);
    if (in) {
      std::ostringstream body;
      body << in.rdbuf();
      http_response r{200, body.str(), std::string(web::content_type(path)), {}};
      r.headers.emplace_back("Cache-Control", "max-age=86400");
      return r;
    }
  }
  return json_error(404, "not_found", "no such page");
}

}  // namespace sb::net
