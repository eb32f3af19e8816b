// The durable stream log: the only code that touches RocksDB. Stream entries, per-principal
// acked cursors and idempotency keys, every key prefixed by the stream's partition (see
// docs/storage.md). Reads are safe from any thread; writes go through `group_commit`.
// Read and purge errors (I/O, corruption) throw std::runtime_error: reading them as "empty"
// could make a writer reuse seqs. Stream names must not contain 0x00 (std::invalid_argument).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.hpp"
#include "storage/replica_state.hpp"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace sb::storage {

struct stored_entry {
  uint64_t seq = 0;
  std::string id;
  int64_t ts_ms = 0;
  std::string kind;
  std::string data;  // JSON
  std::string idempotency_key;
};

struct idempotency_hit {
  uint64_t seq = 0;
  std::string id;
};

// An outbound delivery waiting for its channel (see actors/outbox.hpp).
struct outbox_record {
  std::string id;      // the entry's id
  std::string stream;  // the entry's stream
  uint64_t seq = 0;
  int64_t created_ms = 0;
  std::string payload;  // JSON
  uint32_t attempts = 0;
  int64_t next_attempt_ms = 0;
  std::string last_error;
  bool failed = false;
};

// A set of writes applied atomically by one RocksDB WriteBatch.
class write_set {
 public:
  void put_entry(std::string_view stream, const stored_entry& e);
  void put_cursor(std::string_view stream, std::string_view principal, uint64_t seq);
  void put_idempotency(std::string_view stream, std::string_view key, const idempotency_hit& hit,
                       int64_t expires_at_ms);
  // Replaces the owner state of the stream (JSON), atomically with the rest of the set.
  void put_state(std::string_view stream, std::string_view json);
  // Writes or replaces an outbox record; erase_outbox deletes it.
  void put_outbox(const outbox_record& r);
  void erase_outbox(std::string_view stream, std::string_view id);
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }

  struct op {
    std::string key;
    std::string value;
    bool erase = false;
  };
  const std::vector<op>& ops() const { return ops_; }

 private:
  std::vector<op> ops_;
};

struct store_options {
  std::string path;
  bool create_if_missing = true;
  // Optional RocksDB environment; tests inject I/O faults through it. Kept alive by the store.
  std::shared_ptr<rocksdb::Env> env = nullptr;
};

class stream_store {
 public:
  // Opens (or creates) the store. On failure returns nullptr and sets `error` to one line.
  static std::unique_ptr<stream_store> open(const store_options& opts, std::string& error);
  ~stream_store();
  stream_store(const stream_store&) = delete;
  stream_store& operator=(const stream_store&) = delete;

  // Highest seq stored for the stream, 0 when empty.
  uint64_t last_seq(std::string_view stream) const;
  // Entries with seq > after, ascending, at most `limit`.
  std::vector<stored_entry> read_after(std::string_view stream, uint64_t after, size_t limit) const;
  // Entries with seq < before, descending (newest first), at most `limit`.
  std::vector<stored_entry> read_before(std::string_view stream, uint64_t before,
                                        size_t limit) const;
  // The principal's acked seq on the stream, 0 if it never acked.
  uint64_t cursor(std::string_view stream, std::string_view principal) const;
  // A live (not expired at now_ms) idempotency record.
  std::optional<idempotency_hit> idempotency(std::string_view stream, std::string_view key,
                                             int64_t now_ms) const;

  // The owner state last written with put_state, if any.
  std::optional<std::string> state(std::string_view stream) const;

  // Which partitions a scan covers (the ones this node serves); every partition when empty.
  using partition_filter = std::function<bool(partition_id)>;

  // Every outbox record of the partitions `include` accepts (pending and failed), in key order.
  std::vector<outbox_record> outbox(const partition_filter& include = {}) const;

  // Partition handoff (cluster/handoff.hpp) and replica catch-up (cluster/replica_copy.hpp).
  // Calls visit(key, value) for every record of partition p, in key order, from one
  // consistent snapshot, and returns the replication position of that snapshot.
  replica_state export_partition(
      partition_id p, const std::function<void(std::string_view, std::string_view)>& visit) const;
  // Writes records received for partition p in one synced batch; with `reset` the partition's
  // existing records are deleted first in the same batch. With `position` (the sender's, on the
  // last chunk) this replica's position becomes it, in the same batch (its sealed epoch never
  // goes down). Every key must belong to p. Returns "" or the error.
  std::string import_partition(partition_id p,
                               const std::vector<std::pair<std::string, std::string>>& records,
                               bool reset, const replica_state* position = nullptr);
  // Deletes every record of partition p (after it moved away) and forgets its position.
  std::string drop_partition(partition_id p);
  // The storage fence: the epoch at which this node last held partition p (0 = never), kept
  // in node-local metadata that never moves with a partition. set_* is synced.
  uint64_t partition_epoch(partition_id p) const;
  // Also opens p for writes again (a node that holds p at a new epoch writes it).
  std::string set_partition_epoch(partition_id p, uint64_t epoch);
  // A handoff closes p to apply() before it copies p away, so no write can land here after the
  // copy was taken (and be answered while the new owner lacks it): apply() then fails. Opened
  // again if the handoff is called off, or by set_partition_epoch. In memory only.
  void set_writable(partition_id p, bool writable);
  // Why apply() would refuse `set` now (it writes a partition closed by set_writable), or "".
  std::string refusal(const write_set& set) const;

  // Applies the sets atomically; with `sync` the call returns after the WAL is fsynced.
  // With `rounds`, every partition the sets write also gets its next round (lsn + 1 at the
  // partition's fence epoch, chained to its last) in the same batch, returned for the backups.
  // Returns an empty string on success, else the error. Called by group_commit's thread.
  std::string apply(const std::vector<const write_set*>& sets, bool sync,
                    std::vector<replica_round>* rounds = nullptr);

  // Replication (storage/replica_state.hpp); every write below is synced.
  replica_state replica(partition_id p) const;
  // A backup's side: applies each round only above the sealed epoch and on top of the round it
  // names as previous; every accepted round in one batch, with the new positions.
  std::vector<replica_verdict> apply_replicated(const std::vector<replica_round>& rounds);
  // Seals every requested partition (from now on refuses rounds of epochs below its epoch) in
  // one synced batch; returns their positions in request order, or nullopt and the error.
  std::optional<std::vector<replica_state>> seal(const std::vector<seal_request>& requests,
                                                 std::string& error);
  // This store's identity, made on first open: a wiped data directory is a new replica.
  const std::string& storage_uuid() const { return uuid_; }

  // Deletes expired idempotency records of the partitions `include` accepts; returns how many.
  // Safe to call from any thread.
  size_t purge_expired_idempotency(int64_t now_ms, const partition_filter& include = {});

 private:
  stream_store(rocksdb::DB* db, std::shared_ptr<rocksdb::Env> env);
  // Loads the fences and replication positions and makes the storage uuid if missing.
  void load_metadata();
  std::string write_position(uint16_t p, const replica_state& s, bool sync);
  // closed_ and closed_count_ together; write_mutex_ held.
  void set_closed_locked(uint16_t p, bool closed);
  static std::string handed_over(uint16_t p);  // apply()'s and refusal()'s answer
  size_t purge_still_expired(const std::vector<std::string>& keys, int64_t now_ms);

  std::shared_ptr<rocksdb::Env> env_;  // declared before db_: must outlive it
  std::unique_ptr<rocksdb::DB> db_;
  // Serializes apply() with purge's re-check-then-delete, so a sweep never deletes an
  // idempotency record that a concurrent append has just renewed.
  mutable std::mutex write_mutex_;
  // Node-local metadata, read once at open and then kept here (under write_mutex_).
  std::vector<uint64_t> fences_;
  std::vector<replica_state> positions_;
  std::vector<bool> closed_;             // handed over: apply() refuses writes (set_writable)
  std::atomic<size_t> closed_count_{0};  // refusal()'s fast path: usually nothing is closed
  std::string uuid_;
};

}  // namespace sb::storage
