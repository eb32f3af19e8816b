// The node's view of the cluster: members, the partition table (owner, epoch, state) as etcd
// holds it, which peers the middleman reaches, and which partitions this node may serve.
// Written by the membership watch, the handoff and the registry; read by everyone. Every
// member is thread-safe (one mutex; reads copy small values out).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/partition.hpp"

namespace sb::cluster {

// A copy of a partition: the node and the storage (its data directory's uuid) that holds it.
// A node whose directory was wiped comes back with another uuid and is not this replica.
struct replica_ref {
  std::string node;
  std::string storage;
  bool operator==(const replica_ref&) const = default;
};

// The etcd record of one partition: <prefix>/parts/<p>.
struct partition_record {
  std::string owner;
  uint64_t epoch = 0;
  // "serving"; "moving" (to `to`) while a handoff runs; "recovering" while a takeover that
  // has reserved this epoch chooses the new owner among the replicas.
  std::string state = "serving";
  std::string to;
  int64_t mod_revision = 0;  // etcd's, for compare-and-swap
  // The owner first, then its backups (docs/replication.md); just the owner when R = 1. Only
  // these count: a write needs one of the backups, a takeover seals them.
  std::vector<replica_ref> replicas;
  // The copies the controller wants instead (owner first), while a change is under way: the
  // owner sends them its rounds too, and makes them the replicas (dropping the others) only
  // once every newcomer has caught up. Empty when no change is pending.
  std::vector<replica_ref> next_replicas;

  bool has_replica(const std::string& node) const { return lists(replicas, node); }
  // A replica now or after the pending change: a node that keeps (or receives) its copy.
  bool keeps_copy(const std::string& node) const {
    return lists(replicas, node) || lists(next_replicas, node);
  }
  static bool lists(const std::vector<replica_ref>& refs, const std::string& node) {
    for (const auto& r : refs)
      if (r.node == node) return true;
    return false;
  }
};

// A member: <prefix>/members/<id> (under the node's lease: gone when it stops keepalives).
struct member_record {
  std::string id;
  std::string http;     // host:port of its HTTP API (handoff imports, admin gathering)
  std::string cluster;  // host:port of its middleman
  std::string storage;  // uuid of its data directory (stream_store::storage_uuid)
};

// How peers are probed (cluster/peer_probe.hpp): a connected peer that answered no ping for
// unresponsive_after is hung or cut off without a reset, which the middleman notices only
// after its connection_timeout.
struct liveness {
  std::chrono::milliseconds probe_interval{200};
  std::chrono::milliseconds unresponsive_after{1000};
};

// Where a key's partition is served, as seen from this node.
struct route {
  // moving: a handoff is sealing or importing it (retry shortly); unavailable: no owner
  // known, or the owner node is down (answer 503 at once).
  enum class kind { local, remote, moving, unavailable } what = kind::unavailable;
  std::string node;  // the owner node (remote), or why not (unavailable)
  uint64_t epoch = 0;
};

class cluster_view {
 public:
  // A clustered node starts with an empty table; `standalone` owns every partition at epoch 1
  // (no etcd: the static table of a single node).
  explicit cluster_view(std::string self);
  static std::shared_ptr<cluster_view> standalone_table(std::string self);

  const std::string& self() const { return self_; }
  bool clustered() const { return clustered_; }

  route route_of(uint16_t p) const;
  route route_of_key(std::string_view key) const { return route_of(partition_of(key).value()); }

  // Replaced by the membership watch.
  void set_partition(uint16_t p, std::optional<partition_record> r);
  void set_member(const std::string& id, std::optional<member_record> m);
  void set_draining(const std::string& id, bool draining);
  void set_controller(std::string id);
  // The registry: whether the middleman currently reaches the peer's registry. Connecting
  // counts as an answer.
  void set_peer_connected(const std::string& id, bool connected);
  // The registry's liveness probe (cluster/peer_probe.hpp): the peer answered a ping now.
  void set_peer_answered(const std::string& id);
  void set_liveness(liveness l);
  // The storage fence: this node serves p only at the epoch its own RocksDB record says.
  void set_local_epoch(uint16_t p, uint64_t epoch);
  // While sealed for a handoff, p is not served locally even though etcd still names us.
  void set_sealed(uint16_t p, bool sealed);

  std::optional<partition_record> partition(uint16_t p) const;
  std::vector<std::optional<partition_record>> partitions() const;
  std::map<std::string, member_record> members() const;
  std::optional<member_record> member(const std::string& id) const;
  bool draining(const std::string& id) const;
  std::vector<std::string> draining_nodes() const;
  std::string controller() const;
  bool peer_connected(const std::string& id) const;
  liveness liveness_settings() const;
  // Connected, and answered within unresponsive_after: worth routing to and waiting for.
  bool peer_responsive(const std::string& id) const;
  // How long a connected peer has not answered; zero when it is not connected.
  std::chrono::milliseconds peer_silence(const std::string& id) const;
  uint64_t local_epoch(uint16_t p) const;
  // Every partition has an owner in the table (what /readyz waits for).
  bool complete() const;
  // Partitions this node serves right now.
  std::vector<uint16_t> served() const;
  bool serves(uint16_t p) const;

 private:
  using clock = std::chrono::steady_clock;
  struct peer_link {
    bool connected = false;
    clock::time_point answered{};  // the last probe answer (or the connect)
  };
  route route_locked(uint16_t p) const;
  bool responsive_locked(const std::string& id) const;

  const std::string self_;
  bool clustered_ = true;
  mutable std::mutex mutex_;
  std::vector<std::optional<partition_record>> parts_;
  std::vector<uint64_t> local_epoch_;
  std::vector<bool> sealed_;
  std::map<std::string, member_record> members_;
  std::map<std::string, bool> draining_;
  std::map<std::string, peer_link> peers_;
  liveness liveness_;
  std::string controller_;
};

}  // namespace sb::cluster
