// Failover of a lost owner's partitions (docs/replication.md), run by the controller. For a
// partition whose owner the controller suspects (middleman down for cluster.suspect_after,
// or its member key gone): seal the other replicas at epoch + 1 (each then refuses the old
// owner's rounds), require at least R − W + 1 of them sealed with the storage etcd lists for
// them (a wiped disk does not count: KIP-903), so every write the old owner could still
// complete meets a sealed replica; pick the sealed replica with the furthest (epoch, lsn) — it
// holds every acknowledged round — and make it the owner with one etcd compare-and-swap
// (epoch + 1). The new owner serves because its own storage is sealed at exactly that epoch.
// Suspicion only starts this; sealing is what makes it safe. Runs on worker threads.
#pragma once
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <caf/all.hpp>

#include "cluster/cluster_view.hpp"
#include "cluster/copy_workers.hpp"
#include "cluster/etcd_client.hpp"
#include "codec/metrics.hpp"

namespace sb::cluster {

class takeover {
 public:
  struct deps {
    caf::actor_system* sys = nullptr;
    caf::actor registry;  // reaches every replica's sink
    std::string prefix;
    codec::metrics* metrics = nullptr;
  };
  takeover(etcd_client& etcd, std::shared_ptr<cluster_view> view, deps d);
  ~takeover();  // stop()
  void stop();

  // Queues the takeover of p from its (suspected) owner; idempotent while one is queued.
  // `why`: what the controller saw (logged with the outcome).
  void schedule(uint16_t p, const std::string& why);

 private:
  void run(uint16_t p, const std::string& why);

  etcd_client& etcd_;
  std::shared_ptr<cluster_view> view_;
  deps deps_;
  std::mutex mutex_;
  std::set<uint16_t> pending_;
  copy_workers workers_{4};  // last: its threads use the members above
};

}  // namespace sb::cluster
