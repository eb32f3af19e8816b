// Which sealed copy a takeover makes the partition's owner (docs/replication.md). A write was
// acknowledged once the owner and one backup of the record's `replicas` had synced it (W = 2),
// so any R − W + 1 of those replicas hold every acknowledged round between them, and the one
// with the furthest (epoch, lsn) holds them all. A copy counts only if it is one of the
// record's replicas, on the storage the record lists for it (a wiped directory is not that
// replica: KIP-903), and not in the middle of a full copy (its records were removed by the
// copy's first chunk). Pure; safe from any thread.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "storage/replica_state.hpp"

namespace sb::cluster {

// A replica's answer to a takeover's seal.
struct sealed_copy {
  std::string node;
  std::string storage;  // the uuid of the data directory that answered
  storage::replica_state state;
};

struct successor_choice {
  const sealed_copy* copy = nullptr;  // the new owner's copy; null if too few counted
  size_t counted = 0;                 // sealed copies that count
  size_t needed = 0;                  // R − W + 1
};

successor_choice choose_successor(const std::vector<replica_ref>& replicas,
                                  const std::vector<sealed_copy>& sealed);

}  // namespace sb::cluster
