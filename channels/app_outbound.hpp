// App outbound: agent replies POSTed to the merchant's app webhook, signed with HMAC-SHA256.
// Blocking: only the outbox's sender threads call app_deliver; the others are pure functions.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

#include "channels/delivery.hpp"
#include "config/config.hpp"

namespace sb::channels {

// "sha256=" + lowercase hex HMAC-SHA256(secret, body).
std::string app_signature(std::string_view secret, std::string_view body);

// {"id","merchant","user","conv","seq","ts","from","text","channel":"app"} with user =
// msg.recipient and ts the entry's append time in milliseconds.
std::string app_webhook_body(const outbound_message& msg);

// POSTs app_webhook_body(msg) to ch.webhook_url with X-Switchboard-Signature (app_signature of
// the body) and X-Switchboard-Delivery (msg.id: the receiver de-duplicates by it).
//   2xx                               → delivered
//   408, 429, 5xx, transport errors   → retry
//   any other status (3xx, other 4xx) → permanent ("webhook answered 404")
// Blocks for at most `timeout`. Error lines never hold the secret or the URL's query.
delivery_outcome app_deliver(const outbound_message& msg, const config::app_channel& ch,
                             std::chrono::milliseconds timeout);

}  // namespace sb::channels
