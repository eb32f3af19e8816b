#include "channels/channel.hpp"

namespace sb::channels {

namespace {
constexpr std::string_view wechat_prefix = "wx:";
constexpr std::string_view app_prefix = "app:";
}  // namespace

std::optional<channel> parse_channel(std::string_view name) {
  if (name == "web") return channel::web;
  if (name == "app") return channel::app;
  if (name == "wechat") return channel::wechat;
  return std::nullopt;
}

std::string_view channel_name(channel c) {
  switch (c) {
    case channel::app:
      return "app";
    case channel::wechat:
      return "wechat";
    case channel::web:
      break;
  }
  return "web";
}

channel channel_of_customer(std::string_view principal) {
  if (principal.starts_with(wechat_prefix)) return channel::wechat;
  if (principal.starts_with(app_prefix)) return channel::app;
  return channel::web;
}

std::string_view channel_user(std::string_view principal) {
  for (auto prefix : {wechat_prefix, app_prefix})
    if (principal.starts_with(prefix)) return principal.substr(prefix.size());
  return principal;
}

std::string wechat_principal(std::string_view openid) {
  return std::string(wechat_prefix) + std::string(openid);
}

std::string app_principal(std::string_view user) {
  return std::string(app_prefix) + std::string(user);
}

}  // namespace sb::channels
