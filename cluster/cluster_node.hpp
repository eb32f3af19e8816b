// This node's part in the cluster, as main sees it: joins through etcd (membership), runs the
// controller election, hands partitions over (handoff), dials the other nodes' registries over
// the middleman, and applies the storage fence when etcd names this node a partition's owner.
// Not used without --etcd (the static table of cluster_view::standalone_table). start/stop
// from main's thread; everything else is thread-safe.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "cluster/cluster_view.hpp"
#include "cluster/controller.hpp"
#include "cluster/copy_workers.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/handoff.hpp"
#include "cluster/membership.hpp"
#include "cluster/partition_copy.hpp"
#include "cluster/registry_actor.hpp"
#include "cluster/takeover.hpp"
#include "config/config.hpp"

namespace sb::cluster {

class cluster_node {
 public:
  struct deps {
    caf::actor_system* sys = nullptr;
    registry_actor registry;
    caf::actor outbox;  // told when this node starts or stops serving a partition
    storage::stream_store* store = nullptr;
    storage::group_commit* commit = nullptr;
    const config::settings* cfg = nullptr;
    std::string http_address;  // host:port other nodes reach this node's HTTP API at
    codec::metrics* metrics = nullptr;
  };
  cluster_node(std::shared_ptr<cluster_view> view, deps d);
  ~cluster_node();  // stop()

  // Publishes the registry on cluster.listen and joins: "" or one line.
  std::string start();
  void stop();

  // Ready: joined and every partition has a known owner.
  bool ready() const;
  // Marks a node as draining (or not): the controller moves its partitions away.
  std::string set_draining(const std::string& node, bool draining);
  // An internal copy chunk (cluster/partition_copy.hpp): a handoff's ("import") or a backup's
  // catch-up ("replica").
  partition_copy::answer receive_copy(const partition_copy::chunk_params& c,
                                      const std::string& signature, const std::string& body);

 private:
  // Runs on the watch thread whenever etcd's record of p changed.
  void on_partition(uint16_t p);
  void dial_loop();
  // The replicator's switch of p's replicas (cluster/replicator.hpp), written to etcd by
  // compare-and-swap; answers reply_to (rswitched_atom, p, revision or 0).
  void switch_replicas(uint16_t p, int64_t mod_revision, const partition_record& next,
                       const caf::actor& reply_to);

  std::shared_ptr<cluster_view> view_;
  deps deps_;
  etcd_client etcd_;
  std::unique_ptr<handoff> handoff_;
  std::unique_ptr<copy_workers> copies_;  // the replicator's full copies
  std::unique_ptr<takeover> takeover_;
  caf::actor sink_;
  caf::actor replicator_;
  std::unique_ptr<membership> membership_;
  std::unique_ptr<controller> controller_;
  std::vector<bool> serving_;  // what the outbox was last told, by the watch thread only
  std::atomic<bool> stopping_{false};
  std::thread dialer_;
};

}  // namespace sb::cluster
