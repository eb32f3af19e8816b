// The one internal form of a customer's message from another channel, built by that channel's
// adapter and appended by the HTTP layer to the customer's conversation like any customer's
// message. An unknown source has no adapter, so it cannot produce one. Pure functions.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>

#include "channels/channel.hpp"
#include "channels/wechat_inbound.hpp"
#include "codec/frames.hpp"

namespace sb::channels {

struct inbound_message {
  channel source = channel::web;
  std::string merchant;
  std::string customer;   // the principal: "wx:<openid>", "app:<user>"
  std::string client_id;  // the message's id in the conversation: a retry is stored once
  std::string text;
  std::string extra_json;  // {"type","media"} of a non-text message, else ""
};

// A WeChat callback message of `merchant`'s account; nullopt for events (nothing to store).
// Its id is "wx-<MsgId>" ("wx-<openid>-<CreateTime>" without one, as WeChat advises).
std::optional<inbound_message> from_wechat(std::string_view merchant, const wechat_message& m);

// The body of POST /api/channels/app/messages ({"merchant","user","id","text"}), or the error
// ("missing_field" or "invalid_field").
std::variant<inbound_message, codec::protocol_error> from_app(const boost::json::object& body);

}  // namespace sb::channels
