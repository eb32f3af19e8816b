// The replica rules of stream_store (storage/replica_state.hpp): an owner's apply stamps each
// partition it writes with the next round chained to its last; a backup applies a round only
// above its sealed epoch and on top of the round named as previous, answers a resend as
// applied, and refuses the rest without writing anything; seal and the copy position persist
// across a reopen; a wiped directory is a new storage uuid.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "base/partition.hpp"
#include "storage/group_commit.hpp"
#include "storage/keys.hpp"
#include "storage/op_codec.hpp"
#include "storage/stream_store.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb::storage {
namespace {

using test::entry_set;
using test::open_store;
using test::stream_where;
using kind = replica_verdict_kind;

class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_ = open_store(owner_dir_.path() + "/db");
    backup_ = open_store(backup_dir_.path() + "/db");
    stream_ = stream_where("orders:r", [](partition_id) { return true; });
    p_ = partition_of(stream_);
    ASSERT_EQ(owner_->set_partition_epoch(p_, 1), "");
  }

  // The owner writes entry `seq` of stream_ and returns the round for its backups.
  replica_round owner_writes(uint64_t seq) {
    auto set = entry_set(stream_, seq);
    std::vector<replica_round> rounds;
    EXPECT_EQ(owner_->apply({&set}, true, &rounds), "");
    EXPECT_EQ(rounds.size(), 1u);
    return rounds.empty() ? replica_round{} : rounds.front();
  }

  replica_verdict send(const replica_round& r) {
    auto verdicts = backup_->apply_replicated({r});
    EXPECT_EQ(verdicts.size(), 1u);
    return verdicts.empty() ? replica_verdict{} : verdicts.front();
  }

  test::temp_dir owner_dir_, backup_dir_;
  std::unique_ptr<stream_store> owner_, backup_;
  std::string stream_;
  partition_id p_;
};

TEST_F(ReplicaTest, OwnerRoundsAreChainedPerPartitionAtTheFenceEpoch) {
  auto r1 = owner_writes(1);
  auto r2 = owner_writes(2);
  EXPECT_EQ(r1.partition, p_.value());
  EXPECT_EQ(r1.epoch, 1u);
  EXPECT_EQ(r1.lsn, 1u);
  EXPECT_EQ(r1.prev_lsn, 0u);
  EXPECT_EQ(r2.lsn, 2u);
  EXPECT_EQ(r2.prev_epoch, 1u);
  EXPECT_EQ(r2.prev_lsn, 1u);
  EXPECT_EQ(owner_->replica(p_), (replica_state{1, 1, 2}));
  // Without a rounds vector nothing is stamped (a node running alone).
  auto set = entry_set(stream_, 3);
  ASSERT_EQ(owner_->apply({&set}, true), "");
  EXPECT_EQ(owner_->replica(p_).last_lsn, 2u);
}

TEST_F(ReplicaTest, BackupAppliesChainedRoundsAndHoldsTheSameRecords) {
  ASSERT_EQ(send(owner_writes(1)).kind, kind::applied);
  auto v = send(owner_writes(2));
  EXPECT_EQ(v.kind, kind::applied);
  EXPECT_EQ(v.state, (replica_state{1, 1, 2}));
  EXPECT_EQ(backup_->last_seq(stream_), 2u);
  EXPECT_EQ(backup_->read_after(stream_, 0, 10).at(1).id, "id-2");
}

TEST_F(ReplicaTest, GapIsRefusedAndWritesNothing) {
  owner_writes(1);
  auto v = send(owner_writes(2));
  EXPECT_EQ(v.kind, kind::mismatch);
  EXPECT_EQ(v.state, (replica_state{}));
  EXPECT_EQ(backup_->last_seq(stream_), 0u);
}

TEST_F(ReplicaTest, ResendOfAnAppliedRoundIsAnsweredAppliedOnce) {
  auto r1 = owner_writes(1);
  ASSERT_EQ(send(r1).kind, kind::applied);
  auto again = send(r1);
  EXPECT_EQ(again.kind, kind::applied);
  EXPECT_EQ(again.state.last_lsn, 1u);
  EXPECT_EQ(backup_->read_after(stream_, 0, 10).size(), 1u);
}

TEST_F(ReplicaTest, SealRefusesOlderEpochsAndSurvivesReopen) {
  auto r1 = owner_writes(1);
  ASSERT_EQ(send(r1).kind, kind::applied);
  std::string error;
  auto sealed = backup_->seal({{p_.value(), 2}}, error);
  ASSERT_TRUE(sealed) << error;
  EXPECT_EQ(sealed->at(0), (replica_state{2, 1, 1}));
  backup_.reset();
  backup_ = open_store(backup_dir_.path() + "/db");
  auto v = send(owner_writes(2));
  EXPECT_EQ(v.kind, kind::stale);
  EXPECT_EQ(v.state.sealed_epoch, 2u);
  EXPECT_EQ(backup_->last_seq(stream_), 1u);
  // Sealing never goes back down.
  EXPECT_EQ(backup_->seal({{p_.value(), 1}}, error)->at(0).sealed_epoch, 2u);
}

TEST_F(ReplicaTest, SealOfManyPartitionsAnswersInRequestOrder) {
  ASSERT_EQ(send(owner_writes(1)).kind, kind::applied);
  const auto q = static_cast<uint16_t>((p_.value() + 1) % partition_count);
  std::string error;
  auto sealed = backup_->seal({{q, 4}, {p_.value(), 3}, {q, 2}}, error);
  ASSERT_TRUE(sealed) << error;
  ASSERT_EQ(sealed->size(), 3u);
  EXPECT_EQ(sealed->at(0), (replica_state{4, 0, 0}));
  EXPECT_EQ(sealed->at(1), (replica_state{3, 1, 1}));
  EXPECT_EQ(sealed->at(2), (replica_state{4, 0, 0}));  // never lowered, even within one call
  EXPECT_FALSE(backup_->seal({{partition_count, 1}}, error));
  EXPECT_FALSE(error.empty());
}

TEST_F(ReplicaTest, NewOwnerContinuesFromTheSealedTail) {
  // The backup takes over at epoch 2: its next round chains to (1, 1), and a replica that
  // stopped at (1, 1) follows it.
  ASSERT_EQ(send(owner_writes(1)).kind, kind::applied);
  std::string error;
  ASSERT_TRUE(backup_->seal({{p_.value(), 2}}, error));
  ASSERT_EQ(backup_->set_partition_epoch(p_, 2), "");
  auto set = entry_set(stream_, 2);
  std::vector<replica_round> rounds;
  ASSERT_EQ(backup_->apply({&set}, true, &rounds), "");
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].epoch, 2u);
  EXPECT_EQ(rounds[0].prev_epoch, 1u);
  EXPECT_EQ(rounds[0].prev_lsn, 1u);
  test::temp_dir third_dir;
  auto third = open_store(third_dir.path() + "/db");
  auto r1 = replica_round{};
  // The third replica got round (1, 1) from the old owner too.
  {
    auto old_set = entry_set(stream_, 1);
    std::vector<replica_round> old;
    test::temp_dir scratch;
    auto old_owner = open_store(scratch.path() + "/db");
    ASSERT_EQ(old_owner->set_partition_epoch(p_, 1), "");
    ASSERT_EQ(old_owner->apply({&old_set}, true, &old), "");
    r1 = old.at(0);
  }
  ASSERT_EQ(third->apply_replicated({r1}).at(0).kind, kind::applied);
  EXPECT_EQ(third->apply_replicated({rounds[0]}).at(0).kind, kind::applied);
  EXPECT_EQ(third->replica(p_), (replica_state{2, 2, 2}));
}

TEST_F(ReplicaTest, DivergentSuffixIsRefusedAndReplacedByACopy) {
  // The old owner wrote (1, 2) that no backup got; the new owner's (2, 2) chains to (1, 1).
  auto r1 = owner_writes(1);
  ASSERT_EQ(send(r1).kind, kind::applied);
  owner_writes(2);  // never replicated: the owner's divergent suffix
  std::string error;
  ASSERT_TRUE(backup_->seal({{p_.value(), 2}}, error));
  ASSERT_EQ(backup_->set_partition_epoch(p_, 2), "");
  auto set = entry_set(stream_, 2);
  std::vector<replica_round> rounds;
  ASSERT_EQ(backup_->apply({&set}, true, &rounds), "");
  auto refused = owner_->apply_replicated(rounds);
  EXPECT_EQ(refused.at(0).kind, kind::mismatch);
  EXPECT_EQ(refused.at(0).state.last_lsn, 2u);
  // Caught up by a full copy, which truncates the suffix by replacing the range.
  std::vector<std::pair<std::string, std::string>> records;
  auto position = backup_->export_partition(p_, [&](std::string_view k, std::string_view v) {
    records.emplace_back(std::string(k), std::string(v));
  });
  EXPECT_EQ(position, (replica_state{2, 2, 2}));
  ASSERT_EQ(owner_->import_partition(p_, records, true, &position), "");
  EXPECT_EQ(owner_->replica(p_), (replica_state{2, 2, 2}));
  auto entries = owner_->read_after(stream_, 0, 10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].id, "id-2");
  EXPECT_EQ(entries[1].ts_ms, test::make_entry(2).ts_ms);
}

TEST_F(ReplicaTest, MidCopyNoRoundLandsUntilTheLastChunk) {
  ASSERT_EQ(send(owner_writes(1)).kind, kind::applied);
  ASSERT_EQ(backup_->import_partition(p_, {}, true), "");
  EXPECT_EQ(backup_->replica(p_).last_lsn, 0u);
  EXPECT_EQ(send(owner_writes(2)).kind, kind::mismatch);
}

TEST_F(ReplicaTest, OwnerSealedByATakeoverWritesNoMoreRounds) {
  // A falsely suspected owner is sealed at epoch 2 while it still serves at epoch 1: a round
  // it wrote now could reach a backup the takeover did not seal and be answered.
  owner_writes(1);
  std::string error;
  ASSERT_TRUE(owner_->seal({{p_.value(), 2}}, error));
  auto set = entry_set(stream_, 2);
  std::vector<replica_round> rounds;
  EXPECT_NE(owner_->apply({&set}, true, &rounds), "");
  EXPECT_TRUE(rounds.empty());
  EXPECT_EQ(owner_->last_seq(stream_), 1u);
  // Chosen again (its fence at the sealed epoch), it writes on.
  ASSERT_EQ(owner_->set_partition_epoch(p_, 2), "");
  EXPECT_EQ(owner_->apply({&set}, true, &rounds), "");
  EXPECT_EQ(owner_->last_seq(stream_), 2u);
}

TEST_F(ReplicaTest, MidCopyReplicaSaysSoUntilTheLastChunkEvenAfterAReopen) {
  // A copy's first chunk removed what this replica had synced: until the last chunk it must
  // not count for a takeover (its seal says `copying`), not even take a partition's first
  // round (which chains to (0, 0), where the reset left it).
  ASSERT_EQ(send(owner_writes(1)).kind, kind::applied);
  ASSERT_EQ(backup_->import_partition(p_, {}, true), "");
  EXPECT_TRUE(backup_->replica(p_).copying);
  backup_.reset();
  backup_ = open_store(backup_dir_.path() + "/db");
  EXPECT_TRUE(backup_->replica(p_).copying);
  test::temp_dir fresh_dir;
  auto fresh_owner = open_store(fresh_dir.path() + "/db");
  ASSERT_EQ(fresh_owner->set_partition_epoch(p_, 1), "");
  auto set = entry_set(stream_, 1);
  std::vector<replica_round> first;
  ASSERT_EQ(fresh_owner->apply({&set}, true, &first), "");
  EXPECT_EQ(send(first.at(0)).kind, kind::mismatch);
  std::string error;
  auto sealed = backup_->seal({{p_.value(), 2}}, error);
  ASSERT_TRUE(sealed);
  EXPECT_TRUE(sealed->at(0).copying);
  const replica_state position{1, 1, 1};
  ASSERT_EQ(backup_->import_partition(p_, {}, false, &position), "");
  EXPECT_EQ(backup_->replica(p_), (replica_state{2, 1, 1, false}));
}

TEST_F(ReplicaTest, RoundWithARecordOfAnotherPartitionIsRefused) {
  auto r = owner_writes(1);
  const auto other = stream_where("orders:r", [this](partition_id q) { return q != p_; });
  op_codec::append(r.ops, keys::entry_key(other, 1), "x");
  auto v = send(r);
  EXPECT_EQ(v.kind, kind::failed);
  EXPECT_EQ(backup_->last_seq(stream_), 0u);
  EXPECT_EQ(backup_->last_seq(other), 0u);
}

TEST_F(ReplicaTest, StorageUuidIsStableAndNewAfterAWipe) {
  const std::string uuid = backup_->storage_uuid();
  EXPECT_EQ(uuid.size(), 36u);
  backup_.reset();
  backup_ = open_store(backup_dir_.path() + "/db");
  EXPECT_EQ(backup_->storage_uuid(), uuid);
  test::temp_dir wiped;
  EXPECT_NE(open_store(wiped.path() + "/db")->storage_uuid(), uuid);
}

TEST_F(ReplicaTest, GroupCommitWaitsForTheReplicator) {
  group_commit commit(*owner_, true);
  std::vector<replica_round> handed;
  group_commit::callback release;
  std::mutex m;
  std::condition_variable cv;
  commit.set_replicator([&](std::vector<replica_round> rounds, group_commit::callback done) {
    std::lock_guard lock(m);
    handed = std::move(rounds);
    release = std::move(done);
    cv.notify_all();
  });
  std::atomic<bool> answered{false};
  commit.submit(entry_set(stream_, 1), [&](const std::string&) { answered = true; });
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return bool(release); }));
  }
  EXPECT_FALSE(answered);
  EXPECT_EQ(handed.size(), 1u);
  release("");
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace sb::storage
