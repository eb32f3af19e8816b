// Switchboard's configuration: the settings struct with the embedded dev-mode defaults, the
// config-file parser, command-line overrides and validation. No globals: main builds one
// `settings` and passes it down. Every key is documented in config/switchboard.example.conf.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::config {

struct service_key {
  std::string merchant;  // a merchant id, or "*" for every merchant
  std::string key;
};

// A merchant's WeChat official account (channel "wechat"). Secrets are never logged.
struct wechat_channel {
  std::string token;  // the callback token (signature key)
  std::string app_id;
  std::string app_secret;
  std::string api_base = "https://api.weixin.qq.com";  // tests point it at a stand-in
  std::string greeting;  // passive reply to a subscribe event or a first message; "" = none
};

// A merchant's app backend (channel "app"): agent replies are POSTed to its webhook.
struct app_channel {
  std::string webhook_url;
  std::string secret;  // HMAC-SHA256 key of X-Switchboard-Signature
};

struct merchant_channels {
  std::optional<wechat_channel> wechat;
  std::optional<app_channel> app;
};

struct settings {
  struct node_t {
    std::string id = "node1";
    std::string listen_host = "127.0.0.1";
    uint16_t listen_port = 8080;
    std::string data_dir = "./data";
    // Dev mode: /api/dev/token exists and a fixed development secret applies. Loopback only.
    bool dev_mode = true;
    size_t io_threads = 1;     // asio threads serving sockets
    size_t actor_threads = 0;  // CAF scheduler threads, 0 = one per core
  } node;
  struct cluster_t {
    // etcd client URLs (http://host:port); empty = the node runs alone (static partition table).
    std::vector<std::string> etcd;
    std::string listen_host = "127.0.0.1";  // the middleman's port for the other nodes
    uint16_t listen_port = 9090;
    std::string prefix = "/switchboard";  // every etcd key of this cluster starts with it
    std::chrono::seconds lease_ttl{3};    // member keys vanish this long after a node died
    // Middleman heartbeats: a peer silent for connection_timeout is dropped (CAF 0.17 defaults
    // both to 0, which never notices a hung peer). Identical on every node.
    std::chrono::milliseconds heartbeat{500};
    std::chrono::milliseconds connection_timeout{5000};
    size_t moves_in_flight = 8;  // partitions the controller moves at once on join or drain
    // Copies of each partition (owner + backups, docs/replication.md), at most the members;
    // an append is acknowledged once the owner and one backup synced it.
    size_t replication_factor = 3;
    // A peer the controller lost this long ago (middleman down) has its partitions taken over.
    std::chrono::milliseconds suspect_after{800};
    // Every registry pings its peers' registries every probe_interval; a connected peer that
    // has answered none for unresponsive_after is hung or cut off (the middleman notices only
    // after connection_timeout): routing answers 503 for it and the controller takes it over.
    std::chrono::milliseconds probe_interval{200};
    std::chrono::milliseconds unresponsive_after{1000};
    // A replica whose node has been gone this long is replaced by the next node in the
    // partition's rendezvous order (the owner copies the partition to it).
    std::chrono::seconds replace_after{60};
  } cluster;
  struct auth_t {
    std::string secret;  // HS256 key for JWTs; required (>= 32 bytes) outside dev mode
    std::vector<service_key> service_keys;
    std::chrono::seconds dev_token_ttl{std::chrono::hours(12)};
  } auth;
  struct limits_t {
    size_t max_body = 1 << 20;     // HTTP body bytes
    size_t max_frame = 64 * 1024;  // WebSocket message bytes
    size_t max_json_depth = 16;
    size_t max_connections_per_ip = 20000;
    size_t max_connections = 200000;
    double principal_rate = 200;  // requests or frames per second per principal
    double principal_burst = 400;
    double ip_rate = 2000;  // requests per second per client IP
    double ip_burst = 4000;
    size_t max_outbound_bytes = 8 << 20;  // queued bytes per socket before it is dropped
    std::chrono::seconds max_poll_timeout{60};
  } limits;
  struct delivery_t {
    std::chrono::milliseconds ack_timeout{10000};  // unacked entries are pushed again after it
    size_t replay_batch = 2000;                    // entries per replay round trip
    size_t tail_cache = 4096;                      // recent entries kept in memory per stream
    size_t max_unacked = 10000;  // a connection further behind is replayed from storage
    // A stream owner with no subscriber and nothing in flight stops after 1-2x this (the next
    // request respawns it from storage), so an idle node returns its memory.
    std::chrono::seconds owner_idle_stop{20};
  } delivery;
  struct chat_t {
    size_t max_text = 4096;  // bytes of one message's text
    struct agent {
      std::string merchant, id;
      uint32_t weight = 1, max_concurrent = 5;
    };
    std::vector<agent> agents;  // enrolled at start ("m1:alice:3:10,…")
  } chat;
  struct routing_t {
    std::string strategy = "weighted_least_load";                 // default for every merchant
    std::vector<std::pair<std::string, std::string>> strategies;  // merchant → strategy
    std::chrono::milliseconds offline_grace{30000};
  } routing;
  struct privacy_t {
    bool mask_phone = true;  // phone numbers masked in what agents receive and in logs
  } privacy;
  struct channels_t {
    // WeChat callbacks whose timestamp is further than this from now are refused (replays).
    std::chrono::seconds wechat_max_age{300};
    size_t max_callback_body = 64 * 1024;  // bytes of one WeChat callback
    // Channels from the config file ([channel.wechat.<m>], [channel.app.<m>]); the admin API
    // configures more at run time and its settings win.
    std::map<std::string, merchant_channels> merchants;
  } channels;
  struct outbox_t {
    std::chrono::milliseconds retry_base{1000};    // first retry delay, doubled per attempt
    std::chrono::milliseconds retry_max{300000};   // longest delay between attempts
    std::chrono::milliseconds http_timeout{5000};  // one outbound HTTP call, connect included
    std::chrono::seconds max_age{std::chrono::hours(48)};  // then the send is given up
    size_t senders = 2;                                    // threads making outbound calls
  } outbox;
  struct storage_t {
    bool sync = true;  // fsync the WAL before acknowledging; off only for experiments
    std::chrono::seconds idempotency_ttl{std::chrono::hours(24)};
  } storage;
};

// The embedded default configuration (dev mode, one node on 127.0.0.1:8080, data in ./data).
settings defaults();

// Dev mode without configured agents: enrols the demo merchant's agent (demo:a1, weight 1,
// max_concurrent 5), so a fresh `tools/dev.sh run` has someone to log in as. Else unchanged.
void seed_dev_demo(settings& s);

// Applies `key = value` lines ([section] headers prefix keys: "[node]\nid = a" sets node.id).
// Returns an empty string on success, else one line naming the file, line and problem.
std::string load_file(const std::string& path, settings& s);

// Applies one dotted key (e.g. "node.listen"). Returns an error line or "".
std::string set_key(settings& s, const std::string& key, const std::string& value);

// Parses the command line of the contract (--config, --node-id, --listen, --data-dir,
// --cluster-listen, --etcd,
// --set key=value). The config file is loaded first, flags override it. Returns "" or an error.
std::string from_command_line(int argc, char** argv, settings& s);

// Checks one merchant's channel settings (config file or admin API); returns "" or the problem.
std::string validate_channels(const std::string& merchant, const merchant_channels& c);

// Checks the whole configuration; returns "" or one line naming the bad key.
std::string validate(const settings& s);

}  // namespace sb::config
