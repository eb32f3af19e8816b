// Failover of a lost owner's partitions (docs/replication.md), run by the controller, a whole
// batch of partitions at a time (a lost node's share of them at once): reserve epoch + 1 of each
// in etcd (state "recovering": the old owner is no owner any more), seal every replica we reach
// at that epoch — one synced batch per replica node — and require at least R − W + 1 sealed
// copies with the storage etcd lists for them (a wiped disk does not count: KIP-903), so that
// every write the old owner could still complete meets a sealed replica; the sealed replica with
// the furthest (epoch, lsn) holds every acknowledged round and becomes the owner by
// compare-and-swap. The new owner serves because its own storage is sealed at exactly that
// epoch. Suspicion only starts this; sealing is what makes it safe. A partition whose epoch is
// reserved but which cannot be finished yet stays "recovering" and is retried.
#pragma once
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "cluster/cluster_view.hpp"
#include "cluster/copy_workers.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/registry_actor.hpp"
#include "codec/metrics.hpp"

namespace sb::cluster {

class takeover {
 public:
  struct deps {
    caf::actor_system* sys = nullptr;
    registry_actor registry;  // reaches every replica's sink
    std::string prefix;
    codec::metrics* metrics = nullptr;
  };
  // A partition the controller wants taken over, as it saw its record: nothing is done if the
  // record changed since (another owner, another epoch).
  struct candidate {
    uint16_t partition = 0;
    std::string owner;
    uint64_t epoch = 0;
    std::string why;  // what the controller saw (logged with the outcome)
  };
  takeover(etcd_client& etcd, std::shared_ptr<cluster_view> view, deps d);
  ~takeover();  // stop()
  void stop();

  // Queues the takeover of the candidates not already queued, as one batch.
  void schedule(std::vector<candidate> batch);

 private:
  struct claim;
  void run(std::vector<candidate> batch);
  std::vector<claim> reserve(std::vector<claim> claims);
  void seal(std::vector<claim>& claims);
  void commit(std::vector<claim>& claims);

  etcd_client& etcd_;
  std::shared_ptr<cluster_view> view_;
  deps deps_;
  std::mutex mutex_;
  std::set<uint16_t> pending_;
  copy_workers workers_{1};  // last: its thread uses the members above
};

}  // namespace sb::cluster
