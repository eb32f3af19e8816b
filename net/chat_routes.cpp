// The chat endpoints of the HTTP API (docs/PROTOCOL.md, "Chat endpoints"). Access rules are the
// conversation's and the pool's; this file authenticates, validates input and maps answers and
// errors to HTTP.
#include <algorithm>
#include <boost/json.hpp>

#include "actors/pool_actor.hpp"
#include "actors/stream_names.hpp"
#include "base/ids.hpp"
#include "codec/frames.hpp"
#include "net/http_api.hpp"
#include "net/http_support.hpp"

namespace sb::net {

namespace {

namespace json = boost::json;
constexpr auto chat_timeout = std::chrono::seconds(10);
constexpr uint64_t max_history_page = 200;

chat_principal chat_who(const codec::principal& p) {
  return {p.sub, p.role, p.mid};
}

// Answers a std::string JSON result with `status`, or the error.
std::function<void(caf::expected<std::string>)> answer(responder reply, unsigned status) {
  return [reply, status](caf::expected<std::string> r) {
    reply(r ? json_ok(status, std::move(*r)) : error_response(r.error()));
  };
}

std::optional<std::string> string_field(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<uint32_t> count_field(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  if (!v || !v->is_int64() || v->as_int64() < 1 || v->as_int64() > 1000) return std::nullopt;
  return static_cast<uint32_t>(v->as_int64());
}

}  // namespace

void http_api::chat_route(const http_request& req, const target_parts& parts, responder reply) {
  auto who = jwt_principal(req);
  if (auto* r = std::get_if<http_response>(&who)) return reply(std::move(*r));
  auto& p = std::get<codec::principal>(who);
  if (auto r = limit(principal_limiter_, p.sub); r.status) return reply(std::move(r));
  // ["api","conversations",id,"messages"] or ["admin","merchants",m,"agents",agent].
  const auto seg = path_segments(parts.path);
  const auto& m = req.method;
  if (seg.size() == 2 && seg[0] == "api") {
    if (m == "POST") return open_conversation(req, p, std::move(reply));
    if (m == "GET") return list_conversations(parts, p, std::move(reply));
  } else if (seg.size() == 4 && seg[0] == "api" && seg[3] == "messages") {
    // An id that cannot exist answers like one the principal may not see.
    if (!codec::valid_id(seg[2]))
      return reply(json_error(404, "not_found", "no such conversation"));
    if (m == "POST") return post_message(req, p, seg[2], std::move(reply));
    if (m == "GET") return history(parts, p, seg[2], std::move(reply));
  } else if (seg.size() == 4 && seg[0] == "api" && seg[1] == "orders" && seg[3] == "status") {
    if (m == "POST") return order_status(req, p, seg[2], std::move(reply));
  } else if (seg.size() == 4 && seg[0] == "api" && seg[1] == "streams" && seg[3] == "entries") {
    if (m == "GET") return stream_entries(parts, p, seg[2], std::move(reply));
  } else if (seg.size() == 5 && seg[0] == "admin" && seg[3] == "agents") {
    if (m == "PUT") return enrol_agent(req, p, seg[2], seg[4], std::move(reply));
  } else if (seg.size() == 4 && seg[0] == "admin" && seg[3] == "channels") {
    if (m == "GET") return channel_settings(req, p, seg[2], "", std::move(reply));
  } else if (seg.size() == 5 && seg[0] == "admin" && seg[3] == "channels") {
    if (m == "PUT" || m == "DELETE")
      return channel_settings(req, p, seg[2], seg[4], std::move(reply));
  } else if (seg.size() == 2 && seg[0] == "admin" && seg[1] == "outbox") {
    if (m == "GET") return outbox_list(parts, p, std::move(reply));
  } else if (seg.size() == 3 && seg[0] == "admin" && seg[1] == "outbox") {
    if (m == "DELETE") return outbox_item(p, seg[2], false, std::move(reply));
  } else if (seg.size() == 4 && seg[0] == "admin" && seg[1] == "outbox" && seg[3] == "retry") {
    if (m == "POST") return outbox_item(p, seg[2], true, std::move(reply));
  } else {
    return reply(json_error(404, "not_found", "no such endpoint"));
  }
  reply(json_error(405, "method_not_allowed", "method not allowed here"));
}

void http_api::open_conversation(const http_request& req, const codec::principal& p,
                                 responder reply) {
  if (p.role != "customer")
    return reply(json_error(403, "forbidden", "only customers open conversations"));
  auto body = object_body(req, cfg_);
  if (auto* r = std::get_if<http_response>(&body)) return reply(std::move(*r));
  auto merchant = string_field(std::get<json::object>(body), "merchant");
  if (!merchant) return reply(json_error(400, "missing_field", "merchant is required"));
  if (*merchant != p.mid)
    return reply(json_error(403, "forbidden", "your token is for another merchant"));
  auto conv = conversation_id(p.mid, p.sub);
  actors_.ask<std::string>(conv_stream(conv), caf::make_message(open_atom::value, p.mid, p.sub),
                           chat_timeout, [reply](caf::expected<std::string> r) {
                             if (!r) return reply(error_response(r.error()));
                             auto o = json::parse(*r).as_object();
                             const bool created = o.at("created").as_bool();
                             o.erase("created");
                             reply(json_ok(created ? 201 : 200, json::serialize(o)));
                           });
}

void http_api::post_message(const http_request& req, const codec::principal& p,
                            const std::string& conv, responder reply) {
  auto body = object_body(req, cfg_);
  if (auto* r = std::get_if<http_response>(&body)) return reply(std::move(*r));
  const auto& o = std::get<json::object>(body);
  auto id = string_field(o, "id");
  auto text = string_field(o, "text");
  if (!id || !text)
    return reply(json_error(400, "missing_field", "id (string) and text (string) are required"));
  if (!codec::valid_id(*id))
    return reply(json_error(400, "invalid_field", "id must be 1-128 characters [A-Za-z0-9_.:@-]"));
  actors_.ask<append_result>(
      conv_stream(conv),
      caf::make_message(chat_send_atom::value, chat_who(p), *id, *text, std::string("app")),
      chat_timeout, [reply, id = *id, conv](caf::expected<append_result> r) {
        if (!r) return reply(error_response(r.error()));
        reply(json_ok(201, "{\"id\":" + codec::json_quote(id) +
                               ",\"conv\":" + codec::json_quote(conv) +
                               ",\"seq\":" + std::to_string(r->seq) + "}"));
      });
}

namespace {

// The ?before=&after=&limit= cursor of the history endpoints; nullopt when malformed.
struct page_cursor {
  uint64_t seq = 0;  // 0 without before: the newest
  bool forward = false;
  uint32_t limit = 50;
};

std::optional<page_cursor> parse_page_cursor(const target_parts& parts) {
  auto number = [&](const char* name, uint64_t fallback) -> std::optional<uint64_t> {
    auto text = parts.param(name);
    return text.empty() ? std::optional<uint64_t>(fallback) : parse_uint(text);
  };
  const bool forward = !parts.param("after").empty();
  auto before = number("before", 0), after = number("after", 0), limit = number("limit", 50);
  if (!before || !after || !limit || *limit == 0 || *limit > max_history_page ||
      (forward && !parts.param("before").empty()))
    return std::nullopt;
  return page_cursor{forward ? *after : *before, forward, static_cast<uint32_t>(*limit)};
}

constexpr const char* bad_cursor = "before/after must be seqs (not both), limit 1-200";

}  // namespace

void http_api::history(const target_parts& parts, const codec::principal& p,
                       const std::string& conv, responder reply) {
  auto c = parse_page_cursor(parts);
  if (!c) return reply(json_error(400, "invalid_field", bad_cursor));
  actors_.ask<std::string>(
      conv_stream(conv),
      caf::make_message(history_atom::value, chat_who(p), c->seq, c->forward, c->limit),
      chat_timeout, answer(reply, 200));
}

// Any principal who reads the stream: its own orders/inbox/conversation streams, and the
// conversations the conversation's rules let it see (they answer 404 for the rest).
void http_api::stream_entries(const target_parts& parts, const codec::principal& p,
                              const std::string& stream, responder reply) {
  auto c = parse_page_cursor(parts);
  if (!c) return reply(json_error(400, "invalid_field", bad_cursor));
  const bool conv = stream.starts_with("conv:");
  if (conv && !codec::valid_id(stream.substr(5)))
    return reply(json_error(404, "not_found", "no such conversation"));
  if (!conv) {
    auto mine = readable_streams(p);
    if (std::find(mine.begin(), mine.end(), stream) == mine.end())
      return reply(json_error(403, "forbidden", "not a stream you read"));
  }
  actors_.ask<std::string>(
      stream, caf::make_message(entries_atom::value, chat_who(p), c->seq, c->forward, c->limit),
      chat_timeout, answer(reply, 200));
}

void http_api::list_conversations(const target_parts& parts, const codec::principal& p,
                                  responder reply) {
  if (p.role != "agent" && p.role != "merchant")
    return reply(json_error(403, "forbidden", "only agents and merchants list conversations"));
  auto status = parts.param("status");
  if (!status.empty() && !parse_conv_status(status))
    return reply(json_error(400, "invalid_field", "status: unassigned, in_progress or resolved"));
  actors_.ask<std::string>(pool_key(p.mid), pool_message(list_atom::value, chat_who(p), status),
                           chat_timeout, answer(reply, 200));
}

void http_api::enrol_agent(const http_request& req, const codec::principal& p,
                           const std::string& merchant, const std::string& agent, responder reply) {
  if (p.role != "admin" || (p.mid != "*" && p.mid != merchant))
    return reply(json_error(403, "forbidden", "only admins of this merchant enrol agents"));
  if (!codec::valid_id(merchant) || !codec::valid_id(agent))
    return reply(json_error(400, "invalid_field", "merchant and agent must be ids"));
  auto body = object_body(req, cfg_);
  if (auto* r = std::get_if<http_response>(&body)) return reply(std::move(*r));
  const auto& o = std::get<json::object>(body);
  auto weight = count_field(o, "weight"), max_concurrent = count_field(o, "max_concurrent");
  if (!weight || !max_concurrent)
    return reply(json_error(400, "invalid_field", "weight and max_concurrent: integers 1-1000"));
  actors_.ask<std::string>(pool_key(merchant),
                           pool_message(enrol_atom::value, agent, *weight, *max_concurrent),
                           chat_timeout, answer(reply, 200));
}

}  // namespace sb::net
