// The node's admin API as sbctl calls it: one blocking request per call (10 s timeout) with the
// bearer token, the answer parsed as JSON. Single-threaded; the transport is injectable so the
// tests need no server.
#pragma once
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "http_client/http_client.hpp"

namespace sb::sbctl {

// Percent-encodes everything but RFC 3986's unreserved characters, so the text stays one path
// segment: "orders:m1" → "orders%3Am1", "a/b" → "a%2Fb".
std::string encode_segment(std::string_view text);

// One call's outcome. `ok` is a 2xx answer with a JSON body in `body`; otherwise `error` says
// why in one line, without the status: the server's "<code>: <message>", or what was wrong
// with the answer, or (status 0) why none arrived.
struct admin_result {
  bool ok = false;
  unsigned status = 0;  // HTTP status, 0 when no response arrived
  boost::json::value body;
  std::string error;
};

class admin_client {
 public:
  using transport = std::function<http_client::http_reply(const http_client::http_call&)>;
  static constexpr std::chrono::seconds timeout{10};

  // `node` is a base URL without a trailing '/'. The default transport is http_client::perform.
  explicit admin_client(std::string node, transport send = {});

  void set_token(std::string token) { token_ = std::move(token); }

  // POST /api/dev/token as an admin of every merchant; 404 outside dev mode.
  admin_result dev_token();
  admin_result nodes();                                                // GET /admin/nodes
  admin_result replication();                                          // GET /admin/replication
  admin_result actors(const std::string& kind);                        // GET /admin/actors[?kind=K]
  admin_result actor(const std::string& kind, const std::string& id);  // GET /admin/actors/K/id
  admin_result stream(const std::string& stream);                      // GET /admin/streams/s
  admin_result drain(const std::string& node_id);  // POST /admin/nodes/{id}/drain

 private:
  admin_result call(std::string method, const std::string& path, std::string body = {});

  std::string node_;
  std::string token_;
  transport send_;
};

}  // namespace sb::sbctl
