// The janitor: a detached actor (its own thread, so RocksDB scans never hold up a scheduler
// thread) that periodically deletes expired idempotency records of the partitions this node
// serves (`serves`; empty = all), so two nodes never sweep one partition.
#pragma once
#include <chrono>

#include <caf/all.hpp>

#include "codec/metrics.hpp"
#include "storage/stream_store.hpp"

namespace sb {

caf::behavior janitor(caf::event_based_actor* self, storage::stream_store* store,
                      std::chrono::milliseconds every,
                      storage::stream_store::partition_filter serves = {});

}  // namespace sb
