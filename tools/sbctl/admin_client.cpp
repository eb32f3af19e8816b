// admin_client (admin_client.hpp): builds each request, maps each answer to an admin_result.
#include "tools/sbctl/admin_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace sb::sbctl {

namespace json = boost::json;

// Admin answers can list every actor of a cluster: allow far more than a channel reply.
constexpr size_t max_answer_bytes = 64 << 20;

std::string encode_segment(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

admin_client::admin_client(std::string node, transport send)
    : node_(std::move(node)), send_(std::move(send)) {
  if (!send_) {
    send_ = [](const http_client::http_call& call) {
      return http_client::perform(call, timeout, max_answer_bytes);
    };
  }
}

admin_result admin_client::dev_token() {
  return call("POST", "/api/dev/token", R"({"sub":"sbctl","role":"admin","mid":"*"})");
}

admin_result admin_client::nodes() {
  return call("GET", "/admin/nodes");
}

admin_result admin_client::replication() {
  return call("GET", "/admin/replication");
}

admin_result admin_client::actors(const std::string& kind) {
  return call("GET", kind.empty() ? "/admin/actors" : "/admin/actors?kind=" + encode_segment(kind));
}

admin_result admin_client::actor(const std::string& kind, const std::string& id) {
  return call("GET", "/admin/actors/" + encode_segment(kind) + "/" + encode_segment(id));
}

admin_result admin_client::stream(const std::string& stream) {
  return call("GET", "/admin/streams/" + encode_segment(stream));
}

admin_result admin_client::drain(const std::string& node_id) {
  return call("POST", "/admin/nodes/" + encode_segment(node_id) + "/drain");
}

namespace {

// The first line of a non-JSON body, bounded, for an error line.
std::string first_line(const std::string& body) {
  constexpr size_t max = 200;
  auto line = body.substr(0, body.find_first_of("\r\n"));
  if (line.size() > max) line = line.substr(0, max) + "…";
  return line;
}

}  // namespace

admin_result admin_client::call(std::string method, const std::string& path, std::string body) {
  http_client::http_call request;
  request.method = std::move(method);
  request.url = node_ + path;
  if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
  request.headers.emplace_back("Accept", "application/json");
  request.body = std::move(body);
  const auto reply = send_(request);

  admin_result result;
  result.status = reply.status;
  if (reply.status == 0) {
    result.error = reply.error;
    return result;
  }
  boost::system::error_code ec;
  auto parsed = json::parse(reply.body, ec);
  const bool success = reply.status >= 200 && reply.status < 300;
  if (success && !ec) {
    result.ok = true;
    result.body = std::move(parsed);
    return result;
  }
  const auto where = request.method + " " + path + ": ";
  if (ec) {
    result.error = where + (success ? "answer is not JSON" : "error") +
                   (reply.body.empty() ? "" : ": " + first_line(reply.body));
    return result;
  }
  // The contract's error body: {"error": "<code>", "message": "..."}.
  const auto* object = parsed.if_object();
  const auto* code = object ? object->if_contains("error") : nullptr;
  const auto* message = object ? object->if_contains("message") : nullptr;
  if (code && code->is_string()) {
    result.error = std::string(code->get_string());
    if (message && message->is_string()) result.error += ": " + std::string(message->get_string());
  } else {
    result.error = where + json::serialize(parsed);
  }
  return result;
}

}  // namespace sb::sbctl
