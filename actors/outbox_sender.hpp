// An outbox sender: a detached actor (its own thread) that makes one outbound delivery at a
// time through the channel adapters (channels/), which block on HTTP for up to
// outbox.http_timeout per call. The outbox actor decides what to send and when; senders only
// send.
#pragma once
#include <string>

#include <caf/all.hpp>

#include "channels/wechat_outbound.hpp"
#include "config/config.hpp"

namespace sb {

// (deliver_atom, payload_json, entry_id, seq, ts_ms, settings_json)
//     -> (uint8_t delivery_status, std::string error)
// payload_json is the outbox record's payload (channel, merchant, recipient, conv, from, text);
// settings_json the merchant's channel settings (channels/settings_json.hpp). Spawn with
// caf::detached. `tokens` is shared by every sender and outlives them.
caf::behavior outbox_sender(caf::event_based_actor* self, const config::settings* cfg,
                            channels::wechat_token_cache* tokens);

}  // namespace sb
