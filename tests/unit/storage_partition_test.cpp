// stream_store's partition handoff surface: export_partition, import_partition, drop_partition,
// the partition_epoch storage fence, and the partition filter of outbox() and
// purge_expired_idempotency(). Every test writes the same kinds of records for streams in two
// partitions and checks that the operation touches exactly one of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "base/partition.hpp"
#include "storage/keys.hpp"
#include "storage/stream_store.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb::storage {
namespace {

using test::make_entry;
using test::open_store;
using test::stream_where;
using records = std::vector<std::pair<std::string, std::string>>;

constexpr int64_t far_future_ms = 4'000'000'000'000;

records exported(const stream_store& store, partition_id p) {
  records out;
  store.export_partition(p, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
  });
  return out;
}

std::vector<std::string> keys_of(const records& rs) {
  std::vector<std::string> out;
  for (const auto& [k, v] : rs) out.push_back(k);
  return out;
}

outbox_record outbox_of(const std::string& stream, const std::string& id, uint64_t seq) {
  return outbox_record{.id = id,
                       .stream = stream,
                       .seq = seq,
                       .created_ms = 1700000000000,
                       .payload = R"({"to":")" + stream + "\"}",
                       .attempts = 2,
                       .next_attempt_ms = 1700000005000,
                       .last_error = "timeout",
                       .failed = false};
}

// Every record kind for one stream: 3 entries, a cursor, a live idempotency key, an expired
// one, owner state and an outbox record.
void write_stream(stream_store& store, const std::string& stream) {
  write_set set;
  for (uint64_t seq = 1; seq <= 3; ++seq) set.put_entry(stream, make_entry(seq));
  set.put_cursor(stream, "alice", 2);
  set.put_idempotency(stream, "k-live", {.seq = 3, .id = "id-3"}, far_future_ms);
  set.put_idempotency(stream, "k-old", {.seq = 1, .id = "id-1"}, 1000);
  set.put_state(stream, R"({"owner":")" + stream + "\"}");
  set.put_outbox(outbox_of(stream, "id-3", 3));
  ASSERT_EQ(store.apply({&set}, true), "");
}

// The keys write_stream produces, sorted bytewise (RocksDB's order).
std::vector<std::string> keys_written(const std::string& stream) {
  std::vector<std::string> out;
  for (uint64_t seq = 1; seq <= 3; ++seq) out.push_back(keys::entry_key(stream, seq));
  out.push_back(keys::cursor_key(stream, "alice"));
  out.push_back(keys::idempotency_key(stream, "k-live"));
  out.push_back(keys::idempotency_key(stream, "k-old"));
  out.push_back(keys::state_key(stream));
  out.push_back(keys::outbox_key(stream, "id-3"));
  std::sort(out.begin(), out.end());
  return out;
}

// Whether `store` holds what write_stream wrote for `stream`.
void expect_stream(const stream_store& store, const std::string& stream) {
  auto entries = store.read_after(stream, 0, 10);
  ASSERT_EQ(entries.size(), 3u) << stream;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    const auto want = make_entry(seq);
    EXPECT_EQ(entries[seq - 1].seq, want.seq);
    EXPECT_EQ(entries[seq - 1].id, want.id);
    EXPECT_EQ(entries[seq - 1].ts_ms, want.ts_ms);
    EXPECT_EQ(entries[seq - 1].data, want.data);
  }
  EXPECT_EQ(store.last_seq(stream), 3u);
  EXPECT_EQ(store.cursor(stream, "alice"), 2u);
  auto hit = store.idempotency(stream, "k-live", 0);
  ASSERT_TRUE(hit.has_value()) << stream;
  EXPECT_EQ(hit->seq, 3u);
  EXPECT_EQ(hit->id, "id-3");
  EXPECT_EQ(store.state(stream), R"({"owner":")" + stream + "\"}");
}

void expect_no_stream(const stream_store& store, const std::string& stream) {
  EXPECT_TRUE(store.read_after(stream, 0, 10).empty()) << stream;
  EXPECT_EQ(store.last_seq(stream), 0u);
  EXPECT_EQ(store.cursor(stream, "alice"), 0u);
  EXPECT_FALSE(store.idempotency(stream, "k-live", 0).has_value());
  EXPECT_FALSE(store.idempotency(stream, "k-old", 0).has_value());
  EXPECT_FALSE(store.state(stream).has_value());
  for (const auto& r : store.outbox()) EXPECT_NE(r.stream, stream);
}

class StorePartition : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(store_, nullptr);
    ASSERT_NE(pa_, pb_);
    write_stream(*store_, a_);
    write_stream(*store_, b_);
  }

  const std::string a_ = "orders:m1";
  const partition_id pa_ = partition_of(a_);
  const std::string b_ = stream_where("orders:m", [this](partition_id p) { return p != pa_; });
  const partition_id pb_ = partition_of(b_);
  test::temp_dir dir_;
  std::unique_ptr<stream_store> store_ = open_store(dir_.path());
};

TEST_F(StorePartition, ExportHasExactlyThePartitionsKeysInKeyOrder) {
  const auto rs = exported(*store_, pa_);
  EXPECT_EQ(keys_of(rs), keys_written(a_));
  EXPECT_TRUE(std::is_sorted(rs.begin(), rs.end()));
  for (const auto& [k, v] : rs) {
    ASSERT_GE(k.size(), 2u);
    EXPECT_EQ(static_cast<uint8_t>(k[0]) * 256 + static_cast<uint8_t>(k[1]), pa_.value());
    EXPECT_FALSE(v.empty());
  }
  EXPECT_EQ(keys_of(exported(*store_, pb_)), keys_written(b_));
}

TEST_F(StorePartition, ExportOfAnEmptyPartitionVisitsNothing) {
  const partition_id empty = [&] {
    for (uint16_t p = 0;; ++p)
      if (partition_id{p} != pa_ && partition_id{p} != pb_) return partition_id{p};
  }();
  EXPECT_TRUE(exported(*store_, empty).empty());
}

TEST_F(StorePartition, ExportStopsAtThePartitionBoundary) {
  // Neighbouring partitions, and the last one whose key range ends at the top of the byte space.
  const std::string low = stream_where("n:", [](partition_id p) { return p == partition_id{41}; });
  const std::string high = stream_where("n:", [](partition_id p) { return p == partition_id{42}; });
  const std::string last =
      stream_where("n:", [](partition_id p) { return p.value() == partition_count - 1; });
  const std::string first = stream_where("n:", [](partition_id p) { return p == partition_id{0}; });
  test::temp_dir other_dir;
  auto other = open_store(other_dir.path());
  ASSERT_NE(other, nullptr);
  for (const auto& s : {low, high, last, first}) write_stream(*other, s);
  ASSERT_EQ(other->set_partition_epoch(partition_id{partition_count - 1}, 3), "");
  EXPECT_EQ(keys_of(exported(*other, partition_id{41})), keys_written(low));
  EXPECT_EQ(keys_of(exported(*other, partition_id{42})), keys_written(high));
  EXPECT_EQ(keys_of(exported(*other, partition_id{partition_count - 1})), keys_written(last));
  EXPECT_EQ(keys_of(exported(*other, partition_id{0})), keys_written(first));
}

TEST_F(StorePartition, ImportIntoAFreshStoreReadsTheSame) {
  test::temp_dir other_dir;
  auto other = open_store(other_dir.path());
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(other->import_partition(pa_, exported(*store_, pa_), true), "");

  expect_stream(*other, a_);
  const auto outbox = other->outbox();
  ASSERT_EQ(outbox.size(), 1u);
  const auto want = outbox_of(a_, "id-3", 3);
  EXPECT_EQ(outbox[0].id, want.id);
  EXPECT_EQ(outbox[0].stream, want.stream);
  EXPECT_EQ(outbox[0].seq, want.seq);
  EXPECT_EQ(outbox[0].created_ms, want.created_ms);
  EXPECT_EQ(outbox[0].payload, want.payload);
  EXPECT_EQ(outbox[0].attempts, want.attempts);
  EXPECT_EQ(outbox[0].next_attempt_ms, want.next_attempt_ms);
  EXPECT_EQ(outbox[0].last_error, want.last_error);
  EXPECT_EQ(outbox[0].failed, want.failed);

  // Nothing of the other partition came along.
  expect_no_stream(*other, b_);
  EXPECT_TRUE(exported(*other, pb_).empty());
  // Byte for byte what was exported.
  EXPECT_EQ(exported(*other, pa_), exported(*store_, pa_));
}

TEST_F(StorePartition, ImportInChunksAccumulates) {
  test::temp_dir other_dir;
  auto other = open_store(other_dir.path());
  ASSERT_NE(other, nullptr);
  const auto rs = exported(*store_, pa_);
  ASSERT_GE(rs.size(), 2u);
  const records first(rs.begin(), rs.begin() + rs.size() / 2);
  const records rest(rs.begin() + rs.size() / 2, rs.end());
  ASSERT_EQ(other->import_partition(pa_, first, true), "");
  ASSERT_EQ(other->import_partition(pa_, rest, false), "");
  EXPECT_EQ(exported(*other, pa_), rs);
  expect_stream(*other, a_);
}

TEST_F(StorePartition, ImportWithResetDeletesOnlyThatPartitionsOldRecords) {
  // The receiving store has stale data in both partitions.
  test::temp_dir other_dir;
  auto other = open_store(other_dir.path());
  ASSERT_NE(other, nullptr);
  const std::string stale_a = stream_where("stale:", [&](partition_id p) { return p == pa_; });
  write_stream(*other, stale_a);
  write_stream(*other, b_);
  ASSERT_EQ(other->set_partition_epoch(pa_, 2), "");

  ASSERT_EQ(other->import_partition(pa_, exported(*store_, pa_), true), "");

  expect_no_stream(*other, stale_a);
  expect_stream(*other, a_);
  EXPECT_EQ(keys_of(exported(*other, pa_)), keys_written(a_));
  // The other partition and the node-local fence are untouched.
  expect_stream(*other, b_);
  EXPECT_EQ(keys_of(exported(*other, pb_)), keys_written(b_));
  EXPECT_EQ(other->partition_epoch(pa_), 2u);
}

TEST_F(StorePartition, ImportWithoutResetKeepsExistingRecords) {
  test::temp_dir other_dir;
  auto other = open_store(other_dir.path());
  ASSERT_NE(other, nullptr);
  const std::string kept = stream_where("kept:", [&](partition_id p) { return p == pa_; });
  write_stream(*other, kept);
  ASSERT_EQ(other->import_partition(pa_, exported(*store_, pa_), false), "");
  expect_stream(*other, kept);
  expect_stream(*other, a_);
}

TEST_F(StorePartition, ImportRefusesARecordOutsideThePartitionAndWritesNothing) {
  test::temp_dir other_dir;
  auto other = open_store(other_dir.path());
  ASSERT_NE(other, nullptr);
  const std::string stale_a = stream_where("stale:", [&](partition_id p) { return p == pa_; });
  write_stream(*other, stale_a);

  // A's records followed by one of B's, with reset: the whole batch is refused, so neither
  // the reset nor A's records happen.
  auto rs = exported(*store_, pa_);
  const auto foreign = exported(*store_, pb_);
  ASSERT_FALSE(foreign.empty());
  rs.push_back(foreign.front());
  EXPECT_NE(other->import_partition(pa_, rs, true), "");

  expect_stream(*other, stale_a);
  expect_no_stream(*other, a_);
  expect_no_stream(*other, b_);
  EXPECT_TRUE(exported(*other, pb_).empty());

  // A foreign record first is refused just the same.
  records foreign_first = {foreign.front()};
  foreign_first.insert(foreign_first.end(), rs.begin(), rs.end() - 1);
  EXPECT_NE(other->import_partition(pa_, foreign_first, false), "");
  expect_no_stream(*other, a_);
  EXPECT_TRUE(exported(*other, pb_).empty());

  // A node-local fence key is not a record of any partition either.
  records fence = {{std::string("\xff\xff"
                                "F") +
                        char(pa_.value() >> 8) + char(pa_.value() & 0xff),
                    std::string(8, '\x09')}};
  EXPECT_NE(other->import_partition(pa_, fence, false), "");
  EXPECT_EQ(other->partition_epoch(pa_), 0u);
}

TEST_F(StorePartition, DropRemovesOnlyThatPartition) {
  ASSERT_EQ(store_->set_partition_epoch(pa_, 5), "");
  ASSERT_EQ(store_->drop_partition(pa_), "");
  expect_no_stream(*store_, a_);
  EXPECT_TRUE(exported(*store_, pa_).empty());
  expect_stream(*store_, b_);
  EXPECT_EQ(keys_of(exported(*store_, pb_)), keys_written(b_));
  const auto outbox = store_->outbox();
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].stream, b_);
  // The fence is node-local metadata, not a record of the partition.
  EXPECT_EQ(store_->partition_epoch(pa_), 5u);
  // Dropping an empty partition is fine.
  EXPECT_EQ(store_->drop_partition(pa_), "");
}

TEST_F(StorePartition, DropSurvivesReopen) {
  ASSERT_EQ(store_->drop_partition(pa_), "");
  store_.reset();
  store_ = open_store(dir_.path());
  ASSERT_NE(store_, nullptr);
  expect_no_stream(*store_, a_);
  expect_stream(*store_, b_);
}

TEST_F(StorePartition, PartitionEpochDefaultsToZeroAndSurvivesReopen) {
  for (uint16_t p = 0; p < partition_count; ++p)
    EXPECT_EQ(store_->partition_epoch(partition_id{p}), 0u);
  ASSERT_EQ(store_->set_partition_epoch(pa_, 4), "");
  ASSERT_EQ(store_->set_partition_epoch(pb_, 0x0102030405060708ull), "");
  ASSERT_EQ(store_->set_partition_epoch(partition_id{partition_count - 1}, UINT64_MAX), "");
  EXPECT_EQ(store_->partition_epoch(pa_), 4u);

  store_.reset();
  store_ = open_store(dir_.path());
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->partition_epoch(pa_), 4u);
  EXPECT_EQ(store_->partition_epoch(pb_), 0x0102030405060708ull);
  EXPECT_EQ(store_->partition_epoch(partition_id{partition_count - 1}), UINT64_MAX);
  for (uint16_t p = 0; p < partition_count; ++p)
    if (p != pa_.value() && p != pb_.value() && p != partition_count - 1) {
      EXPECT_EQ(store_->partition_epoch(partition_id{p}), 0u) << "partition " << p;
    }

  ASSERT_EQ(store_->set_partition_epoch(pa_, 5), "");
  EXPECT_EQ(store_->partition_epoch(pa_), 5u);
}

TEST_F(StorePartition, PartitionEpochIsNotPartOfAnyExport) {
  for (uint16_t p = 0; p < partition_count; ++p)
    ASSERT_EQ(store_->set_partition_epoch(partition_id{p}, 7), "");
  size_t total = 0;
  for (uint16_t p = 0; p < partition_count; ++p) {
    const auto rs = exported(*store_, partition_id{p});
    total += rs.size();
    for (const auto& [k, v] : rs) {
      ASSERT_GE(k.size(), 2u);
      EXPECT_EQ(static_cast<uint8_t>(k[0]) * 256 + static_cast<uint8_t>(k[1]), p);
    }
  }
  // Exactly the stream records: no fence came along.
  EXPECT_EQ(total, keys_written(a_).size() + keys_written(b_).size());
  EXPECT_EQ(keys_of(exported(*store_, pa_)), keys_written(a_));

  // And an import elsewhere carries no epoch.
  test::temp_dir other_dir;
  auto other = open_store(other_dir.path());
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(other->import_partition(pa_, exported(*store_, pa_), true), "");
  EXPECT_EQ(other->partition_epoch(pa_), 0u);
}

TEST_F(StorePartition, OutboxFilterSeesOnlyAcceptedPartitions) {
  const auto only_a = store_->outbox([&](partition_id p) { return p == pa_; });
  ASSERT_EQ(only_a.size(), 1u);
  EXPECT_EQ(only_a[0].stream, a_);
  const auto only_b = store_->outbox([&](partition_id p) { return p == pb_; });
  ASSERT_EQ(only_b.size(), 1u);
  EXPECT_EQ(only_b[0].stream, b_);
  EXPECT_TRUE(store_->outbox([](partition_id) { return false; }).empty());
  EXPECT_EQ(store_->outbox().size(), 2u);
  EXPECT_EQ(store_->outbox([](partition_id) { return true; }).size(), 2u);
}

TEST_F(StorePartition, PurgeFilterTouchesOnlyAcceptedPartitions) {
  // Each stream has one expired (1000) and one live key.
  EXPECT_EQ(store_->purge_expired_idempotency(5000, [](partition_id) { return false; }), 0u);
  EXPECT_TRUE(store_->idempotency(a_, "k-old", 0).has_value());
  EXPECT_TRUE(store_->idempotency(b_, "k-old", 0).has_value());

  EXPECT_EQ(store_->purge_expired_idempotency(5000, [&](partition_id p) { return p == pa_; }), 1u);
  EXPECT_FALSE(store_->idempotency(a_, "k-old", 0).has_value());
  EXPECT_TRUE(store_->idempotency(a_, "k-live", 0).has_value());
  EXPECT_TRUE(store_->idempotency(b_, "k-old", 0).has_value());

  EXPECT_EQ(store_->purge_expired_idempotency(5000), 1u);
  EXPECT_FALSE(store_->idempotency(b_, "k-old", 0).has_value());
  EXPECT_TRUE(store_->idempotency(b_, "k-live", 0).has_value());
}

TEST_F(StorePartition, FilterIsAskedAboutEveryPartitionOnce) {
  std::vector<partition_id> asked;
  store_->outbox([&](partition_id p) {
    asked.push_back(p);
    return true;
  });
  ASSERT_EQ(asked.size(), partition_count);
  for (uint16_t p = 0; p < partition_count; ++p) EXPECT_EQ(asked[p], partition_id{p});
}

}  // namespace
}  // namespace sb::storage
