// Copying one partition's records to another node, both sides: the handoff's transfer to the
// new owner (kind "import") and a backup's catch-up from its owner (kind "replica"). The copy
// is one RocksDB snapshot, sent as chunks of at most 512 KiB (below the receiver's
// limits.max_body) of op_codec records to POST /internal/partitions/<p>/<kind>, each signed with
// HMAC-SHA256(auth.secret) over every parameter and the body, so a captured chunk cannot be
// replayed for another partition, epoch, kind or position. The first chunk resets the
// receiver's copy; the last one sets its replication position to the snapshot's.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "storage/stream_store.hpp"

namespace sb::cluster::partition_copy {

struct chunk_params {
  std::string kind;  // "import" or "replica"
  uint16_t partition = 0;
  uint64_t epoch = 0;  // import: the epoch the move commits; replica: the owner's epoch
  bool reset = false;  // first chunk
  bool last = false;
  storage::replica_state position;  // the snapshot's (sealed_epoch, last_epoch, last_lsn)
};

std::string sign(const std::string& secret, const chunk_params& c, const std::string& body);

// Sends every record of partition p to http://<to_http>/internal/partitions/<p>/<kind>.
// Returns "" and the snapshot's position in `sent`, or the error.
std::string send(const storage::stream_store& store, const std::string& secret,
                 const std::string& kind, uint16_t p, uint64_t epoch, const std::string& to_http,
                 storage::replica_state& sent);

struct answer {
  unsigned status;
  std::string body;
};
// The receiving side: checks the signature, then `admit` (nullopt to go on, or the refusal),
// then writes the chunk; after the last chunk `finish` runs (its "" or error decides the
// answer), e.g. to write the handoff's storage fence.
answer receive(storage::stream_store& store, const std::string& secret, const chunk_params& c,
               const std::string& signature, const std::string& body,
               const std::function<std::optional<answer>()>& admit,
               const std::function<std::string()>& finish = {});

}  // namespace sb::cluster::partition_copy
