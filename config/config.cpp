#include "config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <type_traits>

#include "base/ids.hpp"

namespace sb::config {

namespace {

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

bool parse_bool(const std::string& v, bool& out) {
  if (v == "true" || v == "on" || v == "yes" || v == "1") return out = true, true;
  if (v == "false" || v == "off" || v == "no" || v == "0") return out = false, true;
  return false;
}

template <class T>
bool parse_number(const std::string& v, T& out) {
  T parsed{};
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
  if (ec != std::errc{} || end != v.data() + v.size()) return false;
  if constexpr (std::is_floating_point_v<T>)
    if (!std::isfinite(parsed)) return false;  // from_chars accepts "inf" and "nan"
  out = parsed;
  return true;
}

// Sizes: "1048576", "64KiB", "1MiB", "2GiB".
bool parse_size(const std::string& v, size_t& out) {
  size_t mult = 1;
  std::string digits = v;
  for (auto [suffix, m] : {std::pair{"KiB", size_t{1} << 10}, std::pair{"MiB", size_t{1} << 20},
                           std::pair{"GiB", size_t{1} << 30}})
    if (v.size() > 3 && v.ends_with(suffix)) {
      mult = m;
      digits = v.substr(0, v.size() - 3);
    }
  size_t n = 0;
  if (!parse_number(digits, n) || n > std::numeric_limits<size_t>::max() / mult) return false;
  out = n * mult;
  return true;
}

// Durations: "250ms", "10s", "5m", "24h".
bool parse_millis(const std::string& v, std::chrono::milliseconds& out) {
  int64_t n = 0;
  for (auto [suffix, m] :
       {std::pair{"ms", 1}, std::pair{"s", 1000}, std::pair{"m", 60000}, std::pair{"h", 3600000}}) {
    if (v.size() > std::string_view(suffix).size() && v.ends_with(suffix) &&
        parse_number(v.substr(0, v.size() - std::string_view(suffix).size()), n)) {
      if (n < 0 || n > std::numeric_limits<int64_t>::max() / m) return false;
      out = std::chrono::milliseconds(n * m);
      return true;
    }
  }
  return false;
}

bool parse_seconds(const std::string& v, std::chrono::seconds& out) {
  std::chrono::milliseconds ms;
  if (!parse_millis(v, ms) || ms.count() % 1000 != 0) return false;
  out = std::chrono::duration_cast<std::chrono::seconds>(ms);
  return true;
}

std::vector<std::string> split(const std::string& v, char sep) {
  std::vector<std::string> out;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, sep);)
    if (auto t = trim(item); !t.empty()) out.push_back(t);
  return out;
}

// "127.0.0.1:8080", "[::1]:8080" (brackets are removed: the host must be a bare address).
bool parse_host_port(const std::string& v, std::string& host, uint16_t& port) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = v.substr(0, colon);
  if (h.front() == '[' || h.back() == ']') {
    if (h.size() < 3 || h.front() != '[' || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  uint16_t p = 0;
  if (!parse_number(v.substr(colon + 1), p)) return false;
  host = std::move(h);
  port = p;
  return true;
}

// "m1:key1,*:key2"
bool parse_service_keys(const std::string& v, std::vector<service_key>& out) {
  out.clear();
  for (const auto& item : split(v, ',')) {
    auto colon = item.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) return false;
    out.push_back({item.substr(0, colon), item.substr(colon + 1)});
  }
  return true;
}

// "m1:alice:3:10,m1:bob:1:5" (merchant:agent:weight:max_concurrent)
bool parse_agents(const std::string& v, std::vector<settings::chat_t::agent>& out) {
  std::vector<settings::chat_t::agent> parsed;
  for (const auto& item : split(v, ',')) {
    auto fields = split(item, ':');
    settings::chat_t::agent a;
    if (fields.size() != 4 || !parse_number(fields[2], a.weight) ||
        !parse_number(fields[3], a.max_concurrent) || a.weight == 0 || a.max_concurrent == 0)
      return false;
    a.merchant = fields[0];
    a.id = fields[1];
    parsed.push_back(std::move(a));
  }
  out = std::move(parsed);
  return true;
}

bool known_strategy(const std::string& v) {
  return parse_routing_strategy(v).has_value();
}

// "m2:round_robin,m3:weighted_least_load"
bool parse_strategies(const std::string& v, std::vector<std::pair<std::string, std::string>>& out) {
  std::vector<std::pair<std::string, std::string>> parsed;
  for (const auto& item : split(v, ',')) {
    auto colon = item.find(':');
    if (colon == std::string::npos || colon == 0 || !known_strategy(item.substr(colon + 1)))
      return false;
    parsed.emplace_back(item.substr(0, colon), item.substr(colon + 1));
  }
  out = std::move(parsed);
  return true;
}

using setter = std::function<bool(settings&, const std::string&)>;

const std::map<std::string, setter>& setters() {
  static const std::map<std::string, setter> table{
      {"node.id", [](settings& s, const std::string& v) { return !(s.node.id = v).empty(); }},
      {"node.listen",
       [](settings& s, const std::string& v) {
         return parse_host_port(v, s.node.listen_host, s.node.listen_port);
       }},
      {"node.data_dir",
       [](settings& s, const std::string& v) { return !(s.node.data_dir = v).empty(); }},
      {"node.dev_mode",
       [](settings& s, const std::string& v) { return parse_bool(v, s.node.dev_mode); }},
      {"node.io_threads",
       [](settings& s, const std::string& v) { return parse_number(v, s.node.io_threads); }},
      {"node.actor_threads",
       [](settings& s, const std::string& v) { return parse_number(v, s.node.actor_threads); }},
      {"cluster.etcd",
       [](settings& s, const std::string& v) { return (s.cluster.etcd = split(v, ',')), true; }},
      {"cluster.listen",
       [](settings& s, const std::string& v) {
         return parse_host_port(v, s.cluster.listen_host, s.cluster.listen_port);
       }},
      {"cluster.prefix",
       [](settings& s, const std::string& v) {
         return v.starts_with("/") && !v.ends_with("/") && (s.cluster.prefix = v, true);
       }},
      {"cluster.lease_ttl",
       [](settings& s, const std::string& v) { return parse_seconds(v, s.cluster.lease_ttl); }},
      {"cluster.heartbeat",
       [](settings& s, const std::string& v) { return parse_millis(v, s.cluster.heartbeat); }},
      {"cluster.connection_timeout",
       [](settings& s, const std::string& v) {
         return parse_millis(v, s.cluster.connection_timeout);
       }},
      {"cluster.moves_in_flight",
       [](settings& s, const std::string& v) {
         return parse_number(v, s.cluster.moves_in_flight);
       }},
      {"cluster.replication_factor",
       [](settings& s, const std::string& v) {
         return parse_number(v, s.cluster.replication_factor);
       }},
      {"cluster.suspect_after",
       [](settings& s, const std::string& v) { return parse_millis(v, s.cluster.suspect_after); }},
      {"cluster.probe_interval",
       [](settings& s, const std::string& v) { return parse_millis(v, s.cluster.probe_interval); }},
      {"cluster.unresponsive_after",
       [](settings& s, const std::string& v) {
         return parse_millis(v, s.cluster.unresponsive_after);
       }},
      {"cluster.replace_after",
       [](settings& s, const std::string& v) { return parse_seconds(v, s.cluster.replace_after); }},
      {"auth.secret", [](settings& s, const std::string& v) { return (s.auth.secret = v), true; }},
      {"auth.service_keys",
       [](settings& s, const std::string& v) {
         return parse_service_keys(v, s.auth.service_keys);
       }},
      {"auth.dev_token_ttl",
       [](settings& s, const std::string& v) { return parse_seconds(v, s.auth.dev_token_ttl); }},
      {"limits.max_body",
       [](settings& s, const std::string& v) { return parse_size(v, s.limits.max_body); }},
      {"limits.max_frame",
       [](settings& s, const std::string& v) { return parse_size(v, s.limits.max_frame); }},
      {"limits.max_json_depth",
       [](settings& s, const std::string& v) { return parse_number(v, s.limits.max_json_depth); }},
      {"limits.max_connections_per_ip",
       [](settings& s, const std::string& v) {
         return parse_number(v, s.limits.max_connections_per_ip);
       }},
      {"limits.max_connections",
       [](settings& s, const std::string& v) { return parse_number(v, s.limits.max_connections); }},
      {"limits.principal_rate",
       [](settings& s, const std::string& v) { return parse_number(v, s.limits.principal_rate); }},
      {"limits.principal_burst",
       [](settings& s, const std::string& v) { return parse_number(v, s.limits.principal_burst); }},
      {"limits.ip_rate",
       [](settings& s, const std::string& v) { return parse_number(v, s.limits.ip_rate); }},
      {"limits.ip_burst",
       [](settings& s, const std::string& v) { return parse_number(v, s.limits.ip_burst); }},
      {"limits.max_outbound_bytes",
       [](settings& s, const std::string& v) {
         return parse_size(v, s.limits.max_outbound_bytes);
       }},
      {"limits.max_poll_timeout",
       [](settings& s, const std::string& v) {
         return parse_seconds(v, s.limits.max_poll_timeout);
       }},
      {"delivery.ack_timeout",
       [](settings& s, const std::string& v) { return parse_millis(v, s.delivery.ack_timeout); }},
      {"delivery.replay_batch",
       [](settings& s, const std::string& v) { return parse_number(v, s.delivery.replay_batch); }},
      {"delivery.tail_cache",
       [](settings& s, const std::string& v) { return parse_number(v, s.delivery.tail_cache); }},
      {"delivery.owner_idle_stop",
       [](settings& s, const std::string& v) {
         return parse_seconds(v, s.delivery.owner_idle_stop);
       }},
      {"delivery.max_unacked",
       [](settings& s, const std::string& v) { return parse_number(v, s.delivery.max_unacked); }},
      {"chat.max_text",
       [](settings& s, const std::string& v) { return parse_size(v, s.chat.max_text); }},
      {"chat.agents",
       [](settings& s, const std::string& v) { return parse_agents(v, s.chat.agents); }},
      {"routing.strategy",
       [](settings& s, const std::string& v) {
         return known_strategy(v) && !(s.routing.strategy = v).empty();
       }},
      {"routing.strategies",
       [](settings& s, const std::string& v) { return parse_strategies(v, s.routing.strategies); }},
      {"routing.offline_grace",
       [](settings& s, const std::string& v) { return parse_millis(v, s.routing.offline_grace); }},
      {"privacy.mask_phone",
       [](settings& s, const std::string& v) { return parse_bool(v, s.privacy.mask_phone); }},
      {"channels.wechat_max_age",
       [](settings& s, const std::string& v) {
         return parse_seconds(v, s.channels.wechat_max_age);
       }},
      {"channels.max_callback_body",
       [](settings& s, const std::string& v) {
         return parse_size(v, s.channels.max_callback_body);
       }},
      {"outbox.retry_base",
       [](settings& s, const std::string& v) { return parse_millis(v, s.outbox.retry_base); }},
      {"outbox.retry_max",
       [](settings& s, const std::string& v) { return parse_millis(v, s.outbox.retry_max); }},
      {"outbox.http_timeout",
       [](settings& s, const std::string& v) { return parse_millis(v, s.outbox.http_timeout); }},
      {"outbox.max_age",
       [](settings& s, const std::string& v) { return parse_seconds(v, s.outbox.max_age); }},
      {"outbox.senders",
       [](settings& s, const std::string& v) { return parse_number(v, s.outbox.senders); }},
      {"storage.sync",
       [](settings& s, const std::string& v) { return parse_bool(v, s.storage.sync); }},
      {"storage.idempotency_ttl",
       [](settings& s, const std::string& v) {
         return parse_seconds(v, s.storage.idempotency_ttl);
       }},
  };
  return table;
}

// Only addresses that are loopback by their bits: "127.attacker.example" is a host name that
// may resolve anywhere, not a loopback address.
bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  unsigned char addr[16];
  if (inet_pton(AF_INET, host.c_str(), addr) == 1) return addr[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), addr) != 1) return false;
  static constexpr unsigned char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(addr, addr + 16, v6_loopback)) return true;
  return std::equal(addr, addr + 12, v4_mapped) && addr[12] == 127;
}

// "channel.wechat.<merchant>.<field>" and "channel.app.<merchant>.<field>": a section per
// merchant and channel, e.g. [channel.wechat.m1] token = …
std::string set_channel_key(settings& s, const std::string& key, const std::string& value) {
  auto first = key.find('.', 8), last = key.rfind('.');
  if (first == std::string::npos || last <= first + 1 || last + 1 == key.size())
    return "unknown key '" + key +
           "' (use [channel.wechat.<merchant>] or [channel.app.<merchant>])";
  const auto kind = key.substr(8, first - 8), merchant = key.substr(first + 1, last - first - 1),
             field = key.substr(last + 1);
  auto& channels = s.channels.merchants[merchant];
  if (kind == "wechat") {
    auto& w = channels.wechat ? *channels.wechat : channels.wechat.emplace();
    std::string wechat_channel::*member = field == "token"        ? &wechat_channel::token
                                          : field == "app_id"     ? &wechat_channel::app_id
                                          : field == "app_secret" ? &wechat_channel::app_secret
                                          : field == "api_base"   ? &wechat_channel::api_base
                                          : field == "greeting"   ? &wechat_channel::greeting
                                                                  : nullptr;
    if (!member) return "unknown key '" + key + "'";
    w.*member = value;
    return "";
  }
  if (kind == "app") {
    auto& a = channels.app ? *channels.app : channels.app.emplace();
    std::string app_channel::*member = field == "webhook_url" ? &app_channel::webhook_url
                                       : field == "secret"    ? &app_channel::secret
                                                              : nullptr;
    if (!member) return "unknown key '" + key + "'";
    a.*member = value;
    return "";
  }
  return "unknown channel '" + kind + "' in '" + key + "' (channels: wechat, app)";
}

}  // namespace

std::string validate_channels(const std::string& merchant, const merchant_channels& c) {
  auto url_ok = [](const std::string& u) {
    return u.starts_with("http://") || u.starts_with("https://");
  };
  if (merchant.empty() || merchant.size() > 128) return "bad merchant id";
  if (c.wechat) {
    const auto& w = *c.wechat;
    if (w.token.empty() || w.token.size() > 64) return "token must be 1..64 bytes";
    if (w.app_id.empty() || w.app_secret.empty()) return "app_id and app_secret are required";
    if (!url_ok(w.api_base)) return "api_base must be an http:// or https:// URL";
    if (w.greeting.size() > 2048) return "greeting must be at most 2048 bytes";
  }
  if (c.app) {
    if (!url_ok(c.app->webhook_url)) return "webhook_url must be an http:// or https:// URL";
    if (c.app->secret.size() < 16) return "secret must be at least 16 bytes";
  }
  return "";
}

settings defaults() {
  return settings{};
}

void seed_dev_demo(settings& s) {
  if (s.node.dev_mode && s.chat.agents.empty()) s.chat.agents.push_back({"demo", "a1", 1, 5});
}

std::string set_key(settings& s, const std::string& key, const std::string& value) {
  if (key.starts_with("channel.")) return set_channel_key(s, key, value);
  auto it = setters().find(key);
  if (it == setters().end()) return "unknown key '" + key + "'";
  if (!it->second(s, value)) return "bad value for '" + key + "'";
  return "";
}

std::string load_file(const std::string& path, settings& s) {
  std::ifstream in(path);
  if (!in) return "cannot read config file " + path;
  std::string section, line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    auto where = path + ":" + std::to_string(lineno) + ": ";
    if (line.front() == '[') {
      if (line.back() != ']') return where + "unterminated section header";
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) return where + "expected 'key = value'";
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (!section.empty()) key = section + "." + key;
    if (auto err = set_key(s, key, value); !err.empty()) return where + err;
  }
  return "";
}

std::string from_command_line(int argc, char** argv, settings& s) {
  std::vector<std::pair<std::string, std::string>> flags;
  std::string config_file;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return "missing value for " + flag;
    }
    if (flag == "--config")
      config_file = value;
    else
      flags.emplace_back(flag, value);
  }
  if (!config_file.empty())
    if (auto err = load_file(config_file, s); !err.empty()) return err;
  static const std::map<std::string, std::string> flag_keys{
      {"--node-id", "node.id"},        {"--listen", "node.listen"},
      {"--data-dir", "node.data_dir"}, {"--cluster-listen", "cluster.listen"},
      {"--etcd", "cluster.etcd"},      {"--replication-factor", "cluster.replication_factor"}};
  for (const auto& [flag, value] : flags) {
    std::string err;
    if (flag == "--set") {
      auto eq = value.find('=');
      if (eq == std::string::npos) return "--set expects key=value";
      err = set_key(s, value.substr(0, eq), value.substr(eq + 1));
    } else if (auto it = flag_keys.find(flag); it != flag_keys.end()) {
      err = set_key(s, it->second, value);
    } else {
      return "unknown option " + flag;
    }
    if (!err.empty()) return flag + ": " + err;
  }
  return "";
}

std::string validate(const settings& s) {
  if (s.node.dev_mode && !is_loopback(s.node.listen_host))
    return "node.dev_mode is only allowed on a loopback address (node.listen)";
  if (!s.node.dev_mode && s.auth.secret.size() < 32)
    return "auth.secret must be at least 32 bytes outside dev mode";
  for (const auto& k : s.auth.service_keys)
    if (k.key.size() < 16 && !s.node.dev_mode)
      return "auth.service_keys: key for '" + k.merchant + "' is shorter than 16 bytes";
  if (s.node.io_threads == 0 || s.node.io_threads > 64) return "node.io_threads must be 1..64";
  if (s.limits.max_body < 1024) return "limits.max_body must be at least 1KiB";
  if (s.limits.max_frame < 1024) return "limits.max_frame must be at least 1KiB";
  if (s.limits.max_json_depth < 2 || s.limits.max_json_depth > 256)
    return "limits.max_json_depth must be 2..256";
  if (s.delivery.ack_timeout.count() < 50) return "delivery.ack_timeout must be at least 50ms";
  if (s.delivery.replay_batch == 0) return "delivery.replay_batch must be positive";
  if (s.delivery.owner_idle_stop.count() < 1 || s.delivery.owner_idle_stop.count() > 3600)
    return "delivery.owner_idle_stop must be 1s..1h";
  // With no unacked entry allowed, a subscriber would never be sent anything.
  if (s.delivery.max_unacked == 0) return "delivery.max_unacked must be positive";
  if (s.limits.principal_rate > 0 && s.limits.principal_burst < 1)
    return "limits.principal_burst must be at least 1";
  if (s.limits.ip_rate > 0 && s.limits.ip_burst < 1) return "limits.ip_burst must be at least 1";
  if (s.limits.max_poll_timeout.count() < 1) return "limits.max_poll_timeout must be >= 1s";
  if (s.chat.max_text < 1 || s.chat.max_text > s.limits.max_frame / 2)
    return "chat.max_text must be between 1 and half of limits.max_frame";
  for (const auto& [merchant, channels] : s.channels.merchants)
    if (auto err = validate_channels(merchant, channels); !err.empty())
      return "channel settings of merchant '" + merchant + "': " + err;
  if (s.channels.max_callback_body < 1024) return "channels.max_callback_body must be >= 1KiB";
  if (s.outbox.retry_base.count() < 10 || s.outbox.retry_max < s.outbox.retry_base)
    return "outbox.retry_base must be >= 10ms and outbox.retry_max >= outbox.retry_base";
  if (s.outbox.http_timeout.count() < 100) return "outbox.http_timeout must be at least 100ms";
  if (s.outbox.senders == 0 || s.outbox.senders > 64) return "outbox.senders must be 1..64";
  for (const auto& url : s.cluster.etcd)
    if (!url.starts_with("http://")) return "cluster.etcd: expected http://host:port URLs";
  if (!s.cluster.etcd.empty() && s.cluster.listen_port == 0)
    return "cluster.listen needs a fixed port: the other nodes dial it";
  if (s.cluster.lease_ttl.count() < 1 || s.cluster.lease_ttl.count() > 60)
    return "cluster.lease_ttl must be 1s..60s";
  if (s.cluster.heartbeat.count() < 10 || s.cluster.connection_timeout < 2 * s.cluster.heartbeat)
    return "cluster.heartbeat must be >= 10ms and cluster.connection_timeout >= 2 heartbeats";
  if (s.cluster.moves_in_flight == 0 || s.cluster.moves_in_flight > 256)
    return "cluster.moves_in_flight must be 1..256";
  if (s.cluster.replication_factor == 0 || s.cluster.replication_factor > 5)
    return "cluster.replication_factor must be 1..5";
  if (s.cluster.suspect_after.count() < 100 || s.cluster.suspect_after.count() > 60000)
    return "cluster.suspect_after must be 100ms..60s";
  if (s.cluster.probe_interval.count() < 20 || s.cluster.probe_interval.count() > 10000)
    return "cluster.probe_interval must be 20ms..10s";
  if (s.cluster.unresponsive_after < 3 * s.cluster.probe_interval ||
      s.cluster.unresponsive_after.count() > 60000)
    return "cluster.unresponsive_after must be 3 probe intervals..60s";
  if (s.cluster.replace_after.count() < 1 || s.cluster.replace_after.count() > 86400)
    return "cluster.replace_after must be 1s..24h";
  return "";
}

}  // namespace sb::config
