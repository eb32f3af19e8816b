// What replication moves between the replicas of a partition (docs/replication.md): the
// owner's log is a sequence of rounds, one per group commit that wrote to the partition, each
// named by (epoch, lsn) and chained to the round before it, as Raft chains entries by
// (term, index). A replica applies a round only on top of the round it names as its previous
// one, so two replicas at the same (epoch, lsn) hold the same records. Plain data; no I/O.
#pragma once
#include <cstdint>
#include <string>
#include <tuple>

namespace sb::storage {

// The replication position of one partition on this node (node-local metadata, never copied
// with the partition's records).
struct replica_state {
  uint64_t sealed_epoch = 0;  // rounds of a lower epoch are refused (the takeover's fence)
  uint64_t last_epoch = 0;    // the last round applied here
  uint64_t last_lsn = 0;
  // A full copy is under way: its first chunk removed what was here and its last has not yet
  // arrived, so this replica may lack rounds it once synced. It takes no rounds, and a
  // takeover does not count it (docs/replication.md).
  bool copying = false;
  bool operator==(const replica_state&) const = default;
  // Which of two tails is further: epochs first (a later owner's log wins), then lsn.
  bool behind(const replica_state& o) const {
    return std::tie(last_epoch, last_lsn) < std::tie(o.last_epoch, o.last_lsn);
  }
};

// One group-commit round of one partition, as the owner sends it to its backups.
struct replica_round {
  uint16_t partition = 0;
  uint64_t epoch = 0;  // the owner's epoch
  uint64_t lsn = 0;    // prev_lsn + 1
  uint64_t prev_epoch = 0;
  uint64_t prev_lsn = 0;
  std::string ops;  // the round's records of this partition (storage/op_codec.hpp)
};

// A takeover's request to one replica: from now on refuse rounds of epochs below `epoch`.
struct seal_request {
  uint16_t partition = 0;
  uint64_t epoch = 0;
};

// A backup's answer to one round.
enum class replica_verdict_kind : uint8_t {
  applied,   // synced here (or already was)
  stale,     // sealed at a later epoch: the sender is no longer the owner
  mismatch,  // the previous round is not this replica's last: catch it up first
  failed,    // storage error
};
struct replica_verdict {
  uint16_t partition = 0;
  replica_verdict_kind kind = replica_verdict_kind::failed;
  replica_state state;  // this replica's position after the round
};

}  // namespace sb::storage
