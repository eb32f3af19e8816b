// The outbound side of the channels against a loopback stand-in server: the HTTP client,
// WeChat customer-service delivery with its token cache, and app webhook delivery.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "channels/app_outbound.hpp"
#include "channels/wechat_outbound.hpp"
#include "http_client/http_client.hpp"
#include "tests/unit/channels_fake_server.hpp"

namespace sb::channels {
namespace {

using namespace std::chrono_literals;
using fakes::fake_server;
using fakes::recorded_request;
using fakes::scripted_reply;
using http_client::http_call;
using http_client::perform;

constexpr auto call_timeout = std::chrono::milliseconds(2000);

// A loopback port with nothing listening on it.
uint16_t closed_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

scripted_reply answer(unsigned status, std::string body) {
  scripted_reply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

// ---- perform ----------------------------------------------------------------------------

TEST(HttpClient, GetRoundTrip) {
  fake_server server([](const recorded_request&) {
    scripted_reply reply = answer(200, "hello");
    reply.content_type = "text/plain";
    return reply;
  });
  http_call call;
  call.url = server.url("/path/x?q=1");
  const auto reply = perform(call, call_timeout);
  ASSERT_EQ(reply.error, "");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "hello");
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/path/x?q=1");
  EXPECT_EQ(seen[0].header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].header("user-agent"), "switchboard");
  EXPECT_EQ(seen[0].header("content-type"), "");
}

TEST(HttpClient, PostSendsBodyAndHeaders) {
  fake_server server([](const recorded_request&) { return answer(201, R"({"ok":true})"); });
  http_call call;
  call.method = "POST";
  call.url = server.url("/hook");
  call.body = R"({"a":1})";
  call.headers = {{"X-Test", "v1"}};
  const auto reply = perform(call, call_timeout);
  ASSERT_EQ(reply.error, "");
  EXPECT_EQ(reply.status, 201u);
  EXPECT_EQ(reply.body, R"({"ok":true})");

  call.headers = {{"Content-Type", "text/plain"}};  // a given Content-Type wins
  ASSERT_EQ(perform(call, call_timeout).status, 201u);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, R"({"a":1})");
  EXPECT_EQ(seen[0].header("content-type"), "application/json");
  EXPECT_EQ(seen[0].header("content-length"), "7");
  EXPECT_EQ(seen[0].header("x-test"), "v1");
  EXPECT_EQ(seen[1].header("content-type"), "text/plain");
}

TEST(HttpClient, SilentServerTimesOutWithinTheDeadline) {
  fake_server server([](const recorded_request&) {
    scripted_reply reply;
    reply.hang = true;
    return reply;
  });
  http_call call;
  call.url = server.url("/slow?access_token=TOPSECRET");
  const auto timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const auto reply = perform(call, timeout);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply.status, 0u);
  EXPECT_NE(reply.error.find("timed out"), std::string::npos) << reply.error;
  EXPECT_EQ(reply.error.find("TOPSECRET"), std::string::npos) << reply.error;
  EXPECT_LT(elapsed, 3 * timeout);  // a bound, not a performance check
  EXPECT_EQ(server.count("/slow"), 1u);
}

TEST(HttpClient, ConnectionRefusedIsAnError) {
  http_call call;
  call.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  const auto reply = perform(call, call_timeout);
  EXPECT_EQ(reply.status, 0u);
  EXPECT_NE(reply.error.find("connect"), std::string::npos) << reply.error;
}

TEST(HttpClient, BodyOverTheLimitIsAnError) {
  fake_server server([](const recorded_request& r) {
    return answer(200, std::string(r.path() == "/big" ? 1001 : 1000, 'x'));
  });
  http_call call;
  call.url = server.url("/exact");
  const auto exact = perform(call, call_timeout, 1000);
  ASSERT_EQ(exact.error, "");
  EXPECT_EQ(exact.body.size(), 1000u);

  call.url = server.url("/big");
  const auto big = perform(call, call_timeout, 1000);
  EXPECT_EQ(big.status, 0u);
  EXPECT_NE(big.error.find("over 1000 bytes"), std::string::npos) << big.error;
}

TEST(HttpClient, OnlyHttpAndHttpsUrls) {
  for (const char* url : {"ftp://127.0.0.1/x", "mailto:a@example.com", "not a url", "", "http://",
                          "/relative/path", "ws://127.0.0.1/x"}) {
    http_call call;
    call.url = url;
    EXPECT_EQ(perform(call, call_timeout).error, "unsupported URL") << url;
  }
}

TEST(HttpClient, ErrorsNameTheEndpointButNeverTheQueryOrUserinfo) {
  const auto port = std::to_string(closed_port());
  http_call call;
  call.url = "http://user:PASSWORD@127.0.0.1:" + port + "/cgi-bin/x?access_token=TOPSECRET&b=2";
  const auto reply = perform(call, call_timeout);
  EXPECT_NE(reply.error.find("http://127.0.0.1:" + port + "/cgi-bin/x"), std::string::npos)
      << reply.error;
  for (const char* secret : {"TOPSECRET", "access_token", "PASSWORD", "?"}) {
    EXPECT_EQ(reply.error.find(secret), std::string::npos) << reply.error;
  }
  EXPECT_EQ(reply.error.find('\n'), std::string::npos);
}

TEST(HttpClient, HeaderWithLineBreakIsRefusedBeforeSending) {
  fake_server server([](const recorded_request&) { return answer(200, ""); });
  http_call call;
  call.url = server.url("/x");
  call.headers = {{"X-Delivery", "id\r\nX-Injected: 1"}};
  EXPECT_NE(perform(call, call_timeout).error.find("bad header"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST(HttpClient, HttpsToAPlainServerFailsTheHandshake) {
  fake_server server([](const recorded_request&) { return answer(200, ""); });
  http_call call;
  call.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/x";
  const auto reply = perform(call, call_timeout);
  EXPECT_EQ(reply.status, 0u);
  EXPECT_NE(reply.error.find("TLS handshake"), std::string::npos) << reply.error;
}

// ---- WeChat -----------------------------------------------------------------------------

constexpr const char* app_secret = "S3CRET-app";

// A WeChat stand-in: /cgi-bin/token issues TOKEN-1, TOKEN-2, …; `send` answers
// /cgi-bin/message/custom/send.
class wechat_stub {
 public:
  explicit wechat_stub(std::function<scripted_reply(const recorded_request&)> send,
                       std::function<scripted_reply(int)> token = {})
      : server_([this, send = std::move(send),
                 token = std::move(token)](const recorded_request& r) {
          if (r.path() == "/cgi-bin/token") {
            const int n = ++issued_;
            if (token) return token(n);
            return answer(
                200, R"({"access_token":"TOKEN-)" + std::to_string(n) + R"(","expires_in":7200})");
          }
          if (r.path() == "/cgi-bin/message/custom/send") return send(r);
          return answer(404, "");
        }) {
    channel_.token = "cbtoken";
    channel_.app_id = "wxapp1";
    channel_.app_secret = app_secret;
    channel_.api_base = server_.url("");
  }

  const config::wechat_channel& channel() const { return channel_; }
  fake_server& server() { return server_; }
  std::vector<recorded_request> sends() const {
    std::vector<recorded_request> out;
    for (auto& r : server_.requests()) {
      if (r.path() == "/cgi-bin/message/custom/send") out.push_back(r);
    }
    return out;
  }

 private:
  std::atomic<int> issued_{0};
  fake_server server_;
  config::wechat_channel channel_;
};

outbound_message reply_to(std::string openid) {
  outbound_message msg;
  msg.id = "e-1";
  msg.merchant = "m1";
  msg.conv = "c1";
  msg.seq = 7;
  msg.ts_ms = 1700000000000;
  msg.recipient = std::move(openid);
  msg.from = "alice";
  msg.text = "您好, how can I help?";
  return msg;
}

scripted_reply wechat_error(int code, const std::string& msg) {
  return answer(200, R"({"errcode":)" + std::to_string(code) + R"(,"errmsg":")" + msg + R"("})");
}

scripted_reply wechat_ok(const recorded_request&) {
  return wechat_error(0, "ok");
}

void expect_no_credentials(const delivery_outcome& out) {
  EXPECT_EQ(out.error.find(app_secret), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find("TOKEN-"), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find("access_token="), std::string::npos) << out.error;
}

TEST(WeChatOutbound, CustomSendBodyKeepsUtf8) {
  const std::string body = wechat_custom_send_body("oABC", "你好 \"quoted\"");
  EXPECT_NE(body.find("你好"), std::string::npos) << body;
  EXPECT_EQ(boost::json::parse(body),
            boost::json::parse(
                R"({"touser":"oABC","msgtype":"text","text":{"content":"你好 \"quoted\""}})"));
}

TEST(WeChatOutbound, TokenIsFetchedOnceAndCachedAcrossSends) {
  wechat_stub stub(wechat_ok);
  std::atomic<int> fetches{0};
  wechat_token_cache tokens([&] { ++fetches; });
  const auto msg = reply_to("oUser1");
  EXPECT_EQ(wechat_deliver(msg, stub.channel(), tokens, call_timeout).status,
            delivery_status::delivered);
  EXPECT_EQ(wechat_deliver(msg, stub.channel(), tokens, call_timeout).status,
            delivery_status::delivered);
  EXPECT_EQ(stub.server().count("/cgi-bin/token"), 1u);
  EXPECT_EQ(fetches.load(), 1);
  const auto sends = stub.sends();
  ASSERT_EQ(sends.size(), 2u);
  for (const auto& s : sends) {
    EXPECT_EQ(s.method, "POST");
    EXPECT_EQ(s.target, "/cgi-bin/message/custom/send?access_token=TOKEN-1");
    EXPECT_EQ(boost::json::parse(s.body),
              boost::json::parse(wechat_custom_send_body("oUser1", msg.text)));
  }
  const auto token_request = stub.server().requests().front();
  EXPECT_EQ(token_request.target,
            "/cgi-bin/token?grant_type=client_credential&appid=wxapp1&secret=S3CRET-app");
}

TEST(WeChatOutbound, TokenQueryIsUrlEncoded) {
  wechat_stub stub(wechat_ok);
  auto ch = stub.channel();
  ch.app_secret = "a&b=c+d e";
  wechat_token_cache tokens;
  ASSERT_TRUE(std::holds_alternative<std::string>(tokens.token(ch, call_timeout)));
  EXPECT_EQ(stub.server().requests().front().target,
            "/cgi-bin/token?grant_type=client_credential&appid=wxapp1&secret=a%26b%3Dc%2Bd%20e");
}

TEST(WeChatOutbound, ExpiredTokenIsRefreshedAndTheMessageSentOnceMore) {
  wechat_stub stub([](const recorded_request& r) {
    if (r.target.ends_with("TOKEN-1")) return wechat_error(42001, "access_token expired");
    return wechat_error(0, "ok");
  });
  wechat_token_cache tokens;
  const auto out = wechat_deliver(reply_to("oUser1"), stub.channel(), tokens, call_timeout);
  EXPECT_EQ(out.status, delivery_status::delivered) << out.error;
  EXPECT_EQ(stub.server().count("/cgi-bin/token"), 2u);
  const auto sends = stub.sends();
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_TRUE(sends[0].target.ends_with("access_token=TOKEN-1"));
  EXPECT_TRUE(sends[1].target.ends_with("access_token=TOKEN-2"));
  EXPECT_EQ(sends[0].body, sends[1].body);
}

TEST(WeChatOutbound, TokenRefusedAgainAfterRefreshIsRetry) {
  wechat_stub stub(
      [](const recorded_request&) { return wechat_error(40001, "invalid credential"); });
  wechat_token_cache tokens;
  const auto out = wechat_deliver(reply_to("oUser1"), stub.channel(), tokens, call_timeout);
  EXPECT_EQ(out.status, delivery_status::retry);
  EXPECT_NE(out.error.find("40001"), std::string::npos) << out.error;
  EXPECT_EQ(stub.server().count("/cgi-bin/token"), 2u);
  EXPECT_EQ(stub.sends().size(), 2u);  // resent once, not more
  expect_no_credentials(out);
}

TEST(WeChatOutbound, InvalidOpenidIsPermanent) {
  wechat_stub stub([](const recorded_request&) { return wechat_error(40003, "invalid openid"); });
  wechat_token_cache tokens;
  const auto out = wechat_deliver(reply_to("bad"), stub.channel(), tokens, call_timeout);
  EXPECT_EQ(out.status, delivery_status::permanent);
  EXPECT_NE(out.error.find("errcode 40003: invalid openid"), std::string::npos) << out.error;
  EXPECT_EQ(stub.sends().size(), 1u);
}

TEST(WeChatOutbound, BusyAndThrottledAreRetry) {
  for (int code : {-1, 45009}) {
    wechat_stub stub([code](const recorded_request&) { return wechat_error(code, "busy"); });
    wechat_token_cache tokens;
    const auto out = wechat_deliver(reply_to("oUser1"), stub.channel(), tokens, call_timeout);
    EXPECT_EQ(out.status, delivery_status::retry) << code;
    EXPECT_NE(out.error.find(std::to_string(code)), std::string::npos) << out.error;
    EXPECT_EQ(stub.sends().size(), 1u);
  }
}

TEST(WeChatOutbound, ServerErrorAndMalformedAnswersAreRetry) {
  for (const auto& reply :
       {answer(500, "oops"), answer(200, "<html>"), answer(200, "{}"), answer(200, "[1]")}) {
    wechat_stub stub([reply](const recorded_request&) { return reply; });
    wechat_token_cache tokens;
    const auto out = wechat_deliver(reply_to("oUser1"), stub.channel(), tokens, call_timeout);
    EXPECT_EQ(out.status, delivery_status::retry) << reply.body;
    EXPECT_FALSE(out.error.empty());
    expect_no_credentials(out);
  }
}

TEST(WeChatOutbound, InvalidAppidAtTheTokenEndpointIsPermanent) {
  wechat_stub stub(wechat_ok, [](int) { return wechat_error(40013, "invalid appid"); });
  wechat_token_cache tokens;
  const auto out = wechat_deliver(reply_to("oUser1"), stub.channel(), tokens, call_timeout);
  EXPECT_EQ(out.status, delivery_status::permanent);
  EXPECT_NE(out.error.find("40013"), std::string::npos) << out.error;
  EXPECT_EQ(stub.sends().size(), 0u);
  expect_no_credentials(out);
}

TEST(WeChatOutbound, BusyTokenEndpointIsRetry) {
  wechat_stub stub(wechat_ok, [](int) { return wechat_error(-1, "system error"); });
  wechat_token_cache tokens;
  const auto out = wechat_deliver(reply_to("oUser1"), stub.channel(), tokens, call_timeout);
  EXPECT_EQ(out.status, delivery_status::retry);
  EXPECT_EQ(stub.sends().size(), 0u);
}

TEST(WeChatOutbound, UnreachableApiIsRetry) {
  config::wechat_channel ch;
  ch.app_id = "wxapp1";
  ch.app_secret = app_secret;
  ch.api_base = "http://127.0.0.1:" + std::to_string(closed_port());
  wechat_token_cache tokens;
  const auto out = wechat_deliver(reply_to("oUser1"), ch, tokens, call_timeout);
  EXPECT_EQ(out.status, delivery_status::retry);
  EXPECT_FALSE(out.error.empty());
  expect_no_credentials(out);
}

TEST(WeChatOutbound, CredentialsEchoedByWeChatAreMasked) {
  wechat_stub stub([](const recorded_request&) {
    return wechat_error(40003, std::string("bad TOKEN-1 with ") + app_secret);
  });
  wechat_token_cache tokens;
  const auto out = wechat_deliver(reply_to("oUser1"), stub.channel(), tokens, call_timeout);
  EXPECT_EQ(out.status, delivery_status::permanent);
  EXPECT_NE(out.error.find("bad *** with ***"), std::string::npos) << out.error;
  expect_no_credentials(out);

  wechat_stub token_stub(wechat_ok, [](int) {
    return wechat_error(40125, std::string("invalid appsecret ") + app_secret);
  });
  const auto refused =
      wechat_deliver(reply_to("oUser1"), token_stub.channel(), tokens, call_timeout);
  EXPECT_EQ(refused.status, delivery_status::permanent);
  expect_no_credentials(refused);
}

TEST(WeChatTokenCache, ConcurrentCallersShareOneFetch) {
  wechat_stub stub(wechat_ok, [](int n) {
    std::this_thread::sleep_for(200ms);  // the others arrive while this fetch runs
    return answer(200,
                  R"({"access_token":"TOKEN-)" + std::to_string(n) + R"(","expires_in":7200})");
  });
  wechat_token_cache tokens;
  std::vector<std::string> got(4);
  std::vector<std::thread> callers;
  for (auto& slot : got) {
    callers.emplace_back([&] {
      auto t = tokens.token(stub.channel(), call_timeout);
      if (auto* s = std::get_if<std::string>(&t)) slot = *s;
    });
  }
  for (auto& c : callers) c.join();
  for (const auto& t : got) EXPECT_EQ(t, "TOKEN-1");
  EXPECT_EQ(stub.server().count("/cgi-bin/token"), 1u);
}

TEST(WeChatTokenCache, InvalidateDropsOnlyTheCurrentToken) {
  wechat_stub stub(wechat_ok);
  wechat_token_cache tokens;
  const auto& ch = stub.channel();
  EXPECT_EQ(std::get<std::string>(tokens.token(ch, call_timeout)), "TOKEN-1");
  tokens.invalidate(ch, "TOKEN-0");  // an older token: a concurrent sender's late report
  EXPECT_EQ(std::get<std::string>(tokens.token(ch, call_timeout)), "TOKEN-1");
  tokens.invalidate(ch, "TOKEN-1");
  EXPECT_EQ(std::get<std::string>(tokens.token(ch, call_timeout)), "TOKEN-2");
  EXPECT_EQ(stub.server().count("/cgi-bin/token"), 2u);
}

TEST(WeChatTokenCache, TokenWithinItsLastMinuteIsRefetched) {
  wechat_stub stub(wechat_ok, [](int n) {
    return answer(200, R"({"access_token":"TOKEN-)" + std::to_string(n) + R"(","expires_in":30})");
  });
  wechat_token_cache tokens;
  EXPECT_EQ(std::get<std::string>(tokens.token(stub.channel(), call_timeout)), "TOKEN-1");
  EXPECT_EQ(std::get<std::string>(tokens.token(stub.channel(), call_timeout)), "TOKEN-2");
}

TEST(WeChatTokenCache, OneTokenPerAppId) {
  wechat_stub stub(wechat_ok);
  wechat_token_cache tokens;
  auto other = stub.channel();
  other.app_id = "wxapp2";
  EXPECT_EQ(std::get<std::string>(tokens.token(stub.channel(), call_timeout)), "TOKEN-1");
  EXPECT_EQ(std::get<std::string>(tokens.token(other, call_timeout)), "TOKEN-2");
  EXPECT_EQ(std::get<std::string>(tokens.token(stub.channel(), call_timeout)), "TOKEN-1");
}

// ---- app webhook ------------------------------------------------------------------------

TEST(AppOutbound, SignatureMatchesIndependentVectors) {
  // python3: hmac.new(b'secret', b'{"a":1}', hashlib.sha256).hexdigest()
  EXPECT_EQ(app_signature("secret", R"({"a":1})"),
            "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494");
  // python3: hmac.new(b'', b'', hashlib.sha256).hexdigest()
  EXPECT_EQ(app_signature("", ""),
            "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(AppOutbound, WebhookBodyCarriesTheMessage) {
  const auto msg = reply_to("u42");
  EXPECT_EQ(boost::json::parse(app_webhook_body(msg)), boost::json::parse(R"({
    "id":"e-1","merchant":"m1","user":"u42","conv":"c1","seq":7,"ts":1700000000000,
    "from":"alice","text":"您好, how can I help?","channel":"app"})"));
}

TEST(AppOutbound, DeliverPostsASignedBody) {
  fake_server server([](const recorded_request&) { return answer(200, ""); });
  config::app_channel ch{server.url("/hooks/switchboard"), "whsecret"};
  const auto msg = reply_to("u42");
  const auto out = app_deliver(msg, ch, call_timeout);
  EXPECT_EQ(out.status, delivery_status::delivered) << out.error;
  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/hooks/switchboard");
  EXPECT_EQ(seen[0].body, app_webhook_body(msg));
  EXPECT_EQ(seen[0].header("content-type"), "application/json");
  EXPECT_EQ(seen[0].header("x-switchboard-signature"), app_signature("whsecret", seen[0].body));
  EXPECT_EQ(seen[0].header("x-switchboard-delivery"), "e-1");
}

TEST(AppOutbound, StatusClassification) {
  const std::vector<std::pair<unsigned, delivery_status>> cases = {
      {200, delivery_status::delivered}, {204, delivery_status::delivered},
      {404, delivery_status::permanent}, {400, delivery_status::permanent},
      {301, delivery_status::permanent}, {408, delivery_status::retry},
      {429, delivery_status::retry},     {500, delivery_status::retry},
      {503, delivery_status::retry}};
  for (const auto& [status, expected] : cases) {
    fake_server server([status = status](const recorded_request&) { return answer(status, ""); });
    const auto out = app_deliver(reply_to("u42"), {server.url("/h"), "whsecret"}, call_timeout);
    EXPECT_EQ(out.status, expected) << status;
    if (expected != delivery_status::delivered) {
      EXPECT_EQ(out.error, "webhook answered " + std::to_string(status));
    }
  }
}

TEST(AppOutbound, UnreachableWebhookIsRetryWithoutItsQuery) {
  const config::app_channel ch{
      "http://127.0.0.1:" + std::to_string(closed_port()) + "/h?key=HOOKKEY", "whsecret"};
  const auto out = app_deliver(reply_to("u42"), ch, call_timeout);
  EXPECT_EQ(out.status, delivery_status::retry);
  EXPECT_FALSE(out.error.empty());
  EXPECT_EQ(out.error.find("HOOKKEY"), std::string::npos) << out.error;
  EXPECT_EQ(out.error.find("whsecret"), std::string::npos) << out.error;
}

}  // namespace
}  // namespace sb::channels
