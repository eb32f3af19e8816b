// The replicator and replica sink (cluster/replicator.hpp, cluster/replica_sink.hpp) in one
// actor system, with the sinks standing in for the peers' registries: a round is answered
// only once a backup synced it, one backup suffices, none means no answer until one comes
// back, a backup that missed rounds is caught up from the kept ones, a backup sealed at a
// later epoch fences the owner, and a partition without backups is answered at once.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "base/partition.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/copy_workers.hpp"
#include "cluster/registry.hpp"
#include "cluster/replica_sink.hpp"
#include "cluster/replication_messages.hpp"
#include "cluster/replicator.hpp"
#include "storage/group_commit.hpp"
#include "storage/stream_store.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb::cluster {
namespace {

using namespace std::chrono_literals;
using storage::test::entry_set;
using storage::test::open_store;

caf::actor_system_config& config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    register_replication_types(c);
    c.set("logger.verbosity", caf::atom("quiet"));
    return c;
  }();
  return cfg;
}

// What the owner's registry does for the replicator: stop a fenced partition's owners. (An
// argument, because CAF 0.17 binds a null tuple for a function spawned without any.)
caf::behavior fake_registry(caf::event_based_actor*, int) {
  return {[](seal_atom, uint16_t) { return true; }};
}

class ReplicatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(owner_->set_partition_epoch(p_, 1), "");
    set_replicas({{"a", ""}, {"b", ""}, {"c", ""}});
    view_->set_local_epoch(p_, 1);
    commit_.set_replicator([rep = replicator_](std::vector<storage::replica_round> rounds,
                                               storage::group_commit::callback done) {
      caf::anon_send(
          rep, rjob_atom::value,
          std::make_shared<replication_job>(replication_job{std::move(rounds), std::move(done)}));
    });
  }
  void TearDown() override {
    commit_.stop();
    copies_.stop();
    caf::anon_send_exit(replicator_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink_b_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink_c_, caf::exit_reason::user_shutdown);
  }

  void set_replicas(std::vector<replica_ref> replicas) {
    view_->set_partition(p_, partition_record{"a", 1, "serving", "", 1, std::move(replicas)});
  }
  void connect(const std::string& node, const caf::actor& sink) {
    caf::anon_send(replicator_, rpeer_atom::value, node, sink);
  }

  // Appends entry `seq` and returns the answer: "" once durable, the error, or "no answer".
  std::shared_future<std::string> append(uint64_t seq) {
    auto answered = std::make_shared<std::promise<std::string>>();
    std::shared_future<std::string> f = answered->get_future().share();
    commit_.submit(entry_set(stream_, seq),
                   [answered](const std::string& error) { answered->set_value(error); });
    return f;
  }
  static std::string wait(const std::shared_future<std::string>& f,
                          std::chrono::milliseconds limit = 10s) {
    return f.wait_for(limit) == std::future_status::ready ? f.get() : "no answer";
  }
  // Polls until the store holds `n` entries of the stream (or 10 s pass).
  bool holds(const storage::stream_store& store, uint64_t n) {
    for (int i = 0; i < 200; ++i) {
      if (store.last_seq(stream_) == n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  const std::string stream_ = "orders:m1";
  const uint16_t p_ = partition_of(stream_);
  storage::test::temp_dir owner_dir_, b_dir_, c_dir_;
  std::unique_ptr<storage::stream_store> owner_ = open_store(owner_dir_.path());
  std::unique_ptr<storage::stream_store> b_ = open_store(b_dir_.path());
  std::unique_ptr<storage::stream_store> c_ = open_store(c_dir_.path());
  std::shared_ptr<cluster_view> view_ = std::make_shared<cluster_view>("a");
  caf::actor_system sys_{config()};
  copy_workers copies_{1};
  caf::actor sink_b_ = sys_.spawn<caf::detached>(replica_sink, b_.get());
  caf::actor sink_c_ = sys_.spawn<caf::detached>(replica_sink, c_.get());
  caf::actor registry_ = sys_.spawn(fake_registry, 0);
  caf::actor replicator_ = sys_.spawn(
      replicator, replicator_deps{view_, owner_.get(), "secret", registry_, &copies_, nullptr});
  storage::group_commit commit_{*owner_, true};
};

TEST_F(ReplicatorTest, AnsweredOnceABackupSyncedAndBothBackupsFollow) {
  connect("b", sink_b_);
  connect("c", sink_c_);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    EXPECT_EQ(wait(append(seq)), "") << "entry " << seq;
    // Answered means at least one backup has it already.
    EXPECT_GE(std::max(b_->last_seq(stream_), c_->last_seq(stream_)), seq);
  }
  EXPECT_TRUE(holds(*b_, 3));
  EXPECT_TRUE(holds(*c_, 3));
  EXPECT_EQ(b_->read_after(stream_, 0, 10).at(2).id, "id-3");
  EXPECT_EQ(c_->replica(p_), owner_->replica(p_));
}

TEST_F(ReplicatorTest, OneBackupIsEnough) {
  connect("b", sink_b_);
  EXPECT_EQ(wait(append(1)), "");
  EXPECT_EQ(wait(append(2)), "");
  EXPECT_EQ(b_->last_seq(stream_), 2u);
  EXPECT_EQ(c_->last_seq(stream_), 0u);
}

TEST_F(ReplicatorTest, NoBackupMeansNoAnswerUntilOneComesBack) {
  auto first = append(1);
  EXPECT_EQ(wait(first, 700ms), "no answer");
  EXPECT_EQ(owner_->last_seq(stream_), 1u);  // written here, not yet acknowledged
  connect("c", sink_c_);
  EXPECT_EQ(wait(first), "");
  EXPECT_EQ(c_->last_seq(stream_), 1u);
}

TEST_F(ReplicatorTest, BackupThatMissedRoundsIsCaughtUpFromTheKeptOnes) {
  connect("b", sink_b_);
  for (uint64_t seq = 1; seq <= 5; ++seq) ASSERT_EQ(wait(append(seq)), "");
  ASSERT_EQ(c_->last_seq(stream_), 0u);
  connect("c", sink_c_);
  EXPECT_TRUE(holds(*c_, 5));
  EXPECT_EQ(c_->replica(p_), owner_->replica(p_));
  EXPECT_EQ(c_->read_after(stream_, 0, 10).at(4).id, "id-5");
}

TEST_F(ReplicatorTest, BackupSealedAtALaterEpochFencesTheOwner) {
  connect("b", sink_b_);
  connect("c", sink_c_);
  ASSERT_EQ(wait(append(1)), "");
  std::string error;
  ASSERT_TRUE(b_->seal({{p_, 2}}, error));
  ASSERT_TRUE(c_->seal({{p_, 2}}, error));
  const auto answer = wait(append(2));
  EXPECT_NE(answer, "");
  EXPECT_NE(answer, "no answer");
  EXPECT_EQ(view_->local_epoch(p_), 0u);
  EXPECT_EQ(b_->last_seq(stream_), 1u);
  EXPECT_EQ(c_->last_seq(stream_), 1u);
}

TEST_F(ReplicatorTest, PartitionWithoutBackupsIsAnsweredAtOnce) {
  set_replicas({{"a", ""}});
  EXPECT_EQ(wait(append(1)), "");
  EXPECT_EQ(b_->last_seq(stream_), 0u);
}

}  // namespace
}  // namespace sb::cluster
