// Internal to net/: small helpers shared by the HTTP route files (http_api.cpp,
// chat_routes.cpp). Beast-free; pure functions.
#pragma once
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/interfaces.hpp"
#include "codec/frames.hpp"
#include "net/http_api.hpp"

namespace sb::net {

inline int64_t wall_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

inline http_response json_ok(unsigned status, std::string body) {
  return {status, std::move(body), "application/json", {}};
}

// The token of "Authorization: Bearer <token>", or "".
inline std::string bearer(std::string_view authorization) {
  constexpr std::string_view prefix = "Bearer ";
  if (authorization.size() > prefix.size() && authorization.starts_with(prefix))
    return std::string(authorization.substr(prefix.size()));
  return {};
}

// A request target split into its decoded path and query parameters (the last of a repeated
// name wins).
struct target_parts {
  bool ok = false;
  std::string path;
  std::map<std::string, std::string, std::less<>> params;
  std::string param(std::string_view name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// The segments of a decoded path after its leading "/": "/admin/nodes/n2" → admin, nodes, n2.
inline std::vector<std::string> path_segments(const std::string& path) {
  std::vector<std::string> seg;
  for (size_t start = 1; start <= path.size();) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    seg.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return seg;
}

inline target_parts split_target(const std::string& target) {
  target_parts out;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return out;
  out.path = std::string(parsed->path());
  for (auto param : parsed->params()) out.params[param.key] = param.value;
  out.ok = true;
  return out;
}

// A whole non-negative decimal number, or nullopt.
inline std::optional<uint64_t> parse_uint(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || std::from_chars(s.data(), s.data() + s.size(), v).ptr != s.data() + s.size())
    return std::nullopt;
  return v;
}

// The HTTP status for a body-check error code of codec::check_json_body / parse_order.
inline unsigned status_of(const std::string& code) {
  return code == "body_too_large" ? 413 : 400;
}

// The HTTP status of an actor's error code (actors/interfaces.hpp, error_code).
inline unsigned http_status(const std::string& code) {
  if (code == "not_found" || code == "no_such_agent") return 404;
  if (code == "forbidden") return 403;
  if (code == "agent_unavailable" || code == "not_assigned") return 409;
  if (code == "unavailable" || code == "owner_unavailable") return 503;
  return 400;
}

// An actor's error as the HTTP error response (a 503 says when to try again: json_error).
inline http_response error_response(const caf::error& err) {
  auto code = error_code(err);
  return json_error(http_status(code), code, error_message(err));
}

// The body as a JSON object after the common checks (Content-Type, size, UTF-8, syntax,
// depth, top-level object), or the error response.
inline std::variant<boost::json::object, http_response> object_body(const http_request& req,
                                                                    const config::settings& cfg) {
  if (!req.content_type.starts_with("application/json"))
    return json_error(415, "unsupported_media_type", "Content-Type must be application/json");
  auto err = codec::check_json_body(req.body, {cfg.limits.max_body, cfg.limits.max_json_depth});
  if (!err.code.empty()) return json_error(status_of(err.code), err.code, err.message);
  return boost::json::parse(req.body).as_object();
}

}  // namespace sb::net
