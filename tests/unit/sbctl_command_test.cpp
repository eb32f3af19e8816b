// sbctl's commands end to end against a scripted transport: where the token comes from, exit
// codes, --json output, and the one-line error on stderr.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <deque>
#include <sstream>
#include <vector>

#include "tools/sbctl/command.hpp"

namespace sb::sbctl {
namespace {

namespace json = boost::json;

struct session {
  std::deque<http_client::http_reply> replies;  // answered in order
  std::vector<http_client::http_call> calls;
  std::ostringstream out, err;

  int run(const std::vector<std::string>& args, const char* env_token = nullptr) {
    auto parsed = parse_options(args, env_token);
    EXPECT_TRUE(parsed.options) << parsed.error;
    admin_client client(parsed.options->node, [this](const http_client::http_call& call) {
      calls.push_back(call);
      EXPECT_FALSE(replies.empty()) << "unexpected call " << call.url;
      if (replies.empty()) return http_client::http_reply{};
      auto r = replies.front();
      replies.pop_front();
      return r;
    });
    return run_command(*parsed.options, client, out, err);
  }
};

std::string authorization(const http_client::http_call& call) {
  for (const auto& [n, v] : call.headers)
    if (n == "Authorization") return v;
  return {};
}

constexpr const char* nodes_answer =
    R"({"nodes":[{"id":"n1","address":"127.0.0.1:8081","state":"up","partitions":64,)"
    R"("connections":0,"owners":0}],"partition_count":64,"controller":"n1","self":"n1"})";

TEST(SbctlCommand, GivenTokenIsUsedWithoutAskingTheNode) {
  session s;
  s.replies = {{200, nodes_answer, ""}};
  EXPECT_EQ(s.run({"--token", "T", "nodes"}), exit_ok);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(authorization(s.calls[0]), "Bearer T");
  EXPECT_EQ(s.err.str(), "");
  EXPECT_EQ(s.out.str().substr(0, 3), "ID ");
}

TEST(SbctlCommand, EnvironmentTokenIsUsed) {
  session s;
  s.replies = {{200, nodes_answer, ""}};
  EXPECT_EQ(s.run({"nodes"}, "E"), exit_ok);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(authorization(s.calls[0]), "Bearer E");
}

TEST(SbctlCommand, DevModeTokenIsFetchedFirst) {
  session s;
  s.replies = {{200, R"({"token":"minted"})", ""}, {200, nodes_answer, ""}};
  EXPECT_EQ(s.run({"nodes"}), exit_ok);
  ASSERT_EQ(s.calls.size(), 2u);
  EXPECT_EQ(s.calls[0].url, "http://127.0.0.1:8080/api/dev/token");
  EXPECT_EQ(authorization(s.calls[1]), "Bearer minted");
}

TEST(SbctlCommand, NoDevModeMeansNoTokenAndExitTwo) {
  session s;
  s.replies = {{404, R"({"error":"not_found","message":"no such endpoint"})", ""}};
  EXPECT_EQ(s.run({"nodes"}), exit_usage);
  EXPECT_EQ(s.err.str(), "sbctl: no token: pass --token or set SBCTL_TOKEN\n");
  EXPECT_EQ(s.out.str(), "");
}

TEST(SbctlCommand, UnreachableNodeExitsOne) {
  session s;
  s.replies = {{0, "", "http://127.0.0.1:8080/api/dev/token: connect: Connection refused"}};
  EXPECT_EQ(s.run({"nodes"}), exit_failed);
  EXPECT_EQ(s.err.str(),
            "sbctl: http://127.0.0.1:8080/api/dev/token: connect: Connection refused\n");
}

TEST(SbctlCommand, ServerErrorIsOneLineOnStderrAndExitsOne) {
  session s;
  s.replies = {{503, R"({"error":"owner_unavailable","message":"node n2\nis down"})", ""}};
  EXPECT_EQ(s.run({"--token", "T", "streams", "orders:m1"}), exit_failed);
  EXPECT_EQ(s.err.str(), "sbctl: owner_unavailable: node n2?is down (HTTP 503)\n");
  EXPECT_EQ(s.out.str(), "");
}

TEST(SbctlCommand, JsonPrintsTheServersDocument) {
  session s;
  s.replies = {{200, std::string(nodes_answer) + "\n\n", ""}};
  EXPECT_EQ(s.run({"--token", "T", "--json", "nodes"}), exit_ok);
  EXPECT_EQ(json::parse(s.out.str()), json::parse(nodes_answer));
  EXPECT_EQ(s.out.str().find('\n'), s.out.str().size() - 1);  // one line, one document
}

TEST(SbctlCommand, EachCommandRendersItsAnswer) {
  session s;
  s.replies = {{200, R"({"actors":[{"kind":"pool","id":"m1","node":"n1","mailbox":0}]})", ""},
               {200, R"({"stream":"orders:m1","owner":"n1","seq":9,"principals":[]})", ""},
               {200, R"({"stream":"orders:m1","owner":"n1","seq":9})", ""},
               {202, R"({"node":"n2","state":"draining"})", ""},
               {200, R"({"replication_factor":1,"under_replicated":0,"partitions":[]})", ""}};
  EXPECT_EQ(s.run({"--token=T", "actors", "--kind", "pool"}), exit_ok);
  EXPECT_EQ(s.run({"--token=T", "inspect", "merchant/m1"}), exit_ok);
  EXPECT_EQ(s.run({"--token=T", "streams", "orders:m1"}), exit_ok);
  EXPECT_EQ(s.run({"--token=T", "drain", "n2"}), exit_ok);
  EXPECT_EQ(s.run({"--token=T", "replicas"}), exit_ok);
  EXPECT_EQ(s.out.str(),
            "KIND  ID  NODE  MAILBOX\n"
            "pool  m1  n1    0\n"
            "stream: orders:m1\nowner: n1\nseq: 9\n\nprincipals:\nPRINCIPAL  ACKED  UNACKED\n"
            "stream: orders:m1\nowner: n1\nseq: 9\n"
            "draining n2\n"
            "PARTITION  OWNER  EPOCH  REPLICAS  LIVE  UNDER  BACKUPS\n"
            "\n"
            "replication_factor: 1\n"
            "under_replicated: 0\n");
  EXPECT_EQ(s.calls[0].url, "http://127.0.0.1:8080/admin/actors?kind=pool");
  EXPECT_EQ(s.calls[4].url, "http://127.0.0.1:8080/admin/replication");
  EXPECT_EQ(s.calls[3].method, "POST");
}

}  // namespace
}  // namespace sb::sbctl
