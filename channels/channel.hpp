// The channels a customer writes from, and how a customer principal names its channel.
// "wx:<openid>" is a WeChat follower, "app:<user>" a mobile app's user, anything else a web
// widget customer. Beast-free and CAF-free.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sb::channels {

enum class channel { web, app, wechat };

// "web", "app" or "wechat"; nullopt for any other name (an unknown source is refused).
std::optional<channel> parse_channel(std::string_view name);
std::string_view channel_name(channel c);

// The channel of a customer principal ("wx:…" → wechat, "app:…" → app, else web).
channel channel_of_customer(std::string_view principal);
// The channel's own id of the customer: the openid of "wx:<openid>", the user of "app:<user>".
std::string_view channel_user(std::string_view principal);

std::string wechat_principal(std::string_view openid);
std::string app_principal(std::string_view user);

}  // namespace sb::channels
