// A small blocking etcd v3 client over etcd 3.4's JSON gateway (/v3/*): leases, range, put,
// delete, txn. Thread-safe; any thread that may block for a few seconds (never asio/CAF ones).
#pragma once
#include <atomic>
#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::cluster {

struct etcd_kv {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

struct etcd_range {
  std::vector<etcd_kv> kvs;
  int64_t revision = 0;  // header.revision: the store's revision when the range was read
};

struct etcd_txn_result {
  bool succeeded = false;
  int64_t revision = 0;
};

// One compare of a txn, always with result EQUAL: `revision` is compared for mod, create and
// version, `value` for value. mod_revision 0 on a missing key is equal: "create if absent".
struct etcd_compare {
  std::string key;
  enum class target { mod, create, version, value } what = target::mod;
  int64_t revision = 0;
  std::string value;
};

struct etcd_op {
  enum class kind { put, del } what = kind::put;
  std::string key, value;
  int64_t lease = 0;    // put only; 0 = no lease
  bool prefix = false;  // del only: every key under `key`
};

class etcd_client {
 public:
  // endpoints like "http://127.0.0.1:2379"; a comma-separated --etcd flag is split by the
  // caller. Each call tries the endpoints in turn (the last one that worked first) until one
  // answers; `timeout` bounds each attempt.
  explicit etcd_client(std::vector<std::string> endpoints,
                       std::chrono::milliseconds timeout = std::chrono::seconds(2));

  // Every call blocks; on failure it returns false / nullopt and sets `error` to one line.
  std::optional<int64_t> lease_grant(std::chrono::seconds ttl, std::string& error);
  // false with error "lease expired" when etcd no longer knows the lease. One keepalive per
  // HTTP request: several in one stream are ignored by the gateway (etcd#8237).
  bool lease_keepalive(int64_t lease, std::string& error);
  bool lease_revoke(int64_t lease, std::string& error);
  std::optional<etcd_range> range(const std::string& key, bool prefix, std::string& error);
  bool put(const std::string& key, const std::string& value, int64_t lease, std::string& error);
  bool del(const std::string& key, bool prefix, std::string& error);
  std::optional<etcd_txn_result> txn(const std::vector<etcd_compare>& compares,
                                     const std::vector<etcd_op>& success,
                                     const std::vector<etcd_op>& failure, std::string& error);
  const std::vector<std::string>& endpoints() const;

  // POSTs `body` (JSON) to `path` (e.g. "/v3/kv/range") and returns the parsed answer object;
  // the building block of the calls above, public for the rare request they do not cover
  // (e.g. /v3/kv/compaction).
  std::optional<boost::json::object> post(std::string_view path, const boost::json::object& body,
                                          std::string& error);

 private:
  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  std::atomic<size_t> preferred_{0};  // index of the endpoint that answered last
};

// The range_end that selects every key starting with `prefix`: the prefix with its last byte
// incremented (trailing 0xff bytes dropped first); "\0" (all keys) for an empty prefix.
std::string prefix_end(std::string_view prefix);

// Gateway encoding helpers, shared with etcd_watch.cpp.
namespace etcd_json {
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// int64 fields arrive as JSON strings; absent (zero) fields and plain numbers are accepted too.
int64_t int64_field(const boost::json::object& object, std::string_view name);
// A kv object of a range or watch answer: base64 key and value decoded.
etcd_kv kv_from_json(const boost::json::object& kv);
}  // namespace etcd_json

}  // namespace sb::cluster
