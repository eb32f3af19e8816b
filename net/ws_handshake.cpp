#include "net/ws_handshake.hpp"

#include <boost/beast/websocket/detail/hybi13.hpp>

namespace sb::net {

std::variant<std::string, http_response> ws_handshake(const http::request<http::string_body>& req) {
  auto bad = [](websocket::error e) {
    return http_response{400, beast::error_code(e).message(), "text/plain", {}};
  };
  if (!req.count(http::field::host)) return bad(websocket::error::no_host);
  const auto key = req.find(http::field::sec_websocket_key);
  if (key == req.end()) return bad(websocket::error::no_sec_key);
  if (key->value().size() > websocket::detail::sec_ws_key_type::static_capacity)
    return bad(websocket::error::bad_sec_key);
  const auto version = req.find(http::field::sec_websocket_version);
  if (version == req.end()) return bad(websocket::error::no_sec_version);
  if (version->value() != "13") {
    auto r = bad(websocket::error::bad_sec_version);
    r.status = 426;
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    return r;
  }
  websocket::detail::sec_ws_accept_type accept;
  websocket::detail::make_sec_ws_accept(accept, key->value());
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         std::string(accept.data(), accept.size()) + "\r\n\r\n";
}

}  // namespace sb::net
