// sbctl's command line: every command, the global options anywhere, the token's sources, and
// each kind of bad usage.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/sbctl/options.hpp"

namespace sb::sbctl {
namespace {

options parse_ok(const std::vector<std::string>& args, const char* env_token = nullptr) {
  auto r = parse_options(args, env_token);
  EXPECT_TRUE(r.options.has_value()) << r.error;
  EXPECT_FALSE(r.help);
  return r.options.value_or(options{});
}

std::string parse_error(const std::vector<std::string>& args) {
  auto r = parse_options(args, nullptr);
  EXPECT_FALSE(r.options.has_value());
  EXPECT_FALSE(r.error.empty());
  return r.error;
}

TEST(SbctlOptions, NodesWithDefaults) {
  auto o = parse_ok({"nodes"});
  EXPECT_EQ(o.command, command::nodes);
  EXPECT_EQ(o.node, "http://127.0.0.1:8080");
  EXPECT_EQ(o.token, "");
  EXPECT_FALSE(o.json);
}

TEST(SbctlOptions, GlobalOptionsBeforeAndAfterTheCommand) {
  auto o = parse_ok({"--node", "http://10.0.0.2:8081/", "nodes", "--json", "--token=t1"});
  EXPECT_EQ(o.node, "http://10.0.0.2:8081");
  EXPECT_EQ(o.token, "t1");
  EXPECT_TRUE(o.json);
  EXPECT_EQ(parse_ok({"--node=https://sb.example:443", "nodes"}).node, "https://sb.example:443");
}

TEST(SbctlOptions, Actors) {
  auto all = parse_ok({"actors"});
  EXPECT_EQ(all.command, command::actors);
  EXPECT_EQ(all.kind, "");
  for (const char* kind : {"merchant", "conversation", "pool", "inbox", "connection", "channels"}) {
    auto o = parse_ok({"actors", "--kind", kind});
    EXPECT_EQ(o.command, command::actors);
    EXPECT_EQ(o.kind, kind);
  }
  EXPECT_EQ(parse_ok({"--kind=pool", "actors"}).kind, "pool");
}

TEST(SbctlOptions, InspectSplitsKindAndId) {
  auto o = parse_ok({"inspect", "merchant/m1"});
  EXPECT_EQ(o.command, command::inspect);
  EXPECT_EQ(o.kind, "merchant");
  EXPECT_EQ(o.target, "m1");
  // Only the first '/' separates: the id keeps the rest.
  auto odd = parse_ok({"inspect", "connection/n1/42"});
  EXPECT_EQ(odd.kind, "connection");
  EXPECT_EQ(odd.target, "n1/42");
}

TEST(SbctlOptions, StreamsAndDrain) {
  auto s = parse_ok({"streams", "orders:m1"});
  EXPECT_EQ(s.command, command::streams);
  EXPECT_EQ(s.target, "orders:m1");
  auto d = parse_ok({"drain", "n2"});
  EXPECT_EQ(d.command, command::drain);
  EXPECT_EQ(d.target, "n2");
}

TEST(SbctlOptions, Replicas) {
  EXPECT_EQ(parse_ok({"replicas"}).command, command::replicas);
  EXPECT_EQ(parse_error({"replicas", "n1"}), "replicas: expected no arguments");
}

TEST(SbctlOptions, TokenFlagWinsOverTheEnvironment) {
  EXPECT_EQ(parse_ok({"nodes"}, "from-env").token, "from-env");
  EXPECT_EQ(parse_ok({"--token", "from-flag", "nodes"}, "from-env").token, "from-flag");
}

TEST(SbctlOptions, Help) {
  EXPECT_TRUE(parse_options({"--help"}, nullptr).help);
  EXPECT_TRUE(parse_options({"nodes", "-h"}, nullptr).help);
}

TEST(SbctlOptions, BadUsage) {
  EXPECT_EQ(parse_error({}), "missing command");
  EXPECT_EQ(parse_error({"status"}), "unknown command 'status'");
  EXPECT_EQ(parse_error({"--verbose", "nodes"}), "unknown option '--verbose'");
  EXPECT_EQ(parse_error({"nodes", "extra"}), "nodes: expected no arguments");
  EXPECT_EQ(parse_error({"nodes", "--node"}), "--node needs a value");
  EXPECT_EQ(parse_error({"--node=", "nodes"}), "--node needs a non-empty value");
  EXPECT_NE(parse_error({"--node", "127.0.0.1:8080", "nodes"}).find("http://"), std::string::npos);
  EXPECT_NE(parse_error({"--node", "http://", "nodes"}).find("no host"), std::string::npos);
  EXPECT_EQ(parse_error({"--json=yes", "nodes"}), "--json takes no value");
  EXPECT_EQ(parse_error({"actors", "--kind", "agent"}), "unknown kind 'agent'");
  EXPECT_EQ(parse_error({"actors", "merchant"}), "actors: expected no arguments besides --kind");
  EXPECT_EQ(parse_error({"nodes", "--kind", "pool"}), "--kind applies only to `actors`");
  EXPECT_EQ(parse_error({"inspect"}), "inspect: expected <kind>/<id>");
  EXPECT_EQ(parse_error({"inspect", "merchant/m1", "x"}), "inspect: expected <kind>/<id>");
  for (const char* bad : {"m1", "merchant/", "/m1"})
    EXPECT_EQ(parse_error({"inspect", bad}),
              std::string("inspect: expected <kind>/<id>, got '") + bad + "'");
  EXPECT_EQ(parse_error({"inspect", "agent/a1"}), "unknown kind 'agent'");
  EXPECT_EQ(parse_error({"streams"}), "streams: expected <stream>");
  EXPECT_EQ(parse_error({"streams", "a", "b"}), "streams: expected <stream>");
  EXPECT_EQ(parse_error({"drain"}), "drain: expected <node-id>");
  EXPECT_EQ(parse_error({"drain", ""}), "drain: empty argument");
}

TEST(SbctlOptions, UsageNamesEveryCommand) {
  const std::string text = usage;
  for (const char* word : {"nodes", "actors [--kind K]", "inspect <kind>/<id>", "streams <stream>",
                           "drain <node-id>", "--node URL", "--token T", "--json"})
    EXPECT_NE(text.find(word), std::string::npos) << word;
}

}  // namespace
}  // namespace sb::sbctl
