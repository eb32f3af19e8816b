// stream_store's partition-level operations: handoff export/import, the serving fence, and the
// replication position with its rules (storage/replica_state.hpp).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>

#include "base/partition.hpp"
#include "storage/keys.hpp"
#include "storage/op_codec.hpp"
#include "storage/store_detail.hpp"
#include "storage/stream_store.hpp"

namespace sb::storage {

namespace {

using detail::check;
using detail::get;
using detail::get_u64;
using detail::meta_key;
using detail::put_u64;

constexpr char fence_tag = 'F';
constexpr char position_tag = 'R';
const std::string uuid_key =
    "\xff\xff"
    "U";

std::string encode_position(const replica_state& s) {
  std::string out;
  put_u64(out, s.sealed_epoch);
  put_u64(out, s.last_epoch);
  put_u64(out, s.last_lsn);
  if (s.copying) out.push_back('C');
  return out;
}

replica_state decode_position(const std::optional<std::string>& value) {
  // 24 bytes, and a 25th while a full copy is under way.
  if (!value || (value->size() != 24 && value->size() != 25)) return {};
  return {get_u64(*value, 0), get_u64(*value, 8), get_u64(*value, 16), value->size() == 25};
}

std::string encode_epoch(uint64_t epoch) {
  std::string out;
  put_u64(out, epoch);
  return out;
}

std::string make_uuid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(hex[gen() & 0xf]);
  }
  return out;
}

std::string write(rocksdb::DB& db, rocksdb::WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status status = db.Write(wo, &batch);
  return status.ok() ? std::string() : status.ToString();
}

}  // namespace

void stream_store::load_metadata() {
  std::lock_guard lock(write_mutex_);
  fences_.assign(partition_count, 0);
  closed_.assign(partition_count, false);
  closed_count_ = 0;
  positions_.assign(partition_count, {});
  for (uint16_t p = 0; p < partition_count; ++p) {
    if (auto v = get(*db_, meta_key(fence_tag, p)); v && v->size() == 8)
      fences_[p] = get_u64(*v, 0);
    positions_[p] = decode_position(get(*db_, meta_key(position_tag, p)));
  }
  if (auto v = get(*db_, uuid_key)) {
    uuid_ = *v;
    return;
  }
  // Not synced: the next synced write carries it, and one lost in a crash only makes this
  // directory look new (it then counts as no replica until copied) — the safe direction.
  uuid_ = make_uuid();
  check("storage uuid", db_->Put(rocksdb::WriteOptions(), uuid_key, uuid_));
}

replica_state stream_store::export_partition(
    partition_id id, const std::function<void(std::string_view, std::string_view)>& visit) const {
  const uint16_t p = id.value();
  const std::string lower = detail::partition_begin(p);
  const std::string upper = keys::prefix_end(lower);
  const rocksdb::Slice lower_bound(lower), upper_bound(upper);
  // Released however the scan ends (visit may throw).
  std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>> snapshot(
      db_->GetSnapshot(), [this](const rocksdb::Snapshot* s) { db_->ReleaseSnapshot(s); });
  const replica_state position =
      decode_position(get(*db_, meta_key(position_tag, p), snapshot.get()));
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();
  ro.iterate_lower_bound = &lower_bound;
  ro.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(lower); it->Valid(); it->Next())
    visit(std::string_view(it->key().data(), it->key().size()),
          std::string_view(it->value().data(), it->value().size()));
  check("partition export", it->status());
  return position;
}

std::string stream_store::import_partition(
    partition_id id, const std::vector<std::pair<std::string, std::string>>& records, bool reset,
    const replica_state* position) {
  const uint16_t p = id.value();
  if (p >= partition_count) return "no partition " + std::to_string(p);
  rocksdb::WriteBatch batch;
  if (reset) {
    const std::string lower = detail::partition_begin(p);
    if (auto s = batch.DeleteRange(lower, keys::prefix_end(lower)); !s.ok()) return s.ToString();
  }
  for (const auto& [key, value] : records) {
    if (!detail::in_partition(key, p)) return "a record outside partition " + std::to_string(p);
    if (auto s = batch.Put(key, value); !s.ok()) return s.ToString();
  }
  std::lock_guard lock(write_mutex_);
  replica_state next = positions_[p];
  if (position) {
    next.last_epoch = position->last_epoch;
    next.last_lsn = position->last_lsn;
    next.sealed_epoch = std::max(next.sealed_epoch, position->sealed_epoch);
    next.copying = false;
  } else if (reset) {
    // Mid-copy the records match no round: no replication round may land on them, and no
    // takeover may count them, until the last chunk sets the sender's position.
    next.last_epoch = next.last_lsn = 0;
    next.copying = true;
  }
  if (position || reset)
    if (auto s = batch.Put(meta_key(position_tag, p), encode_position(next)); !s.ok())
      return s.ToString();
  auto error = write(*db_, batch, true);
  if (error.empty()) positions_[p] = next;
  return error;
}

std::string stream_store::drop_partition(partition_id p) {
  replica_state forgotten{replica(p).sealed_epoch, 0, 0, false};
  return import_partition(p, {}, true, &forgotten);
}

uint64_t stream_store::partition_epoch(partition_id id) const {
  const uint16_t p = id.value();
  std::lock_guard lock(write_mutex_);
  return p < partition_count ? fences_[p] : 0;
}

std::string stream_store::set_partition_epoch(partition_id id, uint64_t epoch) {
  const uint16_t p = id.value();
  if (p >= partition_count) return "no partition " + std::to_string(p);
  rocksdb::WriteBatch batch;
  if (auto s = batch.Put(meta_key(fence_tag, p), encode_epoch(epoch)); !s.ok()) return s.ToString();
  std::lock_guard lock(write_mutex_);
  auto error = write(*db_, batch, true);
  if (error.empty()) {
    fences_[p] = epoch;
    set_closed_locked(p, false);
  }
  return error;
}

void stream_store::set_writable(partition_id id, bool writable) {
  const uint16_t p = id.value();
  if (p >= partition_count) return;
  std::lock_guard lock(write_mutex_);
  set_closed_locked(p, !writable);
}

void stream_store::set_closed_locked(uint16_t p, bool closed) {
  if (closed_[p] == closed) return;
  closed_[p] = closed;
  closed ? ++closed_count_ : --closed_count_;
}

std::string stream_store::handed_over(uint16_t p) {
  return "partition " + std::to_string(p) + " is being handed over: it takes no writes here";
}

std::string stream_store::refusal(const write_set& set) const {
  if (closed_count_.load() == 0) return {};
  std::lock_guard lock(write_mutex_);
  for (const auto& op : set.ops())
    if (const int p = op_codec::partition_of_key(op.key);
        p >= 0 && p < partition_count && closed_[p])
      return handed_over(static_cast<uint16_t>(p));
  return {};
}

replica_state stream_store::replica(partition_id id) const {
  const uint16_t p = id.value();
  std::lock_guard lock(write_mutex_);
  return p < partition_count ? positions_[p] : replica_state{};
}

std::string stream_store::apply(const std::vector<const write_set*>& sets, bool sync,
                                std::vector<replica_round>* rounds) {
  rocksdb::WriteBatch batch;
  // Each partition's records of this round, for its backups (only when replicating).
  std::map<uint16_t, std::string> by_partition;
  for (const write_set* set : sets) {
    for (const auto& op : set->ops()) {
      rocksdb::Status status = op.erase ? batch.Delete(op.key) : batch.Put(op.key, op.value);
      if (!status.ok()) return status.ToString();
      if (!rounds) continue;
      const int p = op_codec::partition_of_key(op.key);
      if (p >= 0 && p < partition_count)
        op_codec::append(by_partition[static_cast<uint16_t>(p)], op.key, op.value, op.erase);
    }
  }
  if (batch.Count() == 0) return {};
  std::lock_guard lock(write_mutex_);
  std::vector<std::pair<uint16_t, replica_state>> advanced;
  for (auto& [p, ops] : by_partition) {
    if (closed_[p]) return handed_over(p);
    const replica_state& now = positions_[p];
    // A takeover sealed this replica above the epoch this node still writes at: it is no
    // owner any more, and a round it wrote now could reach an unsealed backup and be answered.
    if (now.sealed_epoch > fences_[p])
      return "partition " + std::to_string(p) + " is sealed at epoch " +
             std::to_string(now.sealed_epoch) + " by a takeover";
    replica_round round{
        p, fences_[p], now.last_lsn + 1, now.last_epoch, now.last_lsn, std::move(ops)};
    replica_state next{std::max(now.sealed_epoch, round.epoch), round.epoch, round.lsn};
    if (auto s = batch.Put(meta_key(position_tag, p), encode_position(next)); !s.ok())
      return s.ToString();
    advanced.emplace_back(p, next);
    rounds->push_back(std::move(round));
  }
  auto error = write(*db_, batch, sync);
  if (!error.empty()) {
    if (rounds) rounds->clear();
    return error;
  }
  for (const auto& [p, next] : advanced) positions_[p] = next;
  return {};
}

std::vector<replica_verdict> stream_store::apply_replicated(
    const std::vector<replica_round>& rounds) {
  std::vector<replica_verdict> verdicts;
  verdicts.reserve(rounds.size());
  rocksdb::WriteBatch batch;
  std::lock_guard lock(write_mutex_);
  std::map<uint16_t, replica_state> changed;  // positions after this batch
  auto position = [&](uint16_t p) -> replica_state& {
    auto it = changed.find(p);
    return it != changed.end() ? it->second : changed.emplace(p, positions_[p]).first->second;
  };
  for (const auto& r : rounds) {
    replica_verdict v{r.partition, replica_verdict_kind::failed, {}};
    if (r.partition >= partition_count) {
      verdicts.push_back(v);
      continue;
    }
    replica_state& s = position(r.partition);
    if (r.epoch < s.sealed_epoch) {
      v.kind = replica_verdict_kind::stale;
    } else if (s.last_epoch == r.epoch && s.last_lsn >= r.lsn) {
      v.kind = replica_verdict_kind::applied;  // a resend of what is here already
    } else if (s.copying || s.last_epoch != r.prev_epoch || s.last_lsn != r.prev_lsn) {
      v.kind = replica_verdict_kind::mismatch;
    } else if (auto ops = op_codec::parse(r.ops);
               ops && std::all_of(ops->begin(), ops->end(), [&](const auto& op) {
                 return detail::in_partition(op.key, r.partition);
               })) {
      // Checked whole before any of it joins the batch: a bad round writes nothing.
      for (const auto& op : *ops)
        check("replica round", op.erase ? batch.Delete(op.key) : batch.Put(op.key, op.value));
      s = {std::max(s.sealed_epoch, r.epoch), r.epoch, r.lsn};
      v.kind = replica_verdict_kind::applied;
    }
    v.state = s;
    verdicts.push_back(v);
  }
  for (const auto& [p, s] : changed) {
    if (s == positions_[p]) continue;
    check("replica position", batch.Put(meta_key(position_tag, p), encode_position(s)));
  }
  if (batch.Count() > 0) {
    if (auto error = write(*db_, batch, true); !error.empty()) {
      for (auto& v : verdicts) {
        v.kind = replica_verdict_kind::failed;
        v.state = positions_[v.partition < partition_count ? v.partition : 0];
      }
      return verdicts;
    }
  }
  for (const auto& [p, s] : changed) positions_[p] = s;
  return verdicts;
}

std::optional<std::vector<replica_state>> stream_store::seal(
    const std::vector<seal_request>& requests, std::string& error) {
  std::lock_guard lock(write_mutex_);
  std::map<uint16_t, replica_state> next;
  for (const auto& r : requests) {
    if (r.partition >= partition_count) {
      error = "no partition " + std::to_string(r.partition);
      return std::nullopt;
    }
    auto [it, fresh] = next.try_emplace(r.partition, positions_[r.partition]);
    it->second.sealed_epoch = std::max(it->second.sealed_epoch, r.epoch);
  }
  rocksdb::WriteBatch batch;
  for (const auto& [p, s] : next) {
    if (s == positions_[p]) continue;
    if (auto st = batch.Put(meta_key(position_tag, p), encode_position(s)); !st.ok()) {
      error = st.ToString();
      return std::nullopt;
    }
  }
  if (batch.Count() > 0)
    if (error = write(*db_, batch, true); !error.empty()) return std::nullopt;
  std::vector<replica_state> out;
  out.reserve(requests.size());
  for (const auto& [p, s] : next) positions_[p] = s;
  for (const auto& r : requests) out.push_back(positions_[r.partition]);
  return out;
}

}  // namespace sb::storage
