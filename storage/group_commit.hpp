// Group commit: one writer thread turns every write_set submitted since its last round into
// one synced RocksDB write, so many concurrent appends share one fsync. `submit` is safe from
// any thread and never blocks on I/O; `done` runs on the writer thread, in submission order,
// unless a replicator is set: then a round's callbacks run once the replicator says its
// backups have the round too (cluster/replicator.hpp), on the replicator's thread.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/stream_store.hpp"

namespace sb::storage {

struct group_commit_stats {
  uint64_t rounds = 0;    // synced writes issued
  uint64_t sets = 0;      // write_sets committed
  uint64_t failures = 0;  // rounds that failed
};

class group_commit {
 public:
  // error is empty on success. An empty callback is allowed (fire and forget).
  using callback = std::function<void(const std::string& error)>;
  // `observe_round` (optional) is called after each round with (sets, microseconds).
  group_commit(stream_store& store, bool sync, size_t max_sets_per_round = 4096,
               std::function<void(size_t, int64_t)> observe_round = {},
               std::chrono::milliseconds lazy_delay = std::chrono::milliseconds(20));
  ~group_commit();  // stop()
  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  void submit(write_set set, callback done);
  // A set nobody waits for (an acked cursor): it wakes no one and goes with the next round of
  // submit()s, or on its own once it has waited `lazy_delay`. Losing it in a crash only causes
  // a redelivery, which at-least-once allows; it saves the writer a wake-up per ack.
  void submit_lazy(write_set set);
  // Each committed round's replication rounds go to `replicate`, which calls `done` (from any
  // thread, exactly once) when the round counts as durable. Set before the first submit.
  using replicate_fn = std::function<void(std::vector<replica_round> rounds, callback done)>;
  void set_replicator(replicate_fn replicate);
  // Commits everything submitted so far, then stops the thread. Later submits fail at once.
  // Must not be called from a callback (it joins the writer thread).
  void stop();
  group_commit_stats stats() const;

 private:
  struct pending {
    write_set set;
    callback done;
    bool lazy = false;
  };
  using clock = std::chrono::steady_clock;
  void run();
  // Waits (lock held) until a round is due: an eager set, a lazy one waited long enough, or
  // stopping.
  void wait_for_round(std::unique_lock<std::mutex>& lock);
  void take_round(std::vector<pending>& round);
  void commit(std::vector<pending>& round);

  stream_store& store_;
  const bool sync_;
  const size_t max_sets_;
  std::function<void(size_t, int64_t)> observe_round_;
  const std::chrono::milliseconds lazy_delay_;
  replicate_fn replicate_;  // written before the first submit, read by the writer thread
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<pending> queue_;
  size_t eager_ = 0;                // sets in queue_ submitted with submit()
  clock::time_point lazy_since_{};  // when the oldest lazy set in queue_ was queued
  bool stopping_ = false;
  group_commit_stats stats_;
  std::once_flag stop_once_;
  std::thread thread_;  // last: starts running once every other member is constructed
};

}  // namespace sb::storage
