#include "channels/inbound.hpp"

#include <boost/json.hpp>

#include "codec/frames.hpp"

namespace sb::channels {

namespace json = boost::json;

std::optional<inbound_message> from_wechat(std::string_view merchant, const wechat_message& m) {
  auto content = wechat_content(m);
  if (!content) return std::nullopt;
  inbound_message out{
      channel::wechat,
      std::string(merchant),
      wechat_principal(m.from_user),
      "wx-" + (m.msg_id.empty() ? m.from_user + "-" + std::to_string(m.create_time) : m.msg_id),
      std::move(content->text),
      ""};
  if (content->type != "text") {
    json::object o{{"type", content->type}};
    if (!content->extra_json.empty()) o["media"] = json::parse(content->extra_json);
    out.extra_json = json::serialize(o);
  }
  return out;
}

std::variant<inbound_message, codec::protocol_error> from_app(const json::object& body) {
  auto field = [&](const char* name) -> std::optional<std::string> {
    auto* v = body.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  auto merchant = field("merchant"), user = field("user"), id = field("id"), text = field("text");
  if (!merchant || !user || !id || !text)
    return codec::protocol_error{"missing_field",
                                 "merchant, user, id and text are required strings"};
  auto customer = app_principal(*user);
  if (!codec::valid_id(*merchant) || !codec::valid_id(customer) || !codec::valid_id(*id))
    return codec::protocol_error{"invalid_field",
                                 "merchant, user and id must be ids ([A-Za-z0-9_.:@-], user up "
                                 "to 124)"};
  return inbound_message{channel::app, *merchant, std::move(customer), *id, *text, ""};
}

}  // namespace sb::channels
