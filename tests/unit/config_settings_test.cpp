#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace sb::config {
namespace {

using namespace std::chrono_literals;

// A config file in a fresh temp directory, removed with the fixture.
class ConfigFile : public ::testing::Test {
 protected:
  ConfigFile() {
    char pattern[] = "/tmp/sb-config-test-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~ConfigFile() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& text, const std::string& name = "switchboard.conf") {
    auto path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

// argv for from_command_line; the strings live as long as this object.
class args {
 public:
  args(std::initializer_list<std::string> items) : items_(items) {
    ptrs_.push_back(const_cast<char*>("switchboard"));
    for (auto& item : items_) ptrs_.push_back(item.data());
    ptrs_.push_back(nullptr);
  }
  args(const args&) = delete;
  args& operator=(const args&) = delete;
  int argc() const { return static_cast<int>(ptrs_.size()) - 1; }
  char** argv() { return ptrs_.data(); }

 private:
  std::vector<std::string> items_;
  std::vector<char*> ptrs_;
};

std::string parse(args&& a, settings& s) {
  return from_command_line(a.argc(), a.argv(), s);
}

TEST(ConfigDefaults, ValidateAndAreDevModeOnLoopback) {
  const auto s = defaults();
  EXPECT_EQ(validate(s), "");
  EXPECT_TRUE(s.node.dev_mode);
  EXPECT_EQ(s.node.listen_host, "127.0.0.1");
  EXPECT_EQ(s.node.listen_port, 8080);
  EXPECT_EQ(s.node.data_dir, "./data");
  EXPECT_TRUE(s.storage.sync);
}

TEST_F(ConfigFile, SectionsCommentsAndValuesAreApplied) {
  auto path = write(R"(# Switchboard test configuration
; a comment in the other style

[node]
id = edge-1
  listen   =   127.0.0.1:9090
data_dir = /var/lib/switchboard
dev_mode = off
io_threads = 4

[cluster]
etcd = http://10.0.0.2:2379, http://10.0.0.3:2379
listen = 10.0.0.1:9100

[auth]
# the value keeps everything after the first '='
secret = 0123456789abcdef0123456789abcdef=#x
service_keys = m1:key-for-m1-00001,*:key-for-all-00001
dev_token_ttl = 2h

[limits]
max_body = 2MiB
max_frame = 64KiB
principal_rate = 12.5

[delivery]
ack_timeout = 250ms
max_unacked = 64
tail_cache = 8

[storage]
sync = false
idempotency_ttl = 5m
)");
  auto s = defaults();
  ASSERT_EQ(load_file(path, s), "");
  EXPECT_EQ(s.node.id, "edge-1");
  EXPECT_EQ(s.node.listen_host, "127.0.0.1");
  EXPECT_EQ(s.node.listen_port, 9090);
  EXPECT_EQ(s.node.data_dir, "/var/lib/switchboard");
  EXPECT_FALSE(s.node.dev_mode);
  EXPECT_EQ(s.node.io_threads, 4u);
  EXPECT_EQ(s.cluster.etcd,
            (std::vector<std::string>{"http://10.0.0.2:2379", "http://10.0.0.3:2379"}));
  EXPECT_EQ(s.cluster.listen_host, "10.0.0.1");
  EXPECT_EQ(s.cluster.listen_port, 9100);
  EXPECT_EQ(s.auth.secret, "0123456789abcdef0123456789abcdef=#x");
  ASSERT_EQ(s.auth.service_keys.size(), 2u);
  EXPECT_EQ(s.auth.service_keys[0].merchant, "m1");
  EXPECT_EQ(s.auth.service_keys[0].key, "key-for-m1-00001");
  EXPECT_EQ(s.auth.service_keys[1].merchant, "*");
  EXPECT_EQ(s.auth.dev_token_ttl, 2h);
  EXPECT_EQ(s.limits.max_body, 2u << 20);
  EXPECT_EQ(s.limits.max_frame, 64u << 10);
  EXPECT_DOUBLE_EQ(s.limits.principal_rate, 12.5);
  EXPECT_EQ(s.delivery.ack_timeout, 250ms);
  EXPECT_EQ(s.delivery.max_unacked, 64u);
  EXPECT_EQ(s.delivery.tail_cache, 8u);
  EXPECT_FALSE(s.storage.sync);
  EXPECT_EQ(s.storage.idempotency_ttl, 5min);
  EXPECT_EQ(validate(s), "");
}

TEST_F(ConfigFile, DottedKeysWorkOutsideSections) {
  auto path = write("node.id = top\ndelivery.replay_batch = 7\n");
  auto s = defaults();
  ASSERT_EQ(load_file(path, s), "");
  EXPECT_EQ(s.node.id, "top");
  EXPECT_EQ(s.delivery.replay_batch, 7u);
}

TEST_F(ConfigFile, UnknownKeyNamesFileLineAndKey) {
  auto path = write("[node]\nid = a\n\n# comment\nlisten_addr = 127.0.0.1:1\n");
  auto s = defaults();
  auto err = load_file(path, s);
  EXPECT_NE(err.find(path + ":5:"), std::string::npos) << err;
  EXPECT_NE(err.find("node.listen_addr"), std::string::npos) << err;
}

TEST_F(ConfigFile, BadValueNamesFileLineAndKey) {
  auto path = write("[delivery]\nack_timeout = soon\n");
  auto s = defaults();
  auto err = load_file(path, s);
  EXPECT_NE(err.find(path + ":2:"), std::string::npos) << err;
  EXPECT_NE(err.find("delivery.ack_timeout"), std::string::npos) << err;
}

TEST_F(ConfigFile, MalformedLinesAreErrors) {
  auto s = defaults();
  auto err = load_file(write("[node\nid = a\n"), s);
  EXPECT_NE(err.find(":1:"), std::string::npos) << err;
  err = load_file(write("[node]\njust words\n"), s);
  EXPECT_NE(err.find(":2:"), std::string::npos) << err;
  err = load_file(dir_ + "/missing.conf", s);
  EXPECT_NE(err.find("missing.conf"), std::string::npos) << err;
}

TEST(ConfigDefaults, DevModeWithoutAgentsSeedsTheDemoAgentOnly) {
  auto dev = defaults();
  seed_dev_demo(dev);
  ASSERT_EQ(dev.chat.agents.size(), 1u);
  EXPECT_EQ(dev.chat.agents[0].merchant, "demo");
  EXPECT_EQ(dev.chat.agents[0].id, "a1");
  EXPECT_EQ(validate(dev), "");

  auto configured = defaults();
  ASSERT_EQ(set_key(configured, "chat.agents", "m1:alice:2:9"), "");
  seed_dev_demo(configured);
  ASSERT_EQ(configured.chat.agents.size(), 1u);
  EXPECT_EQ(configured.chat.agents[0].id, "alice");

  auto production = defaults();
  production.node.dev_mode = false;
  seed_dev_demo(production);
  EXPECT_TRUE(production.chat.agents.empty());
}

TEST(ConfigValues, SizesDurationsAndBoolsParse) {
  auto s = defaults();
  ASSERT_EQ(set_key(s, "limits.max_body", "1048576"), "");
  EXPECT_EQ(s.limits.max_body, 1048576u);
  ASSERT_EQ(set_key(s, "limits.max_body", "3KiB"), "");
  EXPECT_EQ(s.limits.max_body, 3072u);
  ASSERT_EQ(set_key(s, "limits.max_outbound_bytes", "1GiB"), "");
  EXPECT_EQ(s.limits.max_outbound_bytes, size_t{1} << 30);
  ASSERT_EQ(set_key(s, "delivery.ack_timeout", "10s"), "");
  EXPECT_EQ(s.delivery.ack_timeout, 10s);
  ASSERT_EQ(set_key(s, "delivery.ack_timeout", "2m"), "");
  EXPECT_EQ(s.delivery.ack_timeout, 2min);
  ASSERT_EQ(set_key(s, "storage.idempotency_ttl", "24h"), "");
  EXPECT_EQ(s.storage.idempotency_ttl, 24h);
  ASSERT_EQ(set_key(s, "limits.max_poll_timeout", "2000ms"), "");
  EXPECT_EQ(s.limits.max_poll_timeout, 2s);
  for (const char* v : {"true", "on", "yes", "1"}) {
    s.storage.sync = false;
    ASSERT_EQ(set_key(s, "storage.sync", v), "") << v;
    EXPECT_TRUE(s.storage.sync) << v;
  }
  for (const char* v : {"false", "off", "no", "0"}) {
    s.storage.sync = true;
    ASSERT_EQ(set_key(s, "storage.sync", v), "") << v;
    EXPECT_FALSE(s.storage.sync) << v;
  }
}

TEST(ConfigValues, HostPortParses) {
  auto s = defaults();
  ASSERT_EQ(set_key(s, "node.listen", "0.0.0.0:0"), "");
  EXPECT_EQ(s.node.listen_host, "0.0.0.0");
  EXPECT_EQ(s.node.listen_port, 0);
  ASSERT_EQ(set_key(s, "node.listen", "[::1]:8443"), "");
  EXPECT_EQ(s.node.listen_host, "::1");
  EXPECT_EQ(s.node.listen_port, 8443);
}

TEST(ConfigValues, BadValuesAreRefusedAndLeaveTheSettingAlone) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"limits.max_body", "12XB"},
      {"limits.max_body", "-1"},
      {"limits.max_body", "1.5MiB"},
      {"limits.max_body", "KiB"},
      {"limits.max_body", ""},
      {"limits.max_body", "99999999999999GiB"},  // overflows size_t
      {"delivery.ack_timeout", "10"},
      {"delivery.ack_timeout", "10 s"},
      {"delivery.ack_timeout", "-5s"},
      {"delivery.ack_timeout", "5d"},
      {"delivery.ack_timeout", "ms"},
      {"delivery.ack_timeout", "9999999999999999h"},  // overflows int64 milliseconds
      {"limits.max_poll_timeout", "1500ms"},          // whole seconds only
      {"node.dev_mode", "maybe"},
      {"storage.sync", "TRUE "},
      {"node.listen", "8080"},
      {"node.listen", ":8080"},
      {"node.listen", "127.0.0.1:"},
      {"node.listen", "127.0.0.1:70000"},
      {"node.listen", "127.0.0.1:http"},
      {"node.listen", "[::1:80"},
      {"limits.principal_rate", "nan"},
      {"limits.principal_rate", "inf"},
      {"limits.max_json_depth", "sixteen"},
      {"auth.service_keys", "m1key"},
      {"auth.service_keys", ":key"},
      {"node.id", ""},
  };
  for (const auto& [key, value] : bad) {
    auto s = defaults();
    const auto before = defaults();
    auto err = set_key(s, key, value);
    EXPECT_NE(err.find(key), std::string::npos) << key << " = '" << value << "': " << err;
    EXPECT_EQ(s.node.listen_host, before.node.listen_host) << key << " = " << value;
    EXPECT_EQ(s.node.listen_port, before.node.listen_port) << key << " = " << value;
    EXPECT_EQ(s.limits.max_body, before.limits.max_body) << key << " = " << value;
    EXPECT_EQ(s.delivery.ack_timeout, before.delivery.ack_timeout) << key << " = " << value;
  }
}

TEST(ConfigValues, UnknownKeyIsNamed) {
  auto s = defaults();
  auto err = set_key(s, "node.colour", "blue");
  EXPECT_NE(err.find("unknown key"), std::string::npos) << err;
  EXPECT_NE(err.find("node.colour"), std::string::npos) << err;
}

TEST_F(ConfigFile, CommandLineFlagsOverrideTheFile) {
  auto path = write(R"([node]
id = from-file
listen = 127.0.0.1:1000
data_dir = /from/file
[cluster]
etcd = http://127.0.0.1:2000
[delivery]
max_unacked = 11
tail_cache = 12
)");
  auto s = defaults();
  // The file is applied first wherever --config appears.
  ASSERT_EQ(parse({"--node-id", "from-flag", "--listen=127.0.0.1:0", "--config", path, "--data-dir",
                   "/from/flag", "--etcd", "http://127.0.0.1:3000,http://127.0.0.1:3001",
                   "--cluster-listen", "127.0.0.1:9300", "--replication-factor", "2", "--set",
                   "delivery.max_unacked=21", "--set=storage.sync=off"},
                  s),
            "");
  EXPECT_EQ(s.node.id, "from-flag");
  EXPECT_EQ(s.node.listen_host, "127.0.0.1");
  EXPECT_EQ(s.node.listen_port, 0);
  EXPECT_EQ(s.node.data_dir, "/from/flag");
  EXPECT_EQ(s.cluster.etcd,
            (std::vector<std::string>{"http://127.0.0.1:3000", "http://127.0.0.1:3001"}));
  EXPECT_EQ(s.cluster.listen_port, 9300);
  EXPECT_EQ(s.cluster.replication_factor, 2u);
  EXPECT_EQ(s.delivery.max_unacked, 21u);
  EXPECT_EQ(s.delivery.tail_cache, 12u);  // from the file, not overridden
  EXPECT_FALSE(s.storage.sync);
}

TEST_F(ConfigFile, CommandLineErrorsAreReported) {
  auto s = defaults();
  EXPECT_NE(parse({"--verbose", "1"}, s).find("--verbose"), std::string::npos);
  EXPECT_NE(parse({"--node-id"}, s).find("missing value"), std::string::npos);
  EXPECT_NE(parse({"--set", "delivery.max_unacked"}, s).find("key=value"), std::string::npos);
  auto err = parse({"--set", "delivery.max_unackd=3"}, s);
  EXPECT_NE(err.find("delivery.max_unackd"), std::string::npos) << err;
  err = parse({"--listen", "localhost"}, s);
  EXPECT_NE(err.find("--listen"), std::string::npos) << err;
  err = parse({"--config", dir_ + "/missing.conf"}, s);
  EXPECT_NE(err.find("missing.conf"), std::string::npos) << err;
  auto bad_file = write("[node]\nnope = 1\n", "bad.conf");
  err = parse({"--config", bad_file}, s);
  EXPECT_NE(err.find(bad_file + ":2:"), std::string::npos) << err;
}

TEST(ConfigValidate, DevModeOnlyOnLoopback) {
  for (const char* host : {"127.0.0.1", "127.0.0.2", "::1", "localhost", "::ffff:127.0.0.1"}) {
    auto s = defaults();
    s.node.listen_host = host;
    EXPECT_EQ(validate(s), "") << host;
  }
  for (const char* host :
       {"0.0.0.0", "10.0.0.1", "::", "192.168.1.10", "127.attacker.example", "1270.0.0.1", "::2"}) {
    auto s = defaults();
    s.node.listen_host = host;
    auto err = validate(s);
    EXPECT_NE(err.find("dev_mode"), std::string::npos) << host << ": " << err;
  }
}

TEST(ConfigValidate, DevModeOffOnAnyAddressWithAStrongSecret) {
  auto s = defaults();
  ASSERT_EQ(set_key(s, "node.dev_mode", "off"), "");
  ASSERT_EQ(set_key(s, "node.listen", "0.0.0.0:8080"), "");
  s.auth.secret = std::string(32, 's');
  EXPECT_EQ(validate(s), "");
}

TEST(ConfigValidate, ShortSecretOutsideDevModeIsRefused) {
  auto s = defaults();
  s.node.dev_mode = false;
  s.auth.secret = std::string(31, 's');
  EXPECT_NE(validate(s).find("auth.secret"), std::string::npos);
  s.auth.secret.clear();
  EXPECT_NE(validate(s).find("auth.secret"), std::string::npos);
  s.node.dev_mode = true;  // the development secret applies in dev mode
  EXPECT_EQ(validate(s), "");
}

TEST(ConfigValidate, ShortServiceKeyOutsideDevModeIsRefused) {
  auto s = defaults();
  s.node.dev_mode = false;
  s.auth.secret = std::string(32, 's');
  s.auth.service_keys = {{"m1", "short"}};
  EXPECT_NE(validate(s).find("auth.service_keys"), std::string::npos);
  s.auth.service_keys = {{"m1", std::string(16, 'k')}};
  EXPECT_EQ(validate(s), "");
}

TEST(ConfigValidate, OutOfRangeSettingsAreNamed) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"node.io_threads", "0"},
      {"node.io_threads", "65"},
      {"limits.max_body", "100"},
      {"limits.max_frame", "1000"},
      {"limits.max_json_depth", "1"},
      {"delivery.ack_timeout", "10ms"},
      {"delivery.replay_batch", "0"},
      {"delivery.max_unacked", "0"},
      {"delivery.owner_idle_stop", "0s"},
      {"delivery.owner_idle_stop", "2h"},
      {"limits.max_poll_timeout", "0s"},
      {"limits.principal_burst", "0.5"},
      {"limits.ip_burst", "0"},
      {"cluster.replication_factor", "0"},
      {"cluster.replication_factor", "6"},
      {"cluster.suspect_after", "50ms"},
      {"cluster.probe_interval", "5ms"},
      {"cluster.unresponsive_after", "100ms"},
      {"cluster.replace_after", "0s"},
  };
  for (const auto& [key, value] : bad) {
    auto s = defaults();
    ASSERT_EQ(set_key(s, key, value), "") << key;
    auto err = validate(s);
    EXPECT_NE(err.find(key), std::string::npos) << key << " = " << value << ": " << err;
  }
}

}  // namespace
}  // namespace sb::config

namespace sb::config {
namespace {

TEST_F(ConfigFile, ChannelSectionsConfigureEachMerchant) {
  auto path = write(R"(
[channels]
wechat_max_age = 60s
[channel.wechat.m1]
token = tok
app_id = wx123
app_secret = s3cret
api_base = http://127.0.0.1:9999
greeting = Hello
[channel.app.m2]
webhook_url = https://app.example/hook
secret = 0123456789abcdef
[outbox]
retry_base = 100ms
retry_max = 2s
senders = 3
)");
  auto s = defaults();
  ASSERT_EQ(load_file(path, s), "");
  EXPECT_EQ(s.channels.wechat_max_age, 60s);
  ASSERT_TRUE(s.channels.merchants.at("m1").wechat);
  EXPECT_EQ(s.channels.merchants.at("m1").wechat->token, "tok");
  EXPECT_EQ(s.channels.merchants.at("m1").wechat->api_base, "http://127.0.0.1:9999");
  EXPECT_EQ(s.channels.merchants.at("m1").wechat->greeting, "Hello");
  EXPECT_FALSE(s.channels.merchants.at("m1").app);
  ASSERT_TRUE(s.channels.merchants.at("m2").app);
  EXPECT_EQ(s.channels.merchants.at("m2").app->secret, "0123456789abcdef");
  EXPECT_EQ(s.outbox.retry_base, 100ms);
  EXPECT_EQ(s.outbox.senders, 3u);
  EXPECT_EQ(validate(s), "");
}

TEST(ConfigChannels, UnknownChannelsAndFieldsAreNamed) {
  auto s = defaults();
  EXPECT_NE(set_key(s, "channel.sms.m1.token", "x").find("unknown channel 'sms'"),
            std::string::npos);
  EXPECT_NE(set_key(s, "channel.wechat.m1.colour", "x").find("unknown key"), std::string::npos);
  EXPECT_NE(set_key(s, "channel.wechat.token", "x").find("unknown key"), std::string::npos);
}

TEST(ConfigChannels, IncompleteOrWeakChannelSettingsFailValidation) {
  auto s = defaults();
  ASSERT_EQ(set_key(s, "channel.wechat.m1.token", "tok"), "");
  EXPECT_NE(validate(s).find("app_id and app_secret"), std::string::npos);
  ASSERT_EQ(set_key(s, "channel.wechat.m1.app_id", "a"), "");
  ASSERT_EQ(set_key(s, "channel.wechat.m1.app_secret", "b"), "");
  EXPECT_EQ(validate(s), "");
  ASSERT_EQ(set_key(s, "channel.wechat.m1.api_base", "ftp://x"), "");
  EXPECT_NE(validate(s).find("api_base"), std::string::npos);
  auto t = defaults();
  ASSERT_EQ(set_key(t, "channel.app.m1.webhook_url", "http://127.0.0.1/hook"), "");
  ASSERT_EQ(set_key(t, "channel.app.m1.secret", "short"), "");
  EXPECT_NE(validate(t).find("secret must be at least 16 bytes"), std::string::npos);
}

TEST(ConfigChannels, OutboxLimitsAreChecked) {
  auto s = defaults();
  ASSERT_EQ(set_key(s, "outbox.retry_base", "5s"), "");
  ASSERT_EQ(set_key(s, "outbox.retry_max", "1s"), "");
  EXPECT_NE(validate(s).find("outbox.retry_max"), std::string::npos);
  auto t = defaults();
  ASSERT_EQ(set_key(t, "outbox.senders", "0"), "");
  EXPECT_NE(validate(t).find("outbox.senders"), std::string::npos);
}

}  // namespace
}  // namespace sb::config
