// The channel endpoints of the HTTP API (docs/PROTOCOL.md, "Channels"): the WeChat official-
// account callback, the app channel's inbound messages, channel settings and the outbox for
// admins. Inbound channel messages become customer messages of principals "wx:<openid>" and
// "app:<user>" in the conversation actors, like any customer's; this file verifies the
// channel's own authentication, translates through the adapters of channels/ and maps
// answers to what each channel expects.
#include <boost/json.hpp>

#include "actors/stream_names.hpp"
#include "channels/channel.hpp"
#include "channels/inbound.hpp"
#include "channels/settings_json.hpp"
#include "codec/frames.hpp"
#include "net/http_api.hpp"
#include "net/http_support.hpp"

namespace sb::net {

namespace {

namespace json = boost::json;
constexpr auto settings_timeout = std::chrono::seconds(5);
// WeChat waits 5 s for an answer, then retries the same MsgId (de-duplicated).
constexpr auto wechat_timeout = std::chrono::milliseconds(4000);
constexpr auto app_timeout = std::chrono::seconds(10);
constexpr size_t max_echostr = 256;

http_response text_response(unsigned status, std::string body, std::string type = "text/plain") {
  return {status, std::move(body), std::move(type), {}};
}

// Appends a channel's customer message to that customer's conversation (opening it), like a
// customer's own `send`: the conversation applies the text rules and de-duplicates by id.
void append_inbound(bridge& actors, const channels::inbound_message& m,
                    std::chrono::milliseconds timeout,
                    std::function<void(caf::expected<append_result>)> done) {
  actors.ask<append_result>(
      conv_stream(conversation_id(m.merchant, m.customer)),
      caf::make_message(chat_send_atom::value, chat_principal{m.customer, "customer", m.merchant},
                        m.client_id, m.text, std::string(channels::channel_name(m.source)),
                        m.extra_json),
      timeout, std::move(done));
}

// The merchant's channel settings, or nullopt when its settings owner could not answer.
void with_settings(bridge& actors, const std::string& merchant,
                   std::function<void(std::optional<config::merchant_channels>)> then) {
  actors.ask<std::string>(channels_stream(merchant), caf::make_message(get_atom::value),
                          settings_timeout, [then](caf::expected<std::string> r) {
                            then(r ? channels::settings_from_json(*r) : std::nullopt);
                          });
}

}  // namespace

void http_api::wechat_callback(const http_request& req, const target_parts& parts,
                               const std::string& merchant, responder reply) {
  if (!codec::valid_id(merchant))
    return reply(json_error(404, "channel_not_configured", "no wechat channel for this merchant"));
  if (req.body.size() > cfg_.channels.max_callback_body) {
    metrics_.count_channel_request("wechat", "too_large");
    return reply(
        json_error(413, "body_too_large", "callback body over channels.max_callback_body"));
  }
  with_settings(actors_, merchant, [this, req, parts, merchant, reply](auto settings) {
    if (!settings)
      return reply(json_error(503, "unavailable", "channel settings unavailable; retry"));
    if (!settings->wechat)
      return reply(
          json_error(404, "channel_not_configured", "no wechat channel for this merchant"));
    const auto& wechat = *settings->wechat;
    const auto timestamp = parts.param("timestamp"), nonce = parts.param("nonce");
    if (!channels::wechat_signature_valid(wechat.token, timestamp, nonce,
                                          parts.param("signature"))) {
      metrics_.count_channel_request("wechat", "bad_signature");
      return reply(json_error(403, "bad_signature", "signature does not match"));
    }
    // The signature covers the timestamp: an old one is a replayed request.
    auto ts = parse_uint(timestamp);
    const auto max_age = cfg_.channels.wechat_max_age.count();
    if (!ts || *ts > uint64_t(wall_s() + max_age) || int64_t(*ts) < wall_s() - max_age) {
      metrics_.count_channel_request("wechat", "stale_timestamp");
      return reply(json_error(403, "stale_timestamp", "timestamp outside the accepted window"));
    }
    if (req.method == "GET") {
      auto echo = parts.param("echostr");
      if (echo.empty() || echo.size() > max_echostr || !codec::valid_id(echo))
        return reply(json_error(400, "invalid_field", "echostr must be 1-256 id characters"));
      metrics_.count_channel_request("wechat", "verified");
      return reply(text_response(200, echo));
    }
    auto parsed = channels::parse_wechat_message(req.body);
    if (auto* err = std::get_if<channels::xml_error>(&parsed)) {
      metrics_.count_channel_request("wechat", "malformed");
      return reply(json_error(400, err->code, err->message));
    }
    auto& msg = std::get<channels::wechat_message>(parsed);
    auto inbound = channels::from_wechat(merchant, msg);
    if (!inbound) {  // an event: nothing to store
      metrics_.count_channel_request("wechat", "event");
      if (msg.event == "subscribe" && !wechat.greeting.empty())
        return reply(text_response(
            200, channels::wechat_text_reply(msg.from_user, msg.to_user, wall_s(), wechat.greeting),
            "application/xml"));
      return reply(text_response(200, "success"));
    }
    append_inbound(
        actors_, *inbound, wechat_timeout, [this, reply](caf::expected<append_result> r) {
          if (!r) {
            const auto code = error_code(r.error());
            metrics_.count_channel_request("wechat", "refused");
            if (code == "unavailable")
              return reply(json_error(503, "unavailable", "not stored; WeChat will retry"));
            return reply(error_response(r.error()));
          }
          metrics_.count_channel_request("wechat", r->duplicate ? "duplicate" : "accepted");
          reply(text_response(200, "success"));
        });
  });
}

void http_api::app_message(const http_request& req, responder reply) {
  auto caller = service_caller(req);
  if (auto* r = std::get_if<http_response>(&caller)) return reply(std::move(*r));
  const auto scope = std::get<0>(caller).first;
  auto body = object_body(req, cfg_);
  if (auto* r = std::get_if<http_response>(&body)) return reply(std::move(*r));
  auto parsed = channels::from_app(std::get<json::object>(body));
  if (auto* e = std::get_if<codec::protocol_error>(&parsed))
    return reply(json_error(400, e->code, e->message));
  auto inbound = std::get<channels::inbound_message>(std::move(parsed));
  if (scope != "*" && scope != inbound.merchant)
    return reply(json_error(403, "forbidden", "this key may not post for that merchant"));
  with_settings(actors_, inbound.merchant, [this, inbound, reply](auto settings) {
    if (!settings)
      return reply(json_error(503, "unavailable", "channel settings unavailable; retry"));
    if (!settings->app) {
      metrics_.count_channel_request("app", "not_configured");
      return reply(json_error(404, "channel_not_configured", "no app channel for this merchant"));
    }
    append_inbound(actors_, inbound, app_timeout,
                   [this, reply, conv = conversation_id(inbound.merchant, inbound.customer),
                    id = inbound.client_id](caf::expected<append_result> r) {
                     if (!r) {
                       metrics_.count_channel_request("app", "refused");
                       return reply(error_response(r.error()));
                     }
                     metrics_.count_channel_request("app", r->duplicate ? "duplicate" : "accepted");
                     auto res = json_ok(201, "{\"conv\":" + codec::json_quote(conv) +
                                                 ",\"seq\":" + std::to_string(r->seq) +
                                                 ",\"id\":" + codec::json_quote(id) + "}");
                     if (r->duplicate) res.headers.emplace_back("Idempotent-Replayed", "true");
                     reply(std::move(res));
                   });
  });
}

void http_api::channel_settings(const http_request& req, const codec::principal& p,
                                const std::string& merchant, const std::string& channel,
                                responder reply) {
  if (p.role != "admin" || (p.mid != "*" && p.mid != merchant))
    return reply(json_error(403, "forbidden", "only admins of this merchant manage channels"));
  if (!codec::valid_id(merchant))
    return reply(json_error(400, "invalid_field", "merchant must be an id"));
  if (channel.empty()) {  // GET: every channel, secrets redacted
    return with_settings(actors_, merchant, [reply](auto settings) {
      if (!settings) return reply(json_error(503, "unavailable", "channel settings unavailable"));
      reply(json_ok(200, channels::settings_to_json(*settings, true)));
    });
  }
  const auto known = channels::parse_channel(channel);
  if (!known || *known == channels::channel::web)
    return reply(json_error(404, "unknown_channel",
                            "no such channel '" + channel + "' (configurable: wechat, app)"));
  config::merchant_channels next;
  if (req.method == "PUT") {
    auto checked = object_body(req, cfg_);
    if (auto* r = std::get_if<http_response>(&checked)) return reply(std::move(*r));
    const auto& body = std::get<json::object>(checked);
    std::string problem;
    if (*known == channels::channel::wechat) {
      auto w = channels::wechat_settings_from(body);
      if (auto* e = std::get_if<std::string>(&w))
        problem = *e;
      else
        next.wechat = std::get<config::wechat_channel>(w);
    } else {
      auto a = channels::app_settings_from(body);
      if (auto* e = std::get_if<std::string>(&a))
        problem = *e;
      else
        next.app = std::get<config::app_channel>(a);
    }
    if (problem.empty()) problem = config::validate_channels(merchant, next);
    if (!problem.empty()) return reply(json_error(400, "invalid_field", problem));
  }
  const auto settings = req.method == "PUT" ? channels::settings_to_json(next, false) : "";
  const auto shown = channels::settings_to_json(next, true);
  actors_.ask<append_result>(
      channels_stream(merchant), caf::make_message(configure_atom::value, p.sub, channel, settings),
      settings_timeout, [reply, merchant, channel, shown](caf::expected<append_result> r) {
        if (!r) return reply(error_response(r.error()));  // invalid_field 400, else 503
        auto view = json::parse(shown).as_object();
        json::object o{{"merchant", merchant}, {"channel", channel}, {"settings", view[channel]}};
        reply(json_ok(200, json::serialize(o)));
      });
}

void http_api::outbox_list(const target_parts& parts, const codec::principal& p, responder reply) {
  if (p.role != "admin") return reply(json_error(403, "forbidden", "only admins read the outbox"));
  auto merchant = parts.param("merchant");
  if (p.mid != "*") {
    if (!merchant.empty() && merchant != p.mid)
      return reply(json_error(403, "forbidden", "your token is for another merchant"));
    merchant = p.mid;
  }
  if (merchant.empty()) merchant = "*";
  actors_.ask_actor(actors_.outbox(), caf::make_message(list_atom::value, merchant),
                    settings_timeout, [reply](caf::expected<std::string> r) {
                      if (!r) return reply(json_error(503, "unavailable", "outbox unavailable"));
                      reply(json_ok(200, std::move(*r)));
                    });
}

void http_api::outbox_item(const codec::principal& p, const std::string& id, bool retry,
                           responder reply) {
  if (p.role != "admin")
    return reply(json_error(403, "forbidden", "only admins manage the outbox"));
  if (!codec::valid_id(id)) return reply(json_error(404, "not_found", "no such delivery"));
  auto msg = retry ? caf::make_message(retry_atom::value, id, p.mid)
                   : caf::make_message(drop_atom::value, id, p.mid);
  actors_.ask_actor(
      actors_.outbox(), std::move(msg), settings_timeout, [reply](caf::expected<std::string> r) {
        if (r) return reply(json_ok(200, std::move(*r)));
        const auto code = error_code(r.error());
        reply(json_error(code == "not_found"       ? 404
                         : code == "invalid_field" ? 409
                                                   : 503,
                         code == "invalid_field" ? "conflict" : code, error_message(r.error())));
      });
}

}  // namespace sb::net
