// The controller: one node of the cluster, elected by a lease-bound etcd key, that assigns
// partitions nobody owns yet (with their replicas), moves partitions to their rendezvous
// target when a node joins or is drained, a few at a time, asks owners for other copies
// (next_replicas: a drained or long-gone backup replaced, more copies in a grown cluster;
// the owner switches once the newcomers have caught up), and fails a lost owner's
// partitions over to a replica (cluster/takeover.hpp). A lost owner is one this node's
// middleman lost for cluster.suspect_after, or whose member key is gone; losing it only
// starts the takeover, whose seal makes it safe. With one copy (replication_factor 1) a dead
// node's partitions wait for it. Runs one thread of its own; start/stop from main's thread.
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/takeover.hpp"

namespace sb::cluster {

class controller {
 public:
  struct options {
    std::string prefix;
    size_t moves_in_flight = 8;
    std::chrono::milliseconds period{100};
    size_t replication_factor = 1;
    std::chrono::milliseconds suspect_after{800};
    std::chrono::milliseconds replace_after{60000};
  };
  // `lease` is the node's member lease: the controller key lives and dies with it.
  controller(etcd_client& etcd, std::shared_ptr<cluster_view> view, options opts,
             std::function<int64_t()> lease, takeover* failover);
  ~controller();
  void start();
  void stop();

 private:
  void loop();
  void campaign();
  // Deletes the controller key of a controller this node suspects, if this node is the deputy.
  void depose_lost_controller();
  void reconcile();
  // Notes which peers the middleman reaches now; true if `node` has been lost long enough.
  void watch_peers();
  bool suspect(const std::string& node) const;
  std::string suspicion(const std::string& node) const;  // why `node` looks lost, or ""
  // Whether `node` has had no member key for at least that long (as this node saw it).
  bool gone_for(const std::string& node, std::chrono::milliseconds at_least) const;
  void fail_over();

  etcd_client& etcd_;
  std::shared_ptr<cluster_view> view_;
  const options opts_;
  std::function<int64_t()> lease_;
  takeover* failover_;
  using clock = std::chrono::steady_clock;
  // By the loop thread only. Nodes this controller has reached at least once, and since when
  // the middleman has lost the ones it has (a gap measured in wall time, not loop iterations).
  std::set<std::string> reached_;
  std::map<std::string, clock::time_point> lost_since_;
  std::map<std::string, clock::time_point> absent_since_;
  clock::time_point last_depose_{};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sb::cluster
