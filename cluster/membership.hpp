// Membership: joins the cluster in etcd (checks the partition count, registers this node under
// a lease and keeps it alive) and mirrors every key of the cluster into the cluster_view with a
// watch (re-listing after compaction or a lost stream). Lease expiry only marks a member as
// gone for routing; it never changes a partition's owner. Runs two threads of its own;
// start/stop from main's thread; `on_partition` runs on the watch thread.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/cluster_view.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/etcd_watch.hpp"

namespace sb::cluster {

class membership {
 public:
  struct options {
    std::string prefix;
    std::chrono::seconds lease_ttl{3};
    member_record self;
  };
  membership(etcd_client& etcd, std::shared_ptr<cluster_view> view, options opts,
             std::function<void(uint16_t)> on_partition);
  ~membership();  // stop()

  // Joins: "" once registered and the table is listed, else one line (the node must not run).
  std::string start();
  // Revokes the lease (the member key vanishes at once) and stops both threads.
  void stop();
  bool joined() const { return joined_; }
  int64_t lease() const { return lease_; }

 private:
  std::string register_member(std::string& error);
  void keepalive_loop();
  void watch_loop(int64_t from_revision);
  // Lists every key and replaces the view; returns the revision to watch from, 0 on failure.
  int64_t relist();
  void apply(const etcd_kv& kv, bool deleted);

  etcd_client& etcd_;
  std::shared_ptr<cluster_view> view_;
  const options opts_;
  std::function<void(uint16_t)> on_partition_;
  std::atomic<int64_t> lease_{0};
  std::atomic<bool> joined_{false};
  std::atomic<bool> stopping_{false};
  std::mutex watch_mutex_;
  etcd_watch* watch_ = nullptr;  // the running watch, for stop()
  std::thread keepalive_, watcher_;
};

}  // namespace sb::cluster
