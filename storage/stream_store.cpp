#include "storage/stream_store.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <thread>

#include "base/partition.hpp"
#include "schema/record.capnp.h"
#include "storage/keys.hpp"
#include "storage/store_detail.hpp"

namespace sb::storage {
namespace {

using keys::record_type;

std::string to_bytes(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// A first segment that holds the whole record (root, fields and `text_bytes` of text): the
// default one (8 KiB, zeroed) costs more than encoding a typical record.
unsigned segment_words(size_t text_bytes) {
  return static_cast<unsigned>(16 + text_bytes / sizeof(capnp::word));
}

std::string text(capnp::Text::Reader t) {
  return std::string(t.begin(), t.size());
}

// Copies stored values into 8-byte-aligned words, as FlatArrayMessageReader needs: RocksDB
// slices carry no alignment guarantee. Reused across a scan so a page allocates once.
class aligned_buffer {
 public:
  kj::ArrayPtr<const capnp::word> copy(const rocksdb::Slice& value) {
    const size_t words = (value.size() + sizeof(capnp::word) - 1) / sizeof(capnp::word);
    if (words > words_.size()) words_ = kj::heapArray<capnp::word>(std::max<size_t>(words, 64));
    if (words > 0) {
      words_[words - 1] = {};
      std::memcpy(words_.begin(), value.data(), value.size());
    }
    return words_.slice(0, words);
  }

 private:
  kj::Array<capnp::word> words_;
};

// Hands the stored value's root to `use`.
template <typename Schema, typename Use>
auto decode(aligned_buffer& buffer, const rocksdb::Slice& value, Use&& use) {
  try {
    capnp::FlatArrayMessageReader reader(buffer.copy(value));
    return use(reader.getRoot<Schema>());
  } catch (const kj::Exception& e) {
    throw std::runtime_error(std::string("storage: corrupt record: ") + e.getDescription().cStr());
  }
}

template <typename Schema, typename Use>
auto decode(const rocksdb::Slice& value, Use&& use) {
  aligned_buffer buffer;
  return decode<Schema>(buffer, value, std::forward<Use>(use));
}

stored_entry decode_entry(aligned_buffer& buffer, const rocksdb::Slice& value) {
  return decode<schema::Entry>(buffer, value, [](schema::Entry::Reader e) {
    return stored_entry{.seq = e.getSeq(),
                        .id = text(e.getId()),
                        .ts_ms = e.getTsMs(),
                        .kind = text(e.getKind()),
                        .data = text(e.getData()),
                        .idempotency_key = text(e.getIdempotencyKey())};
  });
}

int64_t expires_at_ms(aligned_buffer& buffer, const rocksdb::Slice& value) {
  return decode<schema::IdempotencyRecord>(
      buffer, value, [](schema::IdempotencyRecord::Reader r) { return r.getExpiresAtMs(); });
}

using detail::check;
using detail::fail;
using detail::get;

// The stream's entries with first <= seq <= last, ascending or descending, at most `limit`.
// The iterate bounds keep RocksDB inside that key range: a page costs only what it returns.
std::vector<stored_entry> scan(rocksdb::DB& db, std::string_view stream, uint64_t first,
                               uint64_t last, size_t limit, bool ascending) {
  std::vector<stored_entry> out;
  if (limit == 0 || first > last) return out;
  const std::string lower = keys::entry_key(stream, first);
  const std::string last_key = keys::entry_key(stream, last);
  const std::string upper = last_key + '\0';  // the smallest key after last_key
  const rocksdb::Slice lower_bound(lower), upper_bound(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_bound;
  ro.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro));
  aligned_buffer buffer;
  if (ascending) {
    for (it->Seek(lower); it->Valid() && out.size() < limit; it->Next()) {
      out.push_back(decode_entry(buffer, it->value()));
    }
  } else {
    for (it->SeekForPrev(last_key); it->Valid() && out.size() < limit; it->Prev()) {
      out.push_back(decode_entry(buffer, it->value()));
    }
  }
  check("scan", it->status());
  return out;
}

// The highest seq <= at_most stored for the stream, 0 if none.
uint64_t newest_seq(rocksdb::DB& db, std::string_view stream, uint64_t at_most) {
  const std::string lower = keys::stream_prefix(record_type::entry, stream);
  const rocksdb::Slice lower_bound(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_bound;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro));
  it->SeekForPrev(keys::entry_key(stream, at_most));
  if (!it->Valid()) {
    check("last_seq", it->status());
    return 0;
  }
  return keys::entry_seq(it->key().ToStringView());
}

bool has(const std::vector<rocksdb::CompressionType>& supported, rocksdb::CompressionType t) {
  return std::find(supported.begin(), supported.end(), t) != supported.end();
}

rocksdb::Options make_options(const store_options& opts) {
  rocksdb::Options o;
  if (opts.env) o.env = opts.env.get();
  o.create_if_missing = opts.create_if_missing;
  o.IncreaseParallelism(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  // Appends dominate: larger and more memtables mean fewer L0 files and no write stalls while
  // one memtable flushes.
  o.write_buffer_size = 128 << 20;
  o.max_write_buffer_number = 4;
  o.level_compaction_dynamic_level_bytes = true;
  o.keep_log_file_num = 5;

  // Debian's librocksdb links lz4/zstd today; a build without them must still open the store.
  const auto supported = rocksdb::GetSupportedCompressions();
  o.compression = has(supported, rocksdb::kLZ4Compression)      ? rocksdb::kLZ4Compression
                  : has(supported, rocksdb::kSnappyCompression) ? rocksdb::kSnappyCompression
                                                                : rocksdb::kNoCompression;
  o.bottommost_compression = has(supported, rocksdb::kZSTD) ? rocksdb::kZSTD : o.compression;

  // Cursor and idempotency lookups are point reads, mostly of keys that exist or never did.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

constexpr size_t purge_chunk = 1024;

// Calls visit(key, value) for every record of `type`, partition by partition, in key order,
// in the partitions `include` accepts (all when it is empty).
template <typename Visit>
void scan_type(rocksdb::DB& db, record_type type, const char* what,
               const stream_store::partition_filter& include, Visit&& visit) {
  for (uint32_t partition = 0; partition < partition_count; ++partition) {
    const partition_id p{static_cast<uint16_t>(partition)};
    if (include && !include(p)) continue;
    const std::string lower = keys::type_prefix(p, type);
    const std::string upper = keys::prefix_end(lower);
    const rocksdb::Slice lower_bound(lower), upper_bound(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_bound;
    ro.iterate_upper_bound = &upper_bound;
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro));
    for (it->Seek(lower); it->Valid(); it->Next()) visit(it->key(), it->value());
    check(what, it->status());
  }
}

}  // namespace

void write_set::put_entry(std::string_view stream, const stored_entry& e) {
  capnp::MallocMessageBuilder message(
      segment_words(e.id.size() + e.kind.size() + e.data.size() + e.idempotency_key.size()));
  auto root = message.initRoot<schema::Entry>();
  root.setSeq(e.seq);
  root.setId(e.id);
  root.setTsMs(e.ts_ms);
  root.setKind(e.kind);
  root.setData(e.data);
  root.setIdempotencyKey(e.idempotency_key);
  ops_.push_back({keys::entry_key(stream, e.seq), to_bytes(message)});
}

void write_set::put_cursor(std::string_view stream, std::string_view principal, uint64_t seq) {
  capnp::MallocMessageBuilder message(segment_words(0));
  message.initRoot<schema::Cursor>().setSeq(seq);
  ops_.push_back({keys::cursor_key(stream, principal), to_bytes(message)});
}

void write_set::put_idempotency(std::string_view stream, std::string_view key,
                                const idempotency_hit& hit, int64_t expires_at_ms) {
  capnp::MallocMessageBuilder message(segment_words(hit.id.size()));
  auto root = message.initRoot<schema::IdempotencyRecord>();
  root.setSeq(hit.seq);
  root.setId(hit.id);
  root.setExpiresAtMs(expires_at_ms);
  ops_.push_back({keys::idempotency_key(stream, key), to_bytes(message)});
}

void write_set::put_state(std::string_view stream, std::string_view json) {
  capnp::MallocMessageBuilder message(segment_words(json.size()));
  message.initRoot<schema::OwnerState>().setData(capnp::Text::Reader(json.data(), json.size()));
  ops_.push_back({keys::state_key(stream), to_bytes(message)});
}

void write_set::put_outbox(const outbox_record& r) {
  capnp::MallocMessageBuilder message(
      segment_words(r.id.size() + r.stream.size() + r.payload.size() + r.last_error.size()));
  auto root = message.initRoot<schema::OutboxItem>();
  root.setId(r.id);
  root.setStream(r.stream);
  root.setSeq(r.seq);
  root.setCreatedMs(r.created_ms);
  root.setPayload(r.payload);
  root.setAttempts(r.attempts);
  root.setNextAttemptMs(r.next_attempt_ms);
  root.setLastError(r.last_error);
  root.setFailed(r.failed);
  ops_.push_back({keys::outbox_key(r.stream, r.id), to_bytes(message)});
}

void write_set::erase_outbox(std::string_view stream, std::string_view id) {
  ops_.push_back({keys::outbox_key(stream, id), {}, true});
}

std::unique_ptr<stream_store> stream_store::open(const store_options& opts, std::string& error) {
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(make_options(opts), opts.path, &db);
  if (!status.ok()) {
    delete db;  // Open leaves it null on failure; nothing half-open survives
    error = one_line("storage: cannot open " + opts.path + ": " + status.ToString());
    return nullptr;
  }
  std::unique_ptr<stream_store> store(new stream_store(db, opts.env));
  try {
    store->load_metadata();
  } catch (const std::exception& e) {
    error = one_line(e.what());
    return nullptr;
  }
  return store;
}

stream_store::stream_store(rocksdb::DB* db, std::shared_ptr<rocksdb::Env> env)
    : env_(std::move(env)), db_(db) {}

stream_store::~stream_store() {
  // A destructor cannot report a failed close; every acknowledged write is in the WAL already.
  static_cast<void>(db_->Close());
}

uint64_t stream_store::last_seq(std::string_view stream) const {
  return newest_seq(*db_, stream, std::numeric_limits<uint64_t>::max());
}

std::vector<stored_entry> stream_store::read_after(std::string_view stream, uint64_t after,
                                                   size_t limit) const {
  if (after == std::numeric_limits<uint64_t>::max()) return {};
  return scan(*db_, stream, after + 1, std::numeric_limits<uint64_t>::max(), limit, true);
}

std::vector<stored_entry> stream_store::read_before(std::string_view stream, uint64_t before,
                                                    size_t limit) const {
  if (limit == 0 || before == 0) return {};
  const uint64_t newest = newest_seq(*db_, stream, before - 1);
  if (newest == 0) return {};
  // Seqs are dense, so the page is [newest - limit + 1, newest]. It is read forward and
  // reversed because walking a memtable backward costs a skiplist search per step.
  const uint64_t oldest = newest >= limit - 1 ? newest - (limit - 1) : 0;
  std::vector<stored_entry> ascending = scan(*db_, stream, oldest, newest, limit, true);
  std::vector<stored_entry> out(std::make_move_iterator(ascending.rbegin()),
                                std::make_move_iterator(ascending.rend()));
  // A gap in the seqs (a damaged or hand-edited store) leaves the page short: fill it from
  // the older entries.
  if (out.size() < limit && oldest > 0) {
    auto older = scan(*db_, stream, 0, oldest - 1, limit - out.size(), false);
    out.insert(out.end(), std::make_move_iterator(older.begin()),
               std::make_move_iterator(older.end()));
  }
  return out;
}

uint64_t stream_store::cursor(std::string_view stream, std::string_view principal) const {
  auto value = get(*db_, keys::cursor_key(stream, principal));
  if (!value) return 0;
  return decode<schema::Cursor>(*value, [](schema::Cursor::Reader c) { return c.getSeq(); });
}

std::optional<idempotency_hit> stream_store::idempotency(std::string_view stream,
                                                         std::string_view key,
                                                         int64_t now_ms) const {
  auto value = get(*db_, keys::idempotency_key(stream, key));
  if (!value) return std::nullopt;
  return decode<schema::IdempotencyRecord>(
      *value, [now_ms](schema::IdempotencyRecord::Reader r) -> std::optional<idempotency_hit> {
        if (r.getExpiresAtMs() <= now_ms) return std::nullopt;
        return idempotency_hit{.seq = r.getSeq(), .id = text(r.getId())};
      });
}

std::optional<std::string> stream_store::state(std::string_view stream) const {
  auto value = get(*db_, keys::state_key(stream));
  if (!value) return std::nullopt;
  return decode<schema::OwnerState>(*value,
                                    [](schema::OwnerState::Reader r) { return text(r.getData()); });
}

std::vector<outbox_record> stream_store::outbox(const partition_filter& include) const {
  std::vector<outbox_record> out;
  aligned_buffer buffer;
  scan_type(
      *db_, record_type::outbox, "outbox scan", include,
      [&](const rocksdb::Slice&, const rocksdb::Slice& value) {
        out.push_back(decode<schema::OutboxItem>(buffer, value, [](schema::OutboxItem::Reader r) {
          return outbox_record{.id = text(r.getId()),
                               .stream = text(r.getStream()),
                               .seq = r.getSeq(),
                               .created_ms = r.getCreatedMs(),
                               .payload = text(r.getPayload()),
                               .attempts = r.getAttempts(),
                               .next_attempt_ms = r.getNextAttemptMs(),
                               .last_error = text(r.getLastError()),
                               .failed = r.getFailed()};
        }));
      });
  return out;
}

size_t stream_store::purge_expired_idempotency(int64_t now_ms, const partition_filter& include) {
  size_t purged = 0;
  std::vector<std::string> expired;
  aligned_buffer buffer;
  scan_type(*db_, record_type::idempotency, "purge", include,
            [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
              if (expires_at_ms(buffer, value) > now_ms) return;
              expired.push_back(key.ToString());
              if (expired.size() == purge_chunk) {
                purged += purge_still_expired(expired, now_ms);
                expired.clear();
              }
            });
  return purged + purge_still_expired(expired, now_ms);
}

size_t stream_store::purge_still_expired(const std::vector<std::string>& keys, int64_t now_ms) {
  if (keys.empty()) return 0;
  rocksdb::WriteBatch batch;
  aligned_buffer buffer;
  std::lock_guard lock(write_mutex_);
  for (const auto& key : keys) {
    auto value = get(*db_, key);
    if (value && expires_at_ms(buffer, *value) <= now_ms) check("purge", batch.Delete(key));
  }
  if (batch.Count() == 0) return 0;
  // Not synced: a delete lost in a crash is redone by the next sweep.
  check("purge", db_->Write(rocksdb::WriteOptions(), &batch));
  return batch.Count();
}

}  // namespace sb::storage
