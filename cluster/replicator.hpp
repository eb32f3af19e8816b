// The owner's side of replication (docs/replication.md). Every committed group-commit round
// goes to the backups of each partition it wrote, one message per backup node per round, and
// the round's appends are answered (its callbacks run) once every partition in it has been
// synced by at least one backup too (W = 2 of R = 3: the owner and one backup), at once for a
// partition without backups. A backup that lacks the previous round is caught up from the
// recent rounds kept here, or by a full copy of the partition (partition_copy) when they do not
// reach back far enough. A backup sealed at a later epoch means another node took the
// partition over: the waiting appends fail and the partition is fenced here until etcd names
// the new owner. A change of the replicas the controller asks for (next_replicas) is made
// here, by the owner, once every newcomer has caught up; until then only the record's
// replicas count. Messages: cluster/replication_messages.hpp.
#pragma once
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "cluster/cluster_view.hpp"
#include "cluster/copy_workers.hpp"
#include "cluster/replication_messages.hpp"
#include "codec/metrics.hpp"
#include "storage/stream_store.hpp"

namespace sb::cluster {

struct replicator_deps {
  std::shared_ptr<cluster_view> view;
  storage::stream_store* store = nullptr;
  std::string secret;              // signs full copies (auth.secret)
  caf::actor registry;             // stops the owners of a fenced partition
  copy_workers* copies = nullptr;  // runs full copies
  codec::metrics* metrics = nullptr;
  // Makes `next` (p's record as it was at `mod_revision`, with other replicas) etcd's record
  // of p, by compare-and-swap, off the actor's thread; answers the replicator
  // (rswitched_atom, p, revision), revision 0 if refused or failed.
  std::function<void(uint16_t p, int64_t mod_revision, partition_record next, caf::actor reply_to)>
      switch_replicas;
};

struct replicator_state {
  using position = std::pair<uint64_t, uint64_t>;  // (epoch, lsn)
  struct follower {
    enum class mode { probing, live, copying } now = mode::probing;
    position at{0, 0};    // its last known position
    position sent{0, 0};  // the last round sent to it while live
    bool asking = false;  // a state request is out
    std::string storage;  // its data directory's uuid, as it last said
    std::chrono::steady_clock::time_point retry_after{};
  };
  struct partition {
    uint64_t epoch = 0;  // the owner epoch the kept rounds belong to
    std::deque<storage::replica_round> recent;
    size_t recent_bytes = 0;
    // Every node that gets the rounds: the record's backups and the newcomers of a pending
    // change (next_replicas). Only `voters` (the record's backups) confirm a round.
    std::map<std::string, follower> followers;
    std::vector<std::string> voters;
    bool change_pending = false;  // next_replicas, or a voter on storage etcd does not list
    // A switch of the replicas is out (or done at `switched_at` and not yet in the view): no
    // round is answered meanwhile, as neither the old nor the new replicas alone may vouch.
    bool switching = false;
    int64_t switched_at = 0;
  };
  struct waiting {
    replication_job_ptr job;
    std::vector<std::tuple<uint16_t, uint64_t, uint64_t>> needs;  // (partition, epoch, lsn)
  };
  std::map<uint16_t, partition> parts;
  std::deque<waiting> queue;
  std::map<std::string, caf::actor> peers;  // node → its registry
  static inline const char* name = "sb.replicator";
};

caf::behavior replicator(caf::stateful_actor<replicator_state>* self, replicator_deps deps);

}  // namespace sb::cluster
