// sbctl's admin client against a scripted transport: the URL of each call (stream names and ids
// percent-encoded), the bearer token, and how each kind of answer becomes a result.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <vector>

#include "tools/sbctl/admin_client.hpp"

namespace sb::sbctl {
namespace {

namespace json = boost::json;

TEST(SbctlUrlEncoding, StreamNamesBecomeOnePathSegment) {
  EXPECT_EQ(encode_segment("orders:m1"), "orders%3Am1");
  EXPECT_EQ(encode_segment("conv:c-1_2.x~y"), "conv%3Ac-1_2.x~y");
  EXPECT_EQ(encode_segment("inbox:wx:o6_bmjrPTlm6"), "inbox%3Awx%3Ao6_bmjrPTlm6");
  EXPECT_EQ(encode_segment("a/b?c#d e%f+g&h"), "a%2Fb%3Fc%23d%20e%25f%2Bg%26h");
  EXPECT_EQ(encode_segment("客户"), "%E5%AE%A2%E6%88%B7");
  EXPECT_EQ(encode_segment(""), "");
}

// Records every call and answers each with `reply`.
struct scripted {
  std::vector<http_client::http_call> calls;
  http_client::http_reply reply{200, R"({"ok":true})", ""};

  admin_client client(std::string node = "http://127.0.0.1:8080") {
    return admin_client(std::move(node), [this](const http_client::http_call& call) {
      calls.push_back(call);
      return reply;
    });
  }
};

std::string header(const http_client::http_call& call, const std::string& name) {
  for (const auto& [n, v] : call.headers)
    if (n == name) return v;
  return "<none>";
}

TEST(SbctlAdminClient, EachCallsUrlAndMethod) {
  scripted s;
  auto c = s.client("http://10.0.0.1:8081");
  c.set_token("tok");
  c.nodes();
  c.actors("");
  c.actors("pool");
  c.actor("conversation", "c/1");
  c.stream("orders:m1");
  c.drain("n2");
  ASSERT_EQ(s.calls.size(), 6u);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"GET", "http://10.0.0.1:8081/admin/nodes"},
      {"GET", "http://10.0.0.1:8081/admin/actors"},
      {"GET", "http://10.0.0.1:8081/admin/actors?kind=pool"},
      {"GET", "http://10.0.0.1:8081/admin/actors/conversation/c%2F1"},
      {"GET", "http://10.0.0.1:8081/admin/streams/orders%3Am1"},
      {"POST", "http://10.0.0.1:8081/admin/nodes/n2/drain"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(s.calls[i].method, expected[i].first);
    EXPECT_EQ(s.calls[i].url, expected[i].second);
    EXPECT_EQ(header(s.calls[i], "Authorization"), "Bearer tok");
  }
}

TEST(SbctlAdminClient, DevTokenAsksForAnAdminOfEveryMerchant) {
  scripted s;
  auto c = s.client();
  c.dev_token();
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].method, "POST");
  EXPECT_EQ(s.calls[0].url, "http://127.0.0.1:8080/api/dev/token");
  EXPECT_EQ(json::parse(s.calls[0].body),
            json::parse(R"({"sub":"sbctl","role":"admin","mid":"*"})"));
  EXPECT_EQ(header(s.calls[0], "Authorization"), "<none>");
}

TEST(SbctlAdminClient, SuccessCarriesTheParsedBody) {
  scripted s;
  s.reply = {202, R"({"node":"n2","state":"draining"})", ""};
  auto r = s.client().drain("n2");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.status, 202u);
  EXPECT_EQ(r.body, json::parse(R"({"node":"n2","state":"draining"})"));
}

TEST(SbctlAdminClient, ServerErrorsKeepCodeAndMessage) {
  scripted s;
  s.reply = {503, R"({"error":"owner_unavailable","message":"partition 3 has no owner"})", ""};
  auto r = s.client().stream("orders:m1");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.error, "owner_unavailable: partition 3 has no owner");
  s.reply = {404, R"({"error":"not_found"})", ""};
  EXPECT_EQ(s.client().actor("merchant", "zz").error, "not_found");
}

TEST(SbctlAdminClient, AnswersThatAreNotTheContractsShape) {
  scripted s;
  s.reply = {502, "<html>Bad Gateway</html>\r\nmore", ""};
  auto r = s.client().nodes();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "GET /admin/nodes: error: <html>Bad Gateway</html>");
  s.reply = {200, "not json", ""};
  EXPECT_EQ(s.client().nodes().error, "GET /admin/nodes: answer is not JSON: not json");
  s.reply = {500, R"({"oops":1})", ""};
  EXPECT_EQ(s.client().nodes().error, R"(GET /admin/nodes: {"oops":1})");
}

TEST(SbctlAdminClient, NoAnswerAtAll) {
  scripted s;
  s.reply = {0, "", "http://127.0.0.1:8080/admin/nodes: connect: Connection refused"};
  auto r = s.client().nodes();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 0u);
  EXPECT_EQ(r.error, "http://127.0.0.1:8080/admin/nodes: connect: Connection refused");
}

}  // namespace
}  // namespace sb::sbctl
