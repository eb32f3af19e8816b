// App webhook delivery. app_deliver runs on the outbox's sender threads.
#include "channels/app_outbound.hpp"

#include <boost/json.hpp>

#include "codec/hmac.hpp"
#include "http_client/http_client.hpp"

namespace sb::channels {

using http_client::http_call;
using http_client::perform;

std::string app_signature(std::string_view secret, std::string_view body) {
  return codec::hmac_sha256_header(secret, body);
}

std::string app_webhook_body(const outbound_message& msg) {
  boost::json::object body;
  body["id"] = msg.id;
  body["merchant"] = msg.merchant;
  body["user"] = msg.recipient;
  body["conv"] = msg.conv;
  body["seq"] = msg.seq;
  body["ts"] = msg.ts_ms;
  body["from"] = msg.from;
  body["text"] = msg.text;
  body["channel"] = "app";
  return boost::json::serialize(body);
}

delivery_outcome app_deliver(const outbound_message& msg, const config::app_channel& ch,
                             std::chrono::milliseconds timeout) {
  http_call call;
  call.method = "POST";
  call.url = ch.webhook_url;
  call.body = app_webhook_body(msg);
  call.headers = {{"Content-Type", "application/json"},
                  {"X-Switchboard-Signature", app_signature(ch.secret, call.body)},
                  {"X-Switchboard-Delivery", msg.id}};
  const auto reply = perform(call, timeout);
  if (!reply.error.empty()) return {delivery_status::retry, "webhook: " + reply.error};
  const unsigned status = reply.status;
  if (status >= 200 && status <= 299) return {delivery_status::delivered, {}};
  std::string line = "webhook answered " + std::to_string(status);
  if (status == 408 || status == 429 || status >= 500) return {delivery_status::retry, line};
  return {delivery_status::permanent, line};
}

}  // namespace sb::channels
