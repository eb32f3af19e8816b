// The replicator and replica sink (cluster/replicator.hpp, cluster/replica_sink.hpp) in one
// actor system, with the sinks standing in for the peers' registries: a round is answered
// only once a backup synced it, one backup suffices, none means no answer until one comes
// back, a backup that missed rounds is caught up from the kept ones, a backup sealed at a
// later epoch fences the owner, a partition without backups is answered at once, and a change
// of the replicas (next_replicas) is made only once the newcomer has caught up, the old
// replicas vouching until then.
#include <gtest/gtest.h>

#include <atomic>
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
    ASSERT_EQ(owner_->set_partition_epoch(partition_id{p_}, 1), "");
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

  void set_replicas(std::vector<replica_ref> replicas, std::vector<replica_ref> next = {}) {
    view_->set_partition(p_, partition_record{"a", 1, "serving", "", ++revision_,
                                              std::move(replicas), std::move(next)});
  }
  void disconnect(const std::string& node) {
    caf::anon_send(replicator_, rpeer_atom::value, node, caf::actor{});
  }
  // Stands in for cluster_node::switch_replicas and etcd: applies the switch to the view (if
  // allowed and the record is unchanged), noting what c held at that moment.
  void switch_replicas(uint16_t p, int64_t mod_revision, partition_record next,
                       caf::actor reply_to) {
    int64_t revision = 0;
    auto now = view_->partition(p);
    if (allow_switch_ && now && now->mod_revision == mod_revision) {
      next.mod_revision = revision = ++revision_;
      c_held_at_switch_ = c_->last_seq(stream_);
      view_->set_partition(p, next);
    }
    caf::anon_send(reply_to, rswitched_atom::value, p, revision);
  }
  std::vector<std::string> replica_nodes() {
    std::vector<std::string> out;
    if (auto r = view_->partition(p_))
      for (const auto& ref : r->replicas) out.push_back(ref.node);
    return out;
  }
  bool replicas_become(const std::vector<std::string>& nodes) {
    for (int i = 0; i < 200; ++i) {
      if (replica_nodes() == nodes) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
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
  const uint16_t p_ = partition_of(stream_).value();
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
  std::atomic<int64_t> revision_{0};
  std::atomic<bool> allow_switch_{true};
  std::atomic<uint64_t> c_held_at_switch_{0};
  caf::actor replicator_ = sys_.spawn(
      replicator,
      replicator_deps{view_, owner_.get(), "secret", registry_, &copies_, nullptr,
                      [this](uint16_t p, int64_t rev, partition_record next, caf::actor to) {
                        switch_replicas(p, rev, std::move(next), std::move(to));
                      }});
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
  EXPECT_EQ(c_->replica(partition_id{p_}), owner_->replica(partition_id{p_}));
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
  EXPECT_EQ(c_->replica(partition_id{p_}), owner_->replica(partition_id{p_}));
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

TEST_F(ReplicatorTest, RoundOfAPartitionEtcdGaveToAnotherOwnerFails) {
  // A stale owner (paused through a takeover) writes a round after its watch saw the new
  // owner: answering it would acknowledge what the new owner's log does not have.
  connect("b", sink_b_);
  ASSERT_EQ(wait(append(1)), "");
  view_->set_partition(p_, partition_record{"b", 2, "serving", "", ++revision_, {{"b", ""}}});
  const auto answer = wait(append(2));
  EXPECT_NE(answer, "");
  EXPECT_NE(answer, "no answer");
}

TEST_F(ReplicatorTest, DrainedBackupVouchesUntilItsReplacementCaughtUp) {
  // The schedule that once lost acknowledged entries: b is drained and c replaces it. b stays
  // a replica until c holds everything answered so far; then c alone vouches.
  set_replicas({{"a", ""}, {"b", ""}});
  connect("b", sink_b_);
  for (uint64_t seq = 1; seq <= 3; ++seq) ASSERT_EQ(wait(append(seq)), "");
  set_replicas({{"a", ""}, {"b", ""}}, {{"a", ""}, {"c", ""}});
  EXPECT_EQ(wait(append(4)), "");  // b still vouches; c is unreachable
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(replica_nodes(), (std::vector<std::string>{"a", "b"}));
  disconnect("b");
  connect("c", sink_c_);
  ASSERT_TRUE(replicas_become({"a", "c"}));
  EXPECT_GE(c_held_at_switch_.load(), 4u);  // every answered entry was on c before the switch
  EXPECT_TRUE(view_->partition(p_)->next_replicas.empty());
  EXPECT_EQ(wait(append(5)), "");  // c vouches now, b is gone
  EXPECT_EQ(c_->last_seq(stream_), 5u);
}

TEST_F(ReplicatorTest, NewcomerDoesNotVouchBeforeTheSwitchIsInEtcd) {
  allow_switch_ = false;
  set_replicas({{"a", ""}, {"b", ""}}, {{"a", ""}, {"c", ""}});
  connect("c", sink_c_);
  auto first = append(1);
  EXPECT_EQ(wait(first, 1s), "no answer");
  EXPECT_TRUE(holds(*c_, 1));  // c follows, it does not count yet
  allow_switch_ = true;
  EXPECT_EQ(wait(first), "");
  EXPECT_EQ(replica_nodes(), (std::vector<std::string>{"a", "c"}));
}

TEST_F(ReplicatorTest, IdlePartitionSwitchesWithoutAWrite) {
  connect("b", sink_b_);
  ASSERT_EQ(wait(append(1)), "");
  // No write to p_ after this: the owner's tick takes the change up and copies c.
  set_replicas({{"a", ""}, {"b", ""}}, {{"a", ""}, {"b", ""}, {"c", ""}});
  connect("c", sink_c_);
  ASSERT_TRUE(replicas_become({"a", "b", "c"}));
  EXPECT_EQ(c_->last_seq(stream_), 1u);
}

}  // namespace
}  // namespace sb::cluster
