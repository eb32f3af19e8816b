#include "channels/delivery.hpp"

#include <boost/json.hpp>

namespace sb::channels {

namespace json = boost::json;

std::string delivery_payload(std::string_view channel, const outbound_message& msg) {
  json::object o{{"channel", channel}, {"merchant", msg.merchant}, {"recipient", msg.recipient},
                 {"conv", msg.conv},   {"from", msg.from},         {"text", msg.text}};
  return json::serialize(o);
}

std::optional<stored_delivery> read_delivery_payload(std::string_view payload, std::string id,
                                                     uint64_t seq, int64_t ts_ms) {
  boost::system::error_code ec;
  auto parsed = json::parse(payload, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto& o = parsed.as_object();
  auto field = [&](const char* name) {
    auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  return stored_delivery{field("channel"),
                         {std::move(id), field("merchant"), field("conv"), seq, ts_ms,
                          field("recipient"), field("from"), field("text")}};
}

}  // namespace sb::channels
