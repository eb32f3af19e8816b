// Partition handoff on join and drain, both sides. The owner (B) of a partition the controller
// marked {state: moving, to: C}: seals it (the view stops serving it, the registry stops its
// owners, a group-commit barrier makes every accepted write durable), streams its key range to
// C's internal endpoint in chunks, and commits the move with one etcd compare-and-swap (epoch
// + 1). C writes the records and its storage fence (the new epoch) and serves once its watch
// shows it as the owner. If anything fails, B puts the record back to serving and unseals.
// Handoffs run on worker threads of their own (a few partitions at once, each one partition
// at a time); `receive` runs on an asio thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "cluster/cluster_view.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/partition_copy.hpp"
#include "cluster/registry_actor.hpp"
#include "codec/metrics.hpp"
#include "storage/group_commit.hpp"
#include "storage/stream_store.hpp"

namespace sb::cluster {

class handoff {
 public:
  struct deps {
    caf::actor_system* sys = nullptr;
    registry_actor registry;
    storage::stream_store* store = nullptr;
    storage::group_commit* commit = nullptr;
    std::string prefix;
    std::string secret;             // auth.secret: signs the chunks between nodes
    size_t replication_factor = 1;  // copies of each partition after a move
    codec::metrics* metrics = nullptr;
  };
  handoff(etcd_client& etcd, std::shared_ptr<cluster_view> view, deps d);
  ~handoff();
  void start();
  void stop();

  // Queues the move of partition p away from this node (idempotent while one is queued).
  void schedule(uint16_t p);

  // The receiving side: one chunk for partition p at `c.epoch` (the epoch the move commits).
  partition_copy::answer receive(const partition_copy::chunk_params& c,
                                 const std::string& signature, const std::string& body);

 private:
  void loop();
  void move(uint16_t p);
  std::string transfer(uint16_t p, uint64_t epoch, const std::string& to_http,
                       storage::replica_state& sent);
  void put_back(uint16_t p, const partition_record& r);
  // A move called off here: p takes writes and is served again.
  void reopen(uint16_t p);

  etcd_client& etcd_;
  std::shared_ptr<cluster_view> view_;
  deps deps_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<uint16_t> queue_;
  std::set<uint16_t> queued_;
  std::set<uint16_t> running_;
  static constexpr size_t workers = 4;  // moves in parallel (the controller allows 8 at once)
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace sb::cluster
