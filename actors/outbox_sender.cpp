#include "actors/outbox_sender.hpp"

#include "actors/interfaces.hpp"
#include "channels/app_outbound.hpp"
#include "channels/channel.hpp"
#include "channels/delivery.hpp"
#include "channels/settings_json.hpp"

namespace sb {

namespace {

using channels::delivery_outcome;
using channels::delivery_status;

delivery_outcome deliver(const config::settings& cfg, channels::wechat_token_cache& tokens,
                         const std::string& payload, const std::string& id, uint64_t seq,
                         int64_t ts_ms, const std::string& settings_json) {
  auto stored = channels::read_delivery_payload(payload, id, seq, ts_ms);
  if (!stored) return {delivery_status::permanent, "unreadable outbox record"};
  const auto& msg = stored->message;
  auto settings = channels::settings_from_json(settings_json);
  const auto channel = channels::parse_channel(stored->channel);
  // A channel removed or not configured yet: keep the message; an operator may configure it.
  if (channel == channels::channel::wechat) {
    if (!settings || !settings->wechat)
      return {delivery_status::retry, "no wechat channel configured for " + msg.merchant};
    return channels::wechat_deliver(msg, *settings->wechat, tokens, cfg.outbox.http_timeout);
  }
  if (channel == channels::channel::app) {
    if (!settings || !settings->app)
      return {delivery_status::retry, "no app channel configured for " + msg.merchant};
    return channels::app_deliver(msg, *settings->app, cfg.outbox.http_timeout);
  }
  return {delivery_status::permanent, "unknown channel " + stored->channel};
}

}  // namespace

caf::behavior outbox_sender(caf::event_based_actor* self, const config::settings* cfg,
                            channels::wechat_token_cache* tokens) {
  return {
      [cfg, tokens](deliver_atom, const std::string& payload, const std::string& id, uint64_t seq,
                    int64_t ts_ms,
                    const std::string& settings) -> caf::result<uint8_t, std::string> {
        auto outcome = deliver(*cfg, *tokens, payload, id, seq, ts_ms, settings);
        return caf::result<uint8_t, std::string>(static_cast<uint8_t>(outcome.status),
                                                 std::move(outcome.error));
      },
  };
}

}  // namespace sb
