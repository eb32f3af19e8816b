// Channel settings as the settings actor stores them and as admins see them.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "channels/settings_json.hpp"

namespace sb::channels {
namespace {

config::merchant_channels both() {
  config::merchant_channels c;
  c.wechat = config::wechat_channel{"tok", "wxapp", "appsecret", "http://127.0.0.1:9", "hi"};
  c.app = config::app_channel{"https://hook.example/x", "0123456789abcdef"};
  return c;
}

TEST(ChannelSettingsJson, RoundTripsEveryField) {
  auto back = settings_from_json(settings_to_json(both(), false));
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->wechat && back->app);
  EXPECT_EQ(back->wechat->token, "tok");
  EXPECT_EQ(back->wechat->app_secret, "appsecret");
  EXPECT_EQ(back->wechat->api_base, "http://127.0.0.1:9");
  EXPECT_EQ(back->wechat->greeting, "hi");
  EXPECT_EQ(back->app->secret, "0123456789abcdef");
  auto none = settings_from_json(settings_to_json({}, false));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->wechat || none->app);
}

TEST(ChannelSettingsJson, RedactedViewHidesEverySecret) {
  auto shown = settings_to_json(both(), true);
  for (const char* secret : {"tok\"", "appsecret", "0123456789abcdef"})
    EXPECT_EQ(shown.find(secret), std::string::npos) << secret;
  auto o = boost::json::parse(shown).as_object();
  EXPECT_EQ(o.at("wechat").at("app_id").as_string(), "wxapp");
  EXPECT_EQ(o.at("app").at("webhook_url").as_string(), "https://hook.example/x");
}

TEST(ChannelSettingsJson, AdminBodiesNeedTheirFields) {
  auto w = wechat_settings_from(boost::json::parse(R"({"token":"t","app_id":"a"})").as_object());
  EXPECT_TRUE(std::holds_alternative<std::string>(w));
  auto ok = wechat_settings_from(
      boost::json::parse(R"({"token":"t","app_id":"a","app_secret":"s"})").as_object());
  ASSERT_TRUE(std::holds_alternative<config::wechat_channel>(ok));
  EXPECT_EQ(std::get<config::wechat_channel>(ok).api_base, "https://api.weixin.qq.com");
  auto a = app_settings_from(boost::json::parse(R"({"webhook_url":5,"secret":"x"})").as_object());
  EXPECT_TRUE(std::holds_alternative<std::string>(a));
  EXPECT_FALSE(settings_from_json("not json"));
}

}  // namespace
}  // namespace sb::channels
