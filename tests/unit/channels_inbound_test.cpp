// The adapters' one internal form: WeChat callback messages and app-channel bodies become
// customer messages of "wx:<openid>" / "app:<user>" with ids that make retries idempotent.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "channels/delivery.hpp"
#include "channels/inbound.hpp"

namespace sb::channels {
namespace {

wechat_message text_message(std::string msg_id) {
  wechat_message m;
  m.to_user = "gh_account";
  m.from_user = "oUser-1";
  m.create_time = 1700000000;
  m.msg_type = "text";
  m.msg_id = std::move(msg_id);
  m.content = "hello <b>";
  return m;
}

TEST(InboundFromWechat, TextBecomesTheCustomersMessageKeyedByMsgId) {
  auto in = from_wechat("m1", text_message("6199000000000000001"));
  ASSERT_TRUE(in);
  EXPECT_EQ(in->source, channel::wechat);
  EXPECT_EQ(in->merchant, "m1");
  EXPECT_EQ(in->customer, "wx:oUser-1");
  EXPECT_EQ(in->client_id, "wx-6199000000000000001");
  EXPECT_EQ(in->text, "hello <b>");
  EXPECT_EQ(in->extra_json, "");
}

TEST(InboundFromWechat, WithoutMsgIdTheIdIsSenderAndTime) {
  auto in = from_wechat("m1", text_message(""));
  ASSERT_TRUE(in);
  EXPECT_EQ(in->client_id, "wx-oUser-1-1700000000");
}

TEST(InboundFromWechat, ImageCarriesTypeAndMedia) {
  auto m = text_message("1");
  m.msg_type = "image";
  m.content.clear();
  m.pic_url = "http://mmbiz.example/p.jpg";
  m.media_id = "media-1";
  auto in = from_wechat("m1", m);
  ASSERT_TRUE(in);
  EXPECT_FALSE(in->text.empty());
  auto extra = boost::json::parse(in->extra_json).as_object();
  EXPECT_EQ(extra.at("type").as_string(), "image");
  EXPECT_EQ(extra.at("media").as_object().at("media_id").as_string(), "media-1");
}

TEST(InboundFromWechat, EventsAreNotMessages) {
  auto m = text_message("");
  m.msg_type = "event";
  m.event = "subscribe";
  EXPECT_FALSE(from_wechat("m1", m));
}

TEST(InboundFromApp, BodyBecomesTheUsersMessage) {
  auto body = boost::json::parse(R"({"merchant":"m1","user":"u-9","id":"msg-1","text":"hi"})");
  auto in = from_app(body.as_object());
  auto* msg = std::get_if<inbound_message>(&in);
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->source, channel::app);
  EXPECT_EQ(msg->customer, "app:u-9");
  EXPECT_EQ(msg->client_id, "msg-1");
  EXPECT_EQ(msg->text, "hi");
}

TEST(InboundFromApp, MissingOrBadFieldsAreNamed) {
  auto missing =
      from_app(boost::json::parse(R"({"merchant":"m1","user":"u","id":"x"})").as_object());
  ASSERT_TRUE(std::holds_alternative<codec::protocol_error>(missing));
  EXPECT_EQ(std::get<codec::protocol_error>(missing).code, "missing_field");
  auto wrong_type =
      from_app(boost::json::parse(R"({"merchant":"m1","user":7,"id":"x","text":"t"})").as_object());
  EXPECT_EQ(std::get<codec::protocol_error>(wrong_type).code, "missing_field");
  auto bad_user = from_app(
      boost::json::parse(R"({"merchant":"m1","user":"a b","id":"x","text":"t"})").as_object());
  EXPECT_EQ(std::get<codec::protocol_error>(bad_user).code, "invalid_field");
  auto long_user = from_app(boost::json::object{
      {"merchant", "m1"}, {"user", std::string(125, 'u')}, {"id", "x"}, {"text", "t"}});
  EXPECT_EQ(std::get<codec::protocol_error>(long_user).code, "invalid_field");
}

TEST(ChannelNames, UnknownSourcesHaveNoChannel) {
  EXPECT_EQ(parse_channel("wechat"), channel::wechat);
  EXPECT_EQ(parse_channel("app"), channel::app);
  EXPECT_EQ(parse_channel("web"), channel::web);
  EXPECT_FALSE(parse_channel("sms"));
  EXPECT_FALSE(parse_channel("WeChat"));
  EXPECT_EQ(channel_of_customer("wx:o1"), channel::wechat);
  EXPECT_EQ(channel_of_customer("app:u"), channel::app);
  EXPECT_EQ(channel_of_customer("alice"), channel::web);
  EXPECT_EQ(channel_user("wx:o1"), "o1");
}

}  // namespace
}  // namespace sb::channels

namespace sb::channels {
namespace {

TEST(DeliveryPayload, RoundTripsTheMessageAndTakesIdSeqAndTimeFromTheRecord) {
  outbound_message msg;
  msg.merchant = "m1";
  msg.conv = "c0123";
  msg.recipient = "oUser";
  msg.from = "alice";
  msg.text = "见 <b> \"quoted\"";
  auto back = read_delivery_payload(delivery_payload("wechat", msg), "e-1", 7, 1700000000000);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->channel, "wechat");
  EXPECT_EQ(back->message.id, "e-1");
  EXPECT_EQ(back->message.seq, 7u);
  EXPECT_EQ(back->message.ts_ms, 1700000000000);
  EXPECT_EQ(back->message.merchant, "m1");
  EXPECT_EQ(back->message.conv, "c0123");
  EXPECT_EQ(back->message.recipient, "oUser");
  EXPECT_EQ(back->message.from, "alice");
  EXPECT_EQ(back->message.text, msg.text);
  EXPECT_FALSE(read_delivery_payload("not json", "e", 1, 1));
  EXPECT_FALSE(read_delivery_payload("[1]", "e", 1, 1));
}

}  // namespace
}  // namespace sb::channels
