// WeChat inbound adapter: callback signature, plaintext XML parsing and its refusals, the
// passive text reply round trip, and the customer-message view of each message type.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <variant>

#include <boost/json.hpp>

#include "channels/wechat_inbound.hpp"
#include "codec/chat_text.hpp"
#include "codec/utf8.hpp"

namespace sb::channels {
namespace {

// python3 -c "import hashlib;print(hashlib.sha1(''.join(sorted(['testtoken','1409304348',
// 'xxxxxx'])).encode()).hexdigest())"
constexpr std::string_view known_signature = "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5";

TEST(WechatSignature, MatchesIndependentlyComputedVector) {
  EXPECT_EQ(wechat_signature("testtoken", "1409304348", "xxxxxx"), known_signature);
}

TEST(WechatSignature, SortsThePartsBeforeHashing) {
  // Unsorted concatenation would hash to b60f6abd…; the order of the arguments must not matter.
  EXPECT_EQ(wechat_signature("xxxxxx", "testtoken", "1409304348"), known_signature);
}

TEST(WechatSignature, AcceptsTheRightSignatureInEitherCase) {
  EXPECT_TRUE(wechat_signature_valid("testtoken", "1409304348", "xxxxxx", known_signature));
  EXPECT_TRUE(wechat_signature_valid("testtoken", "1409304348", "xxxxxx",
                                     "30D7C91DB269B3E0CB3E1A131646B6D1AE4750F5"));
}

TEST(WechatSignature, RefusesAnythingElse) {
  EXPECT_FALSE(wechat_signature_valid("othertoken", "1409304348", "xxxxxx", known_signature));
  EXPECT_FALSE(wechat_signature_valid("testtoken", "1409304349", "xxxxxx", known_signature));
  EXPECT_FALSE(wechat_signature_valid("testtoken", "1409304348", "xxxxxy", known_signature));
  std::string tampered(known_signature);
  tampered.back() = '1';
  EXPECT_FALSE(wechat_signature_valid("testtoken", "1409304348", "xxxxxx", tampered));
  EXPECT_FALSE(
      wechat_signature_valid("testtoken", "1409304348", "xxxxxx", known_signature.substr(0, 39)));
  EXPECT_FALSE(wechat_signature_valid("testtoken", "1409304348", "xxxxxx", ""));
  // An unconfigured (empty) token accepts nothing, not even its own signature.
  EXPECT_FALSE(wechat_signature_valid("", "1", "2", wechat_signature("", "1", "2")));
}

wechat_message parsed(std::string_view xml) {
  auto r = parse_wechat_message(xml);
  if (const auto* e = std::get_if<xml_error>(&r)) {
    ADD_FAILURE() << e->code << ": " << e->message << " for " << xml;
    return {};
  }
  return std::get<wechat_message>(std::move(r));
}

std::string refusal(std::string_view xml) {
  auto r = parse_wechat_message(xml);
  const auto* e = std::get_if<xml_error>(&r);
  return e ? e->code : "accepted";
}

constexpr std::string_view header =
    "<xml><ToUserName><![CDATA[gh_123456]]></ToUserName>"
    "<FromUserName><![CDATA[oUser_AbC-1]]></FromUserName><CreateTime>1348831860</CreateTime>";

std::string body(std::string_view fields) {
  return std::string(header) + std::string(fields) + "</xml>";
}

std::string text_body(std::string_view content_xml) {
  return body("<MsgType><![CDATA[text]]></MsgType><Content>" + std::string(content_xml) +
              "</Content><MsgId>1234567890123456</MsgId>");
}

TEST(WechatParse, TextWithCdata) {
  const auto m = parsed(
      "<xml>\n"
      "  <ToUserName><![CDATA[toUser]]></ToUserName>\n"
      "  <FromUserName><![CDATA[fromUser]]></FromUserName>\n"
      "  <CreateTime>1348831860</CreateTime>\n"
      "  <MsgType><![CDATA[text]]></MsgType>\n"
      "  <Content><![CDATA[this is a <test> & more]]></Content>\n"
      "  <MsgId>1234567890123456</MsgId>\n"
      "</xml>\n");
  EXPECT_EQ(m.to_user, "toUser");
  EXPECT_EQ(m.from_user, "fromUser");
  EXPECT_EQ(m.create_time, 1348831860);
  EXPECT_EQ(m.msg_type, "text");
  EXPECT_EQ(m.content, "this is a <test> & more");
  EXPECT_EQ(m.msg_id, "1234567890123456");
}

TEST(WechatParse, TextWithoutCdataDecodesEntities) {
  const auto m = parsed(text_body("&lt;b&gt; &amp; &quot;q&quot; &apos;a&apos; &#x4E2D;&#25991;"));
  EXPECT_EQ(m.content, "<b> & \"q\" 'a' 中文");
}

TEST(WechatParse, XmlDeclarationAndPlainTextFieldsAccepted) {
  const auto m = parsed(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml><ToUserName>gh_1</ToUserName>"
      "<FromUserName>oUser</FromUserName><CreateTime>0</CreateTime><MsgType>text</MsgType>"
      "<Content>hi</Content></xml>");
  EXPECT_EQ(m.to_user, "gh_1");
  EXPECT_EQ(m.from_user, "oUser");
  EXPECT_EQ(m.create_time, 0);
  EXPECT_EQ(m.content, "hi");
  EXPECT_EQ(m.msg_id, "");
}

TEST(WechatParse, ContentKeepsNewlinesAndWhitespaceOnlyText) {
  EXPECT_EQ(parsed(text_body("<![CDATA[line1\nline2\tend]]>")).content, "line1\nline2\tend");
  EXPECT_EQ(parsed(text_body("  ")).content, "  ");
  EXPECT_EQ(parsed(text_body("")).content, "");
}

TEST(WechatParse, CdataSplitAroundTerminatorJoinsBack) {
  EXPECT_EQ(parsed(text_body("<![CDATA[a]]]]><![CDATA[>b]]>")).content, "a]]>b");
  EXPECT_EQ(parsed(text_body("x &amp; <![CDATA[<y>]]>")).content, "x & <y>");
}

TEST(WechatParse, UnknownElementsAndAttributesIgnored) {
  const auto m = parsed(
      body("<MsgType><![CDATA[text]]></MsgType><Extra a=\"1\"><Nested>&undefined;</Nested></Extra>"
           "<Content lang=\"zh\"><![CDATA[hi]]></Content><MsgDataId>7</MsgDataId><Idx>1</Idx>"));
  EXPECT_EQ(m.content, "hi");
}

TEST(WechatParse, Image) {
  const auto m =
      parsed(body("<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/p.jpg]]></PicUrl>"
                  "<MediaId><![CDATA[media_1]]></MediaId><MsgId>42</MsgId>"));
  EXPECT_EQ(m.msg_type, "image");
  EXPECT_EQ(m.pic_url, "http://x/p.jpg");
  EXPECT_EQ(m.media_id, "media_1");
  EXPECT_EQ(m.msg_id, "42");
}

TEST(WechatParse, VoiceWithRecognition) {
  const auto m = parsed(
      body("<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m2]]></MediaId>"
           "<Format><![CDATA[amr]]></Format><Recognition><![CDATA[腾讯微信团队]]></Recognition>"
           "<MsgId>43</MsgId>"));
  EXPECT_EQ(m.msg_type, "voice");
  EXPECT_EQ(m.media_id, "m2");
  EXPECT_EQ(m.format, "amr");
  EXPECT_EQ(m.recognition, "腾讯微信团队");
}

TEST(WechatParse, Location) {
  const auto m =
      parsed(body("<MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X>"
                  "<Location_Y>113.358803</Location_Y><Scale>20</Scale>"
                  "<Label><![CDATA[位置信息]]></Label><MsgId>44</MsgId>"));
  EXPECT_EQ(m.location_x, "23.134521");
  EXPECT_EQ(m.location_y, "113.358803");
  EXPECT_EQ(m.scale, "20");
  EXPECT_EQ(m.label, "位置信息");
}

TEST(WechatParse, Link) {
  const auto m = parsed(
      body("<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[公众平台官网链接]]></Title>"
           "<Description><![CDATA[desc]]></Description><Url><![CDATA[https://x/y?a=1&b=2]]></Url>"
           "<MsgId>45</MsgId>"));
  EXPECT_EQ(m.title, "公众平台官网链接");
  EXPECT_EQ(m.description, "desc");
  EXPECT_EQ(m.url, "https://x/y?a=1&b=2");
}

TEST(WechatParse, Events) {
  const auto sub =
      parsed(body("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
                  "<EventKey><![CDATA[qrscene_123]]></EventKey>"));
  EXPECT_EQ(sub.msg_type, "event");
  EXPECT_EQ(sub.event, "subscribe");
  EXPECT_EQ(sub.event_key, "qrscene_123");
  EXPECT_EQ(sub.msg_id, "");

  const auto unsub =
      parsed(body("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event>"));
  EXPECT_EQ(unsub.event, "unsubscribe");
  EXPECT_EQ(unsub.event_key, "");

  const auto click =
      parsed(body("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
                  "<EventKey><![CDATA[MENU_HELP]]></EventKey>"));
  EXPECT_EQ(click.event, "CLICK");
  EXPECT_EQ(click.event_key, "MENU_HELP");
}

TEST(WechatParse, MissingFields) {
  const std::string to = "<ToUserName>gh_1</ToUserName>";
  const std::string from = "<FromUserName>oUser</FromUserName>";
  const std::string time = "<CreateTime>1</CreateTime>";
  const std::string type = "<MsgType>image</MsgType>";
  auto xml = [](const std::string& fields) { return "<xml>" + fields + "</xml>"; };
  EXPECT_EQ(refusal(xml(to + from + time + type)), "accepted");
  EXPECT_EQ(refusal(xml(from + time + type)), "missing_field");
  EXPECT_EQ(refusal(xml(to + time + type)), "missing_field");
  EXPECT_EQ(refusal(xml(to + from + type)), "missing_field");
  EXPECT_EQ(refusal(xml(to + from + time)), "missing_field");
  EXPECT_EQ(refusal(xml(to + from + time + "<MsgType>text</MsgType>")), "missing_field");
  EXPECT_EQ(refusal(xml(to + from + time + "<MsgType>event</MsgType>")), "missing_field");
  EXPECT_EQ(refusal("<xml/>"), "missing_field");
}

TEST(WechatParse, MalformedXmlRefused) {
  for (std::string_view bad :
       {"", "   ", "hello", "<xml>", "<xml><Content>hi</xml>", "<xml></a></xml>",
        "<xml><![CDATA[abc</xml>", "<xml><!-- abc</xml>", "<xml a=></xml>"}) {
    EXPECT_EQ(refusal(bad), "malformed_xml") << bad;
  }
  const std::string ok = text_body("hi");
  EXPECT_EQ(refusal(ok), "accepted");
  EXPECT_EQ(refusal(ok + "<xml/>"), "malformed_xml");
  EXPECT_EQ(refusal(ok + "trailing"), "malformed_xml");
  EXPECT_EQ(refusal("leading" + ok), "malformed_xml");
  EXPECT_EQ(refusal(ok + "\n  "), "accepted");
}

TEST(WechatParse, EveryTruncationRefused) {
  const std::string ok = text_body("<![CDATA[hello]]>");
  for (size_t n = 0; n < ok.size(); ++n) EXPECT_NE(refusal(ok.substr(0, n)), "accepted") << n;
}

TEST(WechatParse, RootMustBeXml) {
  EXPECT_EQ(refusal("<root><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
                    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content></root>"),
            "malformed_xml");
  EXPECT_EQ(refusal("<XML/>"), "malformed_xml");
}

TEST(WechatParse, DoctypeRefused) {
  EXPECT_EQ(
      refusal("<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>" + text_body("&xxe;")),
      "malformed_xml");
  EXPECT_EQ(refusal("<!DOCTYPE xml [<!ENTITY e \"boom\">]>" + text_body("hi")), "malformed_xml");
  EXPECT_EQ(refusal("<!DOCTYPE xml>" + text_body("hi")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("hi") + "<!DOCTYPE xml>"), "malformed_xml");
}

TEST(WechatParse, BadReferencesInKnownFieldsRefused) {
  EXPECT_EQ(refusal(text_body("&undefined;")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("a & b")), "malformed_xml");
  // A reference to NUL would otherwise cut the text short silently.
  EXPECT_EQ(refusal(text_body("hello&#0;world")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("&#x0;")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("&#xD800;")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("&#x110000;")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("&#99999999999999999999;")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("&#;")), "malformed_xml");
  EXPECT_EQ(refusal(text_body("&#xZZ;")), "malformed_xml");
  // In CDATA the same characters are literal text.
  EXPECT_EQ(parsed(text_body("<![CDATA[&#0; &undefined;]]>")).content, "&#0; &undefined;");
}

TEST(WechatParse, NulByteRefused) {
  EXPECT_EQ(refusal(text_body(std::string("a\0b", 3))), "malformed_xml");
  EXPECT_EQ(refusal(text_body("a") + std::string("\0<junk", 6)), "malformed_xml");
}

TEST(WechatParse, InvalidUtf8Refused) {
  EXPECT_EQ(refusal(text_body("<![CDATA[caf\xC3\x28]]>")), "invalid_field");
  EXPECT_EQ(refusal(text_body("\xFF")), "invalid_field");
  EXPECT_EQ(refusal(body("<MsgType>image</MsgType><PicUrl>\xED\xA0\x80</PicUrl>")),
            "invalid_field");
}

TEST(WechatParse, CreateTimeMustBeANonNegativeInt64) {
  auto with_time = [](std::string_view t) {
    return "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>" +
           std::string(t) + "</CreateTime><MsgType>image</MsgType></xml>";
  };
  EXPECT_EQ(parsed(with_time("9223372036854775807")).create_time, INT64_MAX);
  for (std::string_view bad : {"9223372036854775808", "99999999999999999999999999", "-1", "12a", "",
                               " 12", "1.5", "0x10", "+1"}) {
    EXPECT_EQ(refusal(with_time(bad)), "invalid_field") << bad;
  }
}

TEST(WechatParse, MsgIdMustBeDigits) {
  auto with_id = [](std::string_view id) {
    return body("<MsgType>image</MsgType><MsgId>" + std::string(id) + "</MsgId>");
  };
  EXPECT_EQ(parsed(with_id("18446744073709551615")).msg_id, "18446744073709551615");
  for (std::string_view bad : {"", "abc", "12 3", "-5", "123456789012345678901"})
    EXPECT_EQ(refusal(with_id(bad)), "invalid_field") << bad;
}

TEST(WechatParse, FromUserNameMustMakeAValidPrincipal) {
  auto from = [](std::string_view openid) {
    return "<xml><ToUserName>gh</ToUserName><FromUserName><![CDATA[" + std::string(openid) +
           "]]></FromUserName><CreateTime>1</CreateTime><MsgType>image</MsgType></xml>";
  };
  EXPECT_EQ(refusal(from(std::string(125, 'a'))), "accepted");
  EXPECT_EQ(refusal(from(std::string(126, 'a'))), "invalid_field");
  EXPECT_EQ(refusal(from("")), "invalid_field");
  EXPECT_EQ(refusal(from("has space")), "invalid_field");
  EXPECT_EQ(refusal(from("o/../x")), "invalid_field");
  EXPECT_EQ(refusal(from("用户")), "invalid_field");
}

TEST(WechatParse, EmptyOrDuplicatedOrNestedFieldsRefused) {
  EXPECT_EQ(refusal(body("<MsgType></MsgType>")), "invalid_field");
  EXPECT_EQ(refusal("<xml><ToUserName></ToUserName><FromUserName>o</FromUserName>"
                    "<CreateTime>1</CreateTime><MsgType>image</MsgType></xml>"),
            "invalid_field");
  EXPECT_EQ(refusal(body("<MsgType>text</MsgType><Content>a</Content><Content>b</Content>")),
            "invalid_field");
  EXPECT_EQ(refusal(body("<MsgType>text</MsgType><Content>a<b>bold</b></Content>")),
            "invalid_field");
}

TEST(WechatParse, DeepNestingInUnknownElementNeitherCrashesNorHangs) {
  constexpr int depth = 100000;
  std::string nested;
  for (int i = 0; i < depth; ++i) nested += "<a>";
  for (int i = 0; i < depth; ++i) nested += "</a>";
  EXPECT_EQ(parsed(text_body("hi").insert(header.size(), nested)).content, "hi");
}

TEST(WechatParse, MutatedInputsNeverCrashAndAcceptedFieldsAreUtf8) {
  const std::string seed = text_body("<![CDATA[你好 <b>]]> &amp; &#x4E2D;");
  std::mt19937 rng(12345);
  for (int round = 0; round < 3000; ++round) {
    std::string s = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          s.erase(pos, 1 + rng() % 8);
          break;
        default:
          s.insert(pos, 1, "<>&;[]!/\"'\xE4"[rng() % 11]);
      }
      if (s.empty()) s = "<";
    }
    auto r = parse_wechat_message(s);
    if (const auto* m = std::get_if<wechat_message>(&r)) {
      for (const std::string* f : {&m->to_user, &m->from_user, &m->msg_type, &m->content})
        EXPECT_TRUE(codec::valid_utf8(*f)) << s;
    }
  }
}

TEST(WechatReply, MatchesWechatsFormat) {
  EXPECT_EQ(wechat_text_reply("openid", "gh_account", 12345678, "hello"),
            "<xml><ToUserName><![CDATA[openid]]></ToUserName>"
            "<FromUserName><![CDATA[gh_account]]></FromUserName>"
            "<CreateTime>12345678</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            "<Content><![CDATA[hello]]></Content></xml>");
}

TEST(WechatReply, SplitsCdataTerminator) {
  const std::string reply = wechat_text_reply("o", "gh", 1, "a]]>b");
  EXPECT_NE(reply.find("<Content><![CDATA[a]]]]><![CDATA[>b]]></Content>"), std::string::npos)
      << reply;
}

TEST(WechatReply, RoundTripsThroughTheParser) {
  for (std::string_view content :
       {"hello", "a]]>b", "]]>", "]]]]>>>", "x]]", "<b>&amp;</b> & < > \" '", "<![CDATA[x]]>",
        "你好，世界 🙂", "", "line1\nline2\ttab"}) {
    const std::string reply = wechat_text_reply("oUser-1", "gh_account", 1700000000, content);
    const auto m = parsed(reply);
    EXPECT_EQ(m.to_user, "oUser-1");
    EXPECT_EQ(m.from_user, "gh_account");
    EXPECT_EQ(m.create_time, 1700000000);
    EXPECT_EQ(m.msg_type, "text");
    EXPECT_EQ(m.content, content) << reply;
  }
}

boost::json::object extra_of(const inbound_content& c) {
  return boost::json::parse(c.extra_json).as_object();
}

TEST(WechatContent, TextIsContentUnchanged) {
  wechat_message m;
  m.msg_type = "text";
  m.content = "a\x01<b>";
  const auto c = wechat_content(m);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type, "text");
  EXPECT_EQ(c->text, "a\x01<b>");
  EXPECT_EQ(c->extra_json, "");
}

TEST(WechatContent, EventsAreNotCustomerMessages) {
  for (std::string_view event : {"subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN"}) {
    wechat_message m;
    m.msg_type = "event";
    m.event = event;
    EXPECT_FALSE(wechat_content(m)) << event;
  }
}

TEST(WechatContent, Image) {
  const auto c = wechat_content(
      parsed(body("<MsgType>image</MsgType><PicUrl>http://x/p.jpg</PicUrl><MediaId>m1</MediaId>")));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type, "image");
  EXPECT_EQ(c->text, "[image]");
  EXPECT_EQ(extra_of(*c), (boost::json::object{{"pic_url", "http://x/p.jpg"}, {"media_id", "m1"}}));
}

TEST(WechatContent, VoiceShowsRecognitionWhenPresent) {
  wechat_message m;
  m.msg_type = "voice";
  m.media_id = "m2";
  m.format = "amr";
  EXPECT_EQ(wechat_content(m)->text, "[voice]");
  m.recognition = "你好";
  const auto c = wechat_content(m);
  EXPECT_EQ(c->text, "[voice] 你好");
  EXPECT_EQ(extra_of(*c),
            (boost::json::object{{"media_id", "m2"}, {"format", "amr"}, {"recognition", "你好"}}));
}

TEST(WechatContent, VideoAndShortVideo) {
  for (std::string_view type : {"video", "shortvideo"}) {
    wechat_message m;
    m.msg_type = type;
    m.media_id = "m3";
    m.thumb_media_id = "t3";
    const auto c = wechat_content(m);
    EXPECT_EQ(c->type, type);
    EXPECT_EQ(c->text, "[" + std::string(type) + "]");
    EXPECT_EQ(extra_of(*c), (boost::json::object{{"media_id", "m3"}, {"thumb_media_id", "t3"}}));
  }
}

TEST(WechatContent, Location) {
  wechat_message m;
  m.msg_type = "location";
  m.location_x = "23.134521";
  m.location_y = "113.358803";
  m.scale = "20";
  EXPECT_EQ(wechat_content(m)->text, "[location] (23.134521,113.358803)");
  m.label = "位置信息";
  const auto c = wechat_content(m);
  EXPECT_EQ(c->text, "[location] 位置信息 (23.134521,113.358803)");
  EXPECT_EQ(extra_of(*c), (boost::json::object{{"location_x", "23.134521"},
                                               {"location_y", "113.358803"},
                                               {"scale", "20"},
                                               {"label", "位置信息"}}));
}

TEST(WechatContent, Link) {
  wechat_message m;
  m.msg_type = "link";
  m.title = "Title";
  m.description = "Desc";
  m.url = "https://x/y";
  const auto c = wechat_content(m);
  EXPECT_EQ(c->text, "[link] Title https://x/y");
  EXPECT_EQ(
      extra_of(*c),
      (boost::json::object{{"title", "Title"}, {"description", "Desc"}, {"url", "https://x/y"}}));
}

TEST(WechatContent, UnknownTypeNamedInBrackets) {
  wechat_message m;
  m.msg_type = "miniprogrampage";
  const auto c = wechat_content(m);
  EXPECT_EQ(c->type, "miniprogrampage");
  EXPECT_EQ(c->text, "[miniprogrampage]");
  EXPECT_EQ(c->extra_json, "{}");
}

TEST(WechatContent, PlaceholderIsValidChatText) {
  wechat_message m;
  m.msg_type = "link";
  m.title =
      "a\x01"
      "b\x7f\xC2\x85"
      "c\nd\te\r";
  m.url = "\xFFz";
  const auto c = wechat_content(m);
  EXPECT_EQ(c->text, "[link] a b  c\nd\te  \xEF\xBF\xBDz");
  EXPECT_EQ(codec::check_chat_text(c->text, placeholder_max_bytes), "");
  // The JSON keeps control characters (escaped) but must stay parseable.
  EXPECT_EQ(extra_of(*c).at("title").as_string(), m.title);
  EXPECT_EQ(extra_of(*c).at("url").as_string(), "\xEF\xBF\xBDz");

  m.msg_type = "x\x02y";
  EXPECT_EQ(wechat_content(m)->text, "[x y]");
  EXPECT_EQ(wechat_content(m)->type, "x\x02y");
}

TEST(WechatContent, PlaceholderCutOnACharacterBoundary) {
  wechat_message m;
  m.msg_type = "link";
  m.title = "x";
  for (int i = 0; i < 2000; ++i) m.title += "中";
  const auto c = wechat_content(m);
  // "[link] x" is 8 bytes; whole 3-byte characters fill 4086 of the remaining 4088.
  EXPECT_EQ(c->text.size(), 4094u);
  EXPECT_EQ(codec::check_chat_text(c->text, placeholder_max_bytes), "");
  EXPECT_EQ(extra_of(*c).at("title").as_string().size(), 6001u);
}

}  // namespace
}  // namespace sb::channels
