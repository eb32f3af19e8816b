// The server side of the WebSocket opening handshake (RFC 6455 §4.2.2), done without Beast's
// websocket::stream so that a socket never carries that stream's buffers and timer. Called by
// http_session for a request that websocket::is_upgrade() accepted. Internal to net/.
#pragma once
#include <string>
#include <variant>

#include "net/session_support.hpp"

namespace sb::net {

// The 101 response to write as the socket's first bytes, or the error to answer instead
// (400, or 426 naming version 13), with the checks and messages of Beast's accept.
std::variant<std::string, http_response> ws_handshake(const http::request<http::string_body>& req);

}  // namespace sb::net
