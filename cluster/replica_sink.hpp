// A node's side of being a backup (docs/replication.md): applies the rounds owners send, by the
// replica rules of stream_store::apply_replicated (above the sealed epoch, on top of the round
// named as previous, synced), seals partitions for a takeover and reports its position. Its
// messages are in cluster/replication_messages.hpp; peers reach it through the registry.
// Spawn it detached: every call may fsync, and a thread of its own keeps that off CAF's
// workers.
#pragma once
#include <caf/all.hpp>

#include "storage/stream_store.hpp"

namespace sb::cluster {

caf::behavior replica_sink(caf::event_based_actor* self, storage::stream_store* store);

}  // namespace sb::cluster
