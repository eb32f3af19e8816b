// etcd_client: each call is one POST through sb::http_client::perform (a fresh connection with its
// own deadline), so calls share nothing but the endpoint preference and need no lock.
#include "cluster/etcd_client.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>

#include "http_client/http_client.hpp"

namespace sb::cluster {

namespace json = boost::json;

namespace etcd_json {

namespace {

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Maps a character to its 6-bit value, or -1 for anything outside the alphabet.
constexpr std::array<int8_t, 256> base64_values() {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  for (size_t i = 0; i < base64_alphabet.size(); ++i) {
    values[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<int8_t>(i);
  }
  return values;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += base64_alphabet[(n >> shift) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
  if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
  out += base64_alphabet[(n >> 18) & 63];
  out += base64_alphabet[(n >> 12) & 63];
  out += rest == 2 ? base64_alphabet[(n >> 6) & 63] : '=';
  out += '=';
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  static constexpr auto values = base64_values();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const int v = values[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    bits = bits << 6 | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

int64_t int64_field(const json::object& object, std::string_view name) {
  const auto* v = object.if_contains(name);
  if (!v) return 0;  // the gateway omits zero values
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (!v->is_string()) return 0;
  const auto& s = v->get_string();
  int64_t out = 0;
  std::from_chars(s.data(), s.data() + s.size(), out);
  return out;
}

namespace {

std::string bytes_field(const json::object& object, std::string_view name) {
  const auto* v = object.if_contains(name);
  if (!v || !v->is_string()) return {};
  return base64_decode(v->get_string()).value_or(std::string());
}

}  // namespace

etcd_kv kv_from_json(const json::object& kv) {
  etcd_kv out;
  out.key = bytes_field(kv, "key");
  out.value = bytes_field(kv, "value");
  out.create_revision = int64_field(kv, "create_revision");
  out.mod_revision = int64_field(kv, "mod_revision");
  out.version = int64_field(kv, "version");
  out.lease = int64_field(kv, "lease");
  return out;
}

}  // namespace etcd_json

namespace {

using etcd_json::base64_encode;
using etcd_json::int64_field;

// Bodies carry base64 values: a ~1 MiB value is ~1.4 MB of JSON, and a prefix range may hold
// many. Generous, but bounded so a runaway answer cannot exhaust memory.
constexpr size_t max_answer_bytes = size_t{64} << 20;

// The header.revision of an answer (absent in some compaction answers: 0).
int64_t header_revision(const json::object& answer) {
  const auto* header = answer.if_contains("header");
  return header && header->is_object() ? int64_field(header->get_object(), "revision") : 0;
}

// etcd answers an error as {"error","code","message"}: one line with etcd's message.
std::string error_line(std::string_view where, unsigned status, std::string_view body) {
  std::string line = std::string(where) + ": HTTP " + std::to_string(status);
  json::error_code ec;
  const auto parsed = json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    const auto& object = parsed.get_object();
    const auto* message = object.if_contains("message");
    if (!message || !message->is_string()) message = object.if_contains("error");
    if (message && message->is_string()) line += ": " + std::string(message->get_string());
    if (const auto* code = object.if_contains("code"); code && code->is_int64()) {
      line += " (code " + std::to_string(code->get_int64()) + ")";
    }
  }
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

// Error lines never carry credentials: "http://user:secret@host" loses "user:secret@".
std::string without_userinfo(std::string_view url) {
  const size_t authority = url.find("://");
  if (authority == url.npos) return std::string(url);
  const size_t start = authority + 3;
  const size_t end = std::min(url.find('/', start), url.size());
  const size_t at = url.substr(0, end).rfind('@');
  if (at == url.npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

// A key range: the key alone, or every key under it.
void set_range(json::object& request, const std::string& key, bool prefix) {
  request["key"] = base64_encode(key);
  if (prefix) request["range_end"] = base64_encode(prefix_end(key));
}

json::object put_request(const std::string& key, const std::string& value, int64_t lease) {
  json::object request;
  request["key"] = base64_encode(key);
  request["value"] = base64_encode(value);
  if (lease != 0) request["lease"] = std::to_string(lease);
  return request;
}

json::object op_json(const etcd_op& op) {
  json::object wrapped;
  if (op.what == etcd_op::kind::put) {
    wrapped["request_put"] = put_request(op.key, op.value, op.lease);
  } else {
    json::object request;
    set_range(request, op.key, op.prefix);
    wrapped["request_delete_range"] = std::move(request);
  }
  return wrapped;
}

json::object compare_json(const etcd_compare& compare) {
  json::object out;
  out["key"] = base64_encode(compare.key);
  out["result"] = "EQUAL";
  switch (compare.what) {
    case etcd_compare::target::mod:
      out["target"] = "MOD";
      out["mod_revision"] = std::to_string(compare.revision);
      break;
    case etcd_compare::target::create:
      out["target"] = "CREATE";
      out["create_revision"] = std::to_string(compare.revision);
      break;
    case etcd_compare::target::version:
      out["target"] = "VERSION";
      out["version"] = std::to_string(compare.revision);
      break;
    case etcd_compare::target::value:
      out["target"] = "VALUE";
      out["value"] = base64_encode(compare.value);
      break;
  }
  return out;
}

json::array ops_json(const std::vector<etcd_op>& ops) {
  json::array out;
  for (const auto& op : ops) out.push_back(op_json(op));
  return out;
}

}  // namespace

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');  // etcd's "every key from `key` on"
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

etcd_client::etcd_client(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {
  for (auto& endpoint : endpoints_) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  }
}

const std::vector<std::string>& etcd_client::endpoints() const {
  return endpoints_;
}

// Tries each endpoint once, starting with the one that answered last. An HTTP error answer is
// etcd's verdict and is not retried elsewhere; only a missing answer or 503 moves on.
std::optional<json::object> etcd_client::post(std::string_view path, const json::object& body,
                                              std::string& error) {
  if (endpoints_.empty()) {
    error = "etcd: no endpoints";
    return std::nullopt;
  }
  http_client::http_call call;
  call.method = "POST";
  call.body = json::serialize(body);
  std::string failures;
  const size_t first = preferred_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t index = (first + i) % endpoints_.size();
    call.url = endpoints_[index] + std::string(path);
    auto reply = http_client::perform(call, timeout_, max_answer_bytes);
    if (reply.status == 0) {
      failures += (failures.empty() ? "" : "; ") + reply.error;
      continue;
    }
    const std::string where = without_userinfo(call.url);
    if (reply.status == 503) {  // gRPC Unavailable (e.g. no leader): another member may serve
      failures += (failures.empty() ? "" : "; ") + error_line(where, reply.status, reply.body);
      continue;
    }
    preferred_.store(index, std::memory_order_relaxed);
    if (reply.status != 200) {
      error = error_line(where, reply.status, reply.body);
      return std::nullopt;
    }
    json::error_code ec;
    auto parsed = json::parse(reply.body, ec);
    if (ec || !parsed.is_object()) {
      error = where + ": answer is not a JSON object";
      return std::nullopt;
    }
    return std::move(parsed.get_object());
  }
  error = "etcd unreachable: " + failures;
  return std::nullopt;
}

std::optional<int64_t> etcd_client::lease_grant(std::chrono::seconds ttl, std::string& error) {
  auto answer = post("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}}, error);
  if (!answer) return std::nullopt;
  const int64_t id = int64_field(*answer, "ID");
  if (id == 0) {
    error = "etcd: lease grant answered without an ID";
    return std::nullopt;
  }
  return id;
}

// The keepalive is a streaming call: its answer is wrapped in {"result": ...}. An unknown
// (expired or revoked) lease is not an error to etcd: it answers TTL 0, which the gateway omits.
bool etcd_client::lease_keepalive(int64_t lease, std::string& error) {
  auto answer = post("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}, error);
  if (!answer) return false;
  const auto* result = answer->if_contains("result");
  const auto& body = result && result->is_object() ? result->get_object() : *answer;
  if (int64_field(body, "TTL") <= 0) {
    error = "lease expired";
    return false;
  }
  return true;
}

bool etcd_client::lease_revoke(int64_t lease, std::string& error) {
  return post("/v3/lease/revoke", {{"ID", std::to_string(lease)}}, error).has_value();
}

std::optional<etcd_range> etcd_client::range(const std::string& key, bool prefix,
                                             std::string& error) {
  json::object request;
  set_range(request, key, prefix);
  auto answer = post("/v3/kv/range", request, error);
  if (!answer) return std::nullopt;
  etcd_range out;
  out.revision = header_revision(*answer);
  if (const auto* kvs = answer->if_contains("kvs"); kvs && kvs->is_array()) {
    for (const auto& kv : kvs->get_array()) {
      if (kv.is_object()) out.kvs.push_back(etcd_json::kv_from_json(kv.get_object()));
    }
  }
  return out;
}

bool etcd_client::put(const std::string& key, const std::string& value, int64_t lease,
                      std::string& error) {
  return post("/v3/kv/put", put_request(key, value, lease), error).has_value();
}

bool etcd_client::del(const std::string& key, bool prefix, std::string& error) {
  json::object request;
  set_range(request, key, prefix);
  return post("/v3/kv/deleterange", request, error).has_value();
}

// "succeeded" is omitted when false (etcd#10065).
std::optional<etcd_txn_result> etcd_client::txn(const std::vector<etcd_compare>& compares,
                                                const std::vector<etcd_op>& success,
                                                const std::vector<etcd_op>& failure,
                                                std::string& error) {
  json::object request;
  json::array compare_list;
  for (const auto& compare : compares) compare_list.push_back(compare_json(compare));
  request["compare"] = std::move(compare_list);
  request["success"] = ops_json(success);
  request["failure"] = ops_json(failure);
  auto answer = post("/v3/kv/txn", request, error);
  if (!answer) return std::nullopt;
  etcd_txn_result out;
  const auto* succeeded = answer->if_contains("succeeded");
  out.succeeded = succeeded && succeeded->is_bool() && succeeded->get_bool();
  out.revision = header_revision(*answer);
  return out;
}

}  // namespace sb::cluster
