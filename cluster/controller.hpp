// The controller: one node of the cluster, elected by a lease-bound etcd key, that assigns
// partitions nobody owns yet and moves partitions to their rendezvous target when a node joins
// or is drained, a few at a time. It never moves a partition away from a node because that
// node's lease expired (only an explicit drain does): without a replica a dead node's
// partitions wait for it. Runs one thread of its own; start/stop from main's thread.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "cluster/cluster_view.hpp"
#include "cluster/etcd_client.hpp"

namespace sb::cluster {

class controller {
 public:
  struct options {
    std::string prefix;
    size_t moves_in_flight = 8;
    std::chrono::milliseconds period{100};
  };
  // `lease` is the node's member lease: the controller key lives and dies with it.
  controller(etcd_client& etcd, std::shared_ptr<cluster_view> view, options opts,
             std::function<int64_t()> lease);
  ~controller();
  void start();
  void stop();

 private:
  void loop();
  void campaign();
  void reconcile();

  etcd_client& etcd_;
  std::shared_ptr<cluster_view> view_;
  const options opts_;
  std::function<int64_t()> lease_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sb::cluster
