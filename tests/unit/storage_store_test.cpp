#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "base/partition.hpp"
#include "storage/keys.hpp"
#include "storage/stream_store.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb::storage {
namespace {

using test::append_range;
using test::make_entry;
using test::open_store;

std::vector<uint64_t> seqs(const std::vector<stored_entry>& entries) {
  std::vector<uint64_t> out;
  for (const auto& e : entries) out.push_back(e.seq);
  return out;
}

// A stream that shares both the partition and the name prefix of `stream`, so only the key's
// 0x00 terminator keeps them apart.
std::string same_partition_longer_name(const std::string& stream) {
  return test::stream_where(stream, [&](partition_id p) { return p == partition_of(stream); });
}

class StreamStore : public ::testing::Test {
 protected:
  test::temp_dir dir_;
  std::unique_ptr<stream_store> store_ = open_store(dir_.path());
};

TEST_F(StreamStore, AppendedEntryReadsBackWithEveryField) {
  stored_entry e{.seq = 1,
                 .id = "e-1",
                 .ts_ms = 1700000000123,
                 .kind = "order",
                 .data = R"({"total":"12.50","items":["a","b"]})",
                 .idempotency_key = "k-1"};
  write_set set;
  set.put_entry("orders:m1", e);
  ASSERT_EQ(store_->apply({&set}, true), "");

  auto read = store_->read_after("orders:m1", 0, 10);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].seq, e.seq);
  EXPECT_EQ(read[0].id, e.id);
  EXPECT_EQ(read[0].ts_ms, e.ts_ms);
  EXPECT_EQ(read[0].kind, e.kind);
  EXPECT_EQ(read[0].data, e.data);
  EXPECT_EQ(read[0].idempotency_key, e.idempotency_key);
}

TEST_F(StreamStore, LargeAndEmptyFieldsRoundTrip) {
  const std::string big(1 << 20, 'x');
  write_set set;
  set.put_entry("orders:m1",
                {.seq = 1, .id = "", .ts_ms = -1, .kind = "", .data = big, .idempotency_key = ""});
  set.put_idempotency("orders:m1", std::string(300, 'k'), {.seq = 1, .id = big}, 10);
  ASSERT_EQ(store_->apply({&set}, false), "");
  auto read = store_->read_after("orders:m1", 0, 1);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].data, big);
  EXPECT_EQ(read[0].ts_ms, -1);
  EXPECT_EQ(read[0].id, "");
  EXPECT_EQ(store_->idempotency("orders:m1", std::string(300, 'k'), 0)->id, big);
}

TEST_F(StreamStore, UndecodableValueThrowsInsteadOfReadingAsEmpty) {
  store_.reset();
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put({}, keys::entry_key("orders:m1", 1), "garbage").ok());
    ASSERT_TRUE(db->Put({}, keys::cursor_key("orders:m1", "p"), "garbage").ok());
  }
  store_ = open_store(dir_.path());
  ASSERT_NE(store_, nullptr);
  EXPECT_THROW(store_->read_after("orders:m1", 0, 10), std::runtime_error);
  EXPECT_THROW(store_->cursor("orders:m1", "p"), std::runtime_error);
}

TEST_F(StreamStore, LastSeqFollowsAppends) {
  EXPECT_EQ(store_->last_seq("orders:m1"), 0u);
  append_range(*store_, "orders:m1", 1, 300);
  EXPECT_EQ(store_->last_seq("orders:m1"), 300u);
  EXPECT_EQ(store_->last_seq("orders:m2"), 0u);

  std::vector<uint64_t> expected(300);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(seqs(store_->read_after("orders:m1", 0, 1000)), expected);
}

TEST_F(StreamStore, ReadAfterPagesAscendingWithinLimits) {
  append_range(*store_, "orders:m1", 1, 10);
  EXPECT_EQ(seqs(store_->read_after("orders:m1", 0, 4)), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs(store_->read_after("orders:m1", 4, 4)), (std::vector<uint64_t>{5, 6, 7, 8}));
  EXPECT_EQ(seqs(store_->read_after("orders:m1", 8, 4)), (std::vector<uint64_t>{9, 10}));
  EXPECT_EQ(seqs(store_->read_after("orders:m1", 9, 4)), (std::vector<uint64_t>{10}));
  EXPECT_TRUE(store_->read_after("orders:m1", 10, 4).empty());
  EXPECT_TRUE(store_->read_after("orders:m1", 0, 0).empty());
  EXPECT_TRUE(store_->read_after("orders:m1", std::numeric_limits<uint64_t>::max(), 4).empty());
  EXPECT_TRUE(store_->read_after("orders:none", 0, 4).empty());
}

TEST_F(StreamStore, ReadBeforePagesNewestFirstWithinLimits) {
  append_range(*store_, "orders:m1", 1, 10);
  EXPECT_EQ(seqs(store_->read_before("orders:m1", 11, 4)), (std::vector<uint64_t>{10, 9, 8, 7}));
  EXPECT_EQ(seqs(store_->read_before("orders:m1", 7, 4)), (std::vector<uint64_t>{6, 5, 4, 3}));
  EXPECT_EQ(seqs(store_->read_before("orders:m1", 3, 4)), (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(seqs(store_->read_before("orders:m1", 2, 4)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(store_->read_before("orders:m1", 1, 4).empty());
  EXPECT_TRUE(store_->read_before("orders:m1", 0, 4).empty());
  EXPECT_TRUE(store_->read_before("orders:m1", 11, 0).empty());
  EXPECT_EQ(seqs(store_->read_before("orders:m1", std::numeric_limits<uint64_t>::max(), 2)),
            (std::vector<uint64_t>{10, 9}));
}

TEST_F(StreamStore, ReadBeforeFillsPagesAcrossSeqGaps) {
  append_range(*store_, "orders:m1", 1, 10);
  append_range(*store_, "orders:m1", 20, 25);
  EXPECT_EQ(seqs(store_->read_before("orders:m1", 26, 9)),
            (std::vector<uint64_t>{25, 24, 23, 22, 21, 20, 10, 9, 8}));
  EXPECT_EQ(seqs(store_->read_before("orders:m1", 100, 3)), (std::vector<uint64_t>{25, 24, 23}));
  EXPECT_EQ(seqs(store_->read_before("orders:m1", 18, 2)), (std::vector<uint64_t>{10, 9}));
  EXPECT_EQ(seqs(store_->read_after("orders:m1", 9, 3)), (std::vector<uint64_t>{10, 20, 21}));
}

TEST_F(StreamStore, StreamsWithSharedNamePrefixesStayApart) {
  for (const std::string& longer :
       {std::string("orders:m10"), same_partition_longer_name("orders:m1")}) {
    SCOPED_TRACE(longer);
    test::temp_dir dir;
    auto store = open_store(dir.path());
    append_range(*store, "orders:m1", 1, 3);
    append_range(*store, longer, 1, 50);
    write_set set;
    set.put_cursor(longer, "p", 40);
    set.put_idempotency(longer, "k", {.seq = 40, .id = "x"}, 1000);
    ASSERT_EQ(store->apply({&set}, false), "");

    EXPECT_EQ(store->last_seq("orders:m1"), 3u);
    EXPECT_EQ(seqs(store->read_after("orders:m1", 0, 100)), (std::vector<uint64_t>{1, 2, 3}));
    EXPECT_EQ(seqs(store->read_before("orders:m1", 100, 100)), (std::vector<uint64_t>{3, 2, 1}));
    EXPECT_EQ(store->cursor("orders:m1", "p"), 0u);
    EXPECT_FALSE(store->idempotency("orders:m1", "k", 0));
    EXPECT_EQ(store->last_seq(longer), 50u);
  }
}

TEST_F(StreamStore, CursorsArePerStreamAndPrincipal) {
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 0u);
  write_set set;
  set.put_cursor("orders:m1", "merchant:m1", 5);
  set.put_cursor("orders:m1", "dashboard:d2", 7);
  set.put_cursor("conv:c1", "merchant:m1", 9);
  ASSERT_EQ(store_->apply({&set}, true), "");
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 5u);
  EXPECT_EQ(store_->cursor("orders:m1", "dashboard:d2"), 7u);
  EXPECT_EQ(store_->cursor("conv:c1", "merchant:m1"), 9u);

  write_set advance;
  advance.put_cursor("orders:m1", "merchant:m1", 6);
  ASSERT_EQ(store_->apply({&advance}, true), "");
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 6u);
}

TEST_F(StreamStore, IdempotencyRecordLivesUntilItExpires) {
  write_set set;
  set.put_entry("orders:m1", make_entry(1, "k-1"));
  set.put_idempotency("orders:m1", "k-1", {.seq = 1, .id = "id-1"}, 5000);
  ASSERT_EQ(store_->apply({&set}, true), "");

  auto hit = store_->idempotency("orders:m1", "k-1", 4999);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->seq, 1u);
  EXPECT_EQ(hit->id, "id-1");
  EXPECT_FALSE(store_->idempotency("orders:m1", "k-1", 5000));
  EXPECT_FALSE(store_->idempotency("orders:m1", "k-2", 0));
  EXPECT_FALSE(store_->idempotency("orders:m2", "k-1", 0));
}

TEST_F(StreamStore, PurgeDeletesOnlyExpiredIdempotencyRecordsInEveryPartition) {
  write_set set;
  for (int m = 0; m < 100; ++m) {
    const std::string stream = "orders:m" + std::to_string(m);
    set.put_idempotency(stream, "old", {.seq = 1, .id = "a"}, 1000);
    set.put_idempotency(stream, "new", {.seq = 2, .id = "b"}, 3000);
    set.put_entry(stream, make_entry(1));
    set.put_cursor(stream, "p", 1);
  }
  ASSERT_EQ(store_->apply({&set}, false), "");

  EXPECT_EQ(store_->purge_expired_idempotency(999), 0u);
  EXPECT_EQ(store_->purge_expired_idempotency(2000), 100u);
  EXPECT_EQ(store_->purge_expired_idempotency(2000), 0u);
  for (int m = 0; m < 100; ++m) {
    const std::string stream = "orders:m" + std::to_string(m);
    // Reading at time 0 shows the record would still be live had it not been deleted.
    EXPECT_FALSE(store_->idempotency(stream, "old", 0));
    EXPECT_TRUE(store_->idempotency(stream, "new", 0));
    EXPECT_EQ(store_->last_seq(stream), 1u);
    EXPECT_EQ(store_->cursor(stream, "p"), 1u);
  }
}

TEST_F(StreamStore, PurgeSweepsMoreRecordsThanOneDeleteChunk) {
  write_set set;
  for (int k = 0; k < 5000; ++k) {
    set.put_idempotency("orders:m1", "k" + std::to_string(k), {.seq = 1, .id = "a"}, 10);
  }
  ASSERT_EQ(store_->apply({&set}, false), "");
  EXPECT_EQ(store_->purge_expired_idempotency(10), 5000u);
  EXPECT_FALSE(store_->idempotency("orders:m1", "k4999", 0));
}

TEST_F(StreamStore, ReopenKeepsEntriesCursorsAndIdempotency) {
  append_range(*store_, "orders:m1", 1, 20);
  write_set set;
  set.put_cursor("orders:m1", "merchant:m1", 15);
  set.put_idempotency("orders:m1", "k", {.seq = 20, .id = "id-20"}, 9000);
  ASSERT_EQ(store_->apply({&set}, true), "");
  store_.reset();

  store_ = open_store(dir_.path());
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->last_seq("orders:m1"), 20u);
  EXPECT_EQ(store_->read_after("orders:m1", 19, 1).at(0).data, make_entry(20).data);
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 15u);
  EXPECT_EQ(store_->idempotency("orders:m1", "k", 0)->id, "id-20");
}

TEST_F(StreamStore, OutboxRecordsRoundTripAcrossPartitionsAndErase) {
  outbox_record a{.id = "e-a",
                  .stream = "conv:c1",
                  .seq = 7,
                  .created_ms = 1700000000000,
                  .payload = R"({"channel":"wechat","recipient":"o1"})",
                  .attempts = 3,
                  .next_attempt_ms = 1700000005000,
                  .last_error = "HTTP 503",
                  .failed = false};
  outbox_record b = a;
  b.id = "e-b";
  b.stream = same_partition_longer_name("conv:c1");
  outbox_record c = a;
  c.id = "e-c";
  c.stream = "conv:other";
  c.failed = true;
  write_set set;
  for (const auto* r : {&a, &b, &c}) set.put_outbox(*r);
  set.put_entry("conv:c1", make_entry(1));
  ASSERT_EQ(store_->apply({&set}, true), "");
  auto all = store_->outbox();
  ASSERT_EQ(all.size(), 3u);
  auto find = [&](const std::string& id) {
    return *std::find_if(all.begin(), all.end(), [&](const auto& r) { return r.id == id; });
  };
  EXPECT_EQ(find("e-a").payload, a.payload);
  EXPECT_EQ(find("e-a").attempts, 3u);
  EXPECT_EQ(find("e-a").next_attempt_ms, a.next_attempt_ms);
  EXPECT_EQ(find("e-a").last_error, "HTTP 503");
  EXPECT_EQ(find("e-b").stream, b.stream);
  EXPECT_TRUE(find("e-c").failed);

  write_set erase;
  erase.erase_outbox(a.stream, a.id);
  ASSERT_EQ(store_->apply({&erase}, true), "");
  all = store_->outbox();
  ASSERT_EQ(all.size(), 2u);
  for (const auto& r : all) EXPECT_NE(r.id, "e-a");
  EXPECT_EQ(store_->last_seq("conv:c1"), 1u);  // erasing an outbox record leaves the stream
}

TEST_F(StreamStore, SecondOpenOfTheSameDirectoryFailsWithOneLineLockError) {
  std::string error;
  EXPECT_EQ(stream_store::open({.path = dir_.path()}, error), nullptr);
  EXPECT_NE(error.find("lock"), std::string::npos) << error;
  EXPECT_NE(error.find(dir_.path()), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(StreamStoreOpen, MissingDirectoryWithoutCreateFails) {
  test::temp_dir dir;
  std::string error;
  EXPECT_EQ(stream_store::open({.path = dir.path() + "/db", .create_if_missing = false}, error),
            nullptr);
  EXPECT_FALSE(error.empty());
}

TEST_F(StreamStore, ApplyOfNothingSucceeds) {
  write_set empty;
  EXPECT_EQ(store_->apply({}, true), "");
  EXPECT_EQ(store_->apply({&empty}, true), "");
}

TEST_F(StreamStore, SetsOfOneApplyLandTogether) {
  write_set a = test::entry_set("orders:m1", 1);
  write_set b = test::entry_set("orders:m1", 2);
  write_set c = test::entry_set("conv:c1", 1);
  ASSERT_EQ(store_->apply({&a, &b, &c}, true), "");
  EXPECT_EQ(store_->last_seq("orders:m1"), 2u);
  EXPECT_EQ(store_->last_seq("conv:c1"), 1u);
}

TEST_F(StreamStore, StreamNameWithNulIsRejected) {
  write_set set;
  EXPECT_THROW(set.put_entry(std::string_view("a\0b", 3), make_entry(1)), std::invalid_argument);
  EXPECT_THROW(store_->last_seq(std::string_view("a\0b", 3)), std::invalid_argument);
}

// How fast is bench/storage_bench.cpp's business (timings are never asserted in tests): here
// only that one read returns a 50k backlog whole, in order, both ways.
TEST_F(StreamStore, Reads50kEntriesBothWays) {
  for (uint64_t first = 1; first <= 50000; first += 5000) {
    append_range(*store_, "orders:big", first, first + 4999);
  }
  auto forward = store_->read_after("orders:big", 0, 50000);
  auto backward = store_->read_before("orders:big", 50001, 50000);
  ASSERT_EQ(forward.size(), 50000u);
  ASSERT_EQ(backward.size(), 50000u);
  EXPECT_EQ(forward.front().seq, 1u);
  EXPECT_EQ(forward.back().seq, 50000u);
  EXPECT_EQ(backward.front().seq, 50000u);
  EXPECT_EQ(backward.back().seq, 1u);
}

TEST(StreamStoreFaults, FailedSyncReturnsTheErrorAndEntryAndKeySurviveOrVanishTogether) {
  test::temp_dir dir;
  auto failing = std::make_shared<std::atomic<bool>>(false);
  {
    auto store = open_store({.path = dir.path(), .env = test::faulty_env(failing)});
    ASSERT_NE(store, nullptr);
    write_set set;
    set.put_entry("orders:m1", make_entry(1, "k-1"));
    set.put_idempotency("orders:m1", "k-1", {.seq = 1, .id = "id-1"}, 9000);
    *failing = true;
    const std::string error = store->apply({&set}, true);
    EXPECT_NE(error.find("injected WAL sync failure"), std::string::npos) << error;
    EXPECT_EQ(store->last_seq("orders:m1"), 0u);
    *failing = false;
  }
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->last_seq("orders:m1") == 1,
            store->idempotency("orders:m1", "k-1", 0).has_value());
}

}  // namespace
}  // namespace sb::storage
