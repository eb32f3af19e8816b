// One HTTP/1.1 connection: reads requests (bounded header and body sizes), hands them to
// http_api, writes the responses in order, and hands /ws upgrades to websocket_session.
#include "net/session_support.hpp"
#include "net/ws_handshake.hpp"

#include <optional>

namespace sb::net {

namespace {

constexpr auto read_timeout = std::chrono::seconds(30);
constexpr uint32_t header_limit = 16 * 1024;
// After refusing a request whose body is still arriving, unread input is drained for a while
// before closing: closing with unread data resets the connection and the client never sees
// the error response.
constexpr auto drain_timeout = std::chrono::seconds(5);
constexpr size_t drain_limit = 16 << 20;

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, server_context& ctx, ip_slots::slot slot)
      : stream_(std::move(socket)), ctx_(ctx), slot_(std::move(slot)) {
    ctx_.metrics.http_connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~http_session() { ctx_.metrics.http_connections.fetch_sub(1, std::memory_order_relaxed); }

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&http_session::read, shared_from_this()));
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(ctx_.cfg.limits.max_body);
    stream_.expires_after(read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) {
      auto r = json_error(413, "body_too_large",
                          "body over " + std::to_string(ctx_.cfg.limits.max_body) + " bytes");
      return write(std::move(r), false, 11, true);
    }
    if (ec == http::error::header_limit)
      return write(json_error(431, "headers_too_large", "request headers too large"), false, 11,
                   true);
    if (ec) return close();
    auto req = parser_->release();
    const bool keep_alive = req.keep_alive() && !ctx_.stopping;
    const unsigned version = req.version();
    if (websocket::is_upgrade(req)) return upgrade(std::move(req));
    auto r = to_api_request(req);
    ctx_.api.handle(std::move(r),
                    [self = shared_from_this(), keep_alive, version](http_response res) {
                      // Called once, maybe from a CAF thread: hop back onto this session's strand.
                      asio::post(self->stream_.get_executor(),
                                 [self, res = std::move(res), keep_alive, version]() mutable {
                                   self->write(std::move(res), keep_alive, version);
                                 });
                    });
  }

  http_request to_api_request(const http::request<http::string_body>& req) {
    http_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.authorization = std::string(req[http::field::authorization]);
    r.content_type = std::string(req[http::field::content_type]);
    r.node_signature = std::string(req["X-Switchboard-Signature"]);
    if (auto it = req.find("Idempotency-Key"); it != req.end()) {
      r.has_idempotency_key = true;
      r.idempotency_key = std::string(it->value());
    }
    r.body = req.body();
    beast::error_code ec;
    r.client_ip = stream_.socket().remote_endpoint(ec).address().to_string();
    return r;
  }

  void upgrade(http::request<http::string_body> req) {
    auto r = to_api_request(req);
    if (r.target != "/ws" && !r.target.starts_with("/ws?"))
      return write(json_error(404, "not_found", "WebSocket endpoint is /ws"), false, req.version());
    auto who = ctx_.api.authenticate_upgrade(r);
    if (auto* err = std::get_if<http_response>(&who))
      return write(std::move(*err), false, req.version());
    auto accepted = ws_handshake(req);
    if (auto* err = std::get_if<http_response>(&accepted))
      return write(std::move(*err), false, req.version());
    stream_.expires_never();  // frees the read timer's pending wait now, not in 30 s
    start_websocket_session(stream_.release_socket(), std::get<std::string>(std::move(accepted)),
                            ctx_, std::move(slot_), std::get<codec::principal>(std::move(who)));
  }

  void write(http_response res, bool keep_alive, unsigned version, bool drain = false) {
    if (res.status >= 400 && res.status < 500)
      ctx_.metrics.rejected_requests.fetch_add(1, std::memory_order_relaxed);
    auto msg = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(res.status), version);
    msg->set(http::field::server, "switchboard");
    msg->set(http::field::content_type, res.content_type);
    msg->set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : res.headers) msg->set(name, value);
    msg->keep_alive(keep_alive);
    msg->body() = std::move(res.body);
    msg->prepare_payload();
    stream_.expires_after(read_timeout);
    http::async_write(
        stream_, *msg,
        [self = shared_from_this(), msg, keep_alive, drain](beast::error_code ec, size_t) {
          if (ec || !keep_alive) {
            self->close();
            if (!ec && drain) self->drain(0);
            return;
          }
          self->read();
        });
  }

  void drain(size_t drained) {
    if (drained == 0) stream_.expires_after(drain_timeout);
    if (!discard_) discard_ = std::make_unique<std::array<char, 16384>>();
    stream_.async_read_some(asio::buffer(*discard_),
                            [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
                              if (!ec && drained + n < drain_limit) self->drain(drained + n);
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  server_context& ctx_;
  ip_slots::slot slot_;
  std::unique_ptr<std::array<char, 16384>> discard_;
};

}  // namespace

void start_http_session(tcp::socket socket, server_context& ctx, ip_slots::slot slot) {
  std::make_shared<http_session>(std::move(socket), ctx, std::move(slot))->run();
}

}  // namespace sb::net
