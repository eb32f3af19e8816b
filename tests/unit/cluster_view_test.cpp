// cluster/cluster_view.hpp: how the partition table, the members, the peer connections and the
// local storage fence combine into a route, and what the view reports as served/complete.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "base/partition.hpp"
#include "cluster/cluster_view.hpp"

namespace sb::cluster {
namespace {

using kind = route::kind;

partition_record owned_by(std::string owner, uint64_t epoch, std::string state = "serving",
                          std::string to = "") {
  return partition_record{std::move(owner), epoch, std::move(state), std::move(to), 0};
}

member_record member_of(const std::string& id) {
  return member_record{id, id + ".local:8080", id + ".local:9090"};
}

TEST(ClusterView, StandaloneTableServesEveryPartitionLocally) {
  auto view = cluster_view::standalone_table("solo");
  ASSERT_NE(view, nullptr);
  EXPECT_FALSE(view->clustered());
  EXPECT_EQ(view->self(), "solo");
  EXPECT_TRUE(view->complete());
  for (uint16_t p = 0; p < partition_count; ++p) {
    const auto r = view->route_of(p);
    EXPECT_EQ(r.what, kind::local) << "partition " << p;
    EXPECT_EQ(r.node, "solo");
    EXPECT_EQ(r.epoch, 1u);
    EXPECT_TRUE(view->serves(p));
  }
  EXPECT_EQ(view->served().size(), partition_count);
  EXPECT_EQ(view->route_of_key("orders:m1").what, kind::local);
  EXPECT_TRUE(view->member("solo").has_value());
}

TEST(ClusterView, ClusteredViewStartsEmpty) {
  cluster_view view("a");
  EXPECT_TRUE(view.clustered());
  EXPECT_EQ(view.self(), "a");
  EXPECT_FALSE(view.complete());
  EXPECT_TRUE(view.served().empty());
  EXPECT_TRUE(view.members().empty());
  EXPECT_EQ(view.controller(), "");
  for (uint16_t p = 0; p < partition_count; ++p) {
    EXPECT_FALSE(view.partition(p).has_value());
    EXPECT_EQ(view.local_epoch(p), 0u);
  }
}

TEST(ClusterView, NoRecordIsUnavailable) {
  cluster_view view("a");
  const auto r = view.route_of(17);
  EXPECT_EQ(r.what, kind::unavailable);
  EXPECT_FALSE(r.node.empty()) << "an unavailable route says why";
  EXPECT_FALSE(view.serves(17));
}

TEST(ClusterView, OwnRecordAtTheLocalEpochIsLocal) {
  cluster_view view("a");
  view.set_partition(5, owned_by("a", 3));
  view.set_local_epoch(5, 3);
  const auto r = view.route_of(5);
  EXPECT_EQ(r.what, kind::local);
  EXPECT_EQ(r.node, "a");
  EXPECT_EQ(r.epoch, 3u);
  EXPECT_TRUE(view.serves(5));
}

TEST(ClusterView, OwnRecordAtAnotherLocalEpochIsMoving) {
  cluster_view view("a");
  view.set_partition(5, owned_by("a", 3));
  // Never held (0), an older epoch, a newer one: the storage fence does not match.
  for (uint64_t local : {0u, 2u, 4u}) {
    view.set_local_epoch(5, local);
    const auto r = view.route_of(5);
    EXPECT_EQ(r.what, kind::moving) << "local epoch " << local;
    EXPECT_EQ(r.epoch, 3u);
    EXPECT_FALSE(view.serves(5));
  }
  view.set_local_epoch(5, 3);
  EXPECT_EQ(view.route_of(5).what, kind::local);
}

TEST(ClusterView, SealedIsMovingAndUnsealedIsLocalAgain) {
  cluster_view view("a");
  view.set_partition(9, owned_by("a", 2));
  view.set_local_epoch(9, 2);
  ASSERT_EQ(view.route_of(9).what, kind::local);

  view.set_sealed(9, true);
  EXPECT_EQ(view.route_of(9).what, kind::moving);
  EXPECT_EQ(view.route_of(9).epoch, 2u);
  EXPECT_FALSE(view.serves(9));
  // Sealing one partition does not touch its neighbours.
  view.set_partition(10, owned_by("a", 2));
  view.set_local_epoch(10, 2);
  EXPECT_EQ(view.route_of(10).what, kind::local);

  view.set_sealed(9, false);
  EXPECT_EQ(view.route_of(9).what, kind::local);
  EXPECT_TRUE(view.serves(9));
}

TEST(ClusterView, OwnerThatIsAConnectedMemberIsRemote) {
  cluster_view view("a");
  view.set_partition(40, owned_by("b", 7));
  view.set_member("b", member_of("b"));
  view.set_peer_connected("b", true);
  const auto r = view.route_of(40);
  EXPECT_EQ(r.what, kind::remote);
  EXPECT_EQ(r.node, "b");
  EXPECT_EQ(r.epoch, 7u);
  EXPECT_FALSE(view.serves(40));
  // The local epoch only fences this node's own partitions.
  view.set_local_epoch(40, 7);
  EXPECT_EQ(view.route_of(40).what, kind::remote);
}

TEST(ClusterView, OwnerNotAMemberIsUnavailable) {
  cluster_view view("a");
  view.set_partition(40, owned_by("b", 7));
  view.set_peer_connected("b", true);
  EXPECT_EQ(view.route_of(40).what, kind::unavailable);

  view.set_member("b", member_of("b"));
  EXPECT_EQ(view.route_of(40).what, kind::remote);
  // The member's lease expired: its key is gone.
  view.set_member("b", std::nullopt);
  EXPECT_EQ(view.route_of(40).what, kind::unavailable);
  EXPECT_FALSE(view.member("b").has_value());
}

TEST(ClusterView, OwnerWithoutAConnectedPeerIsUnavailable) {
  cluster_view view("a");
  view.set_partition(40, owned_by("b", 7));
  view.set_member("b", member_of("b"));
  // Never connected.
  EXPECT_EQ(view.route_of(40).what, kind::unavailable);
  EXPECT_FALSE(view.peer_connected("b"));

  view.set_peer_connected("b", true);
  EXPECT_TRUE(view.peer_connected("b"));
  EXPECT_EQ(view.route_of(40).what, kind::remote);

  view.set_peer_connected("b", false);
  EXPECT_FALSE(view.peer_connected("b"));
  const auto r = view.route_of(40);
  EXPECT_EQ(r.what, kind::unavailable);
  EXPECT_NE(r.node.find("b"), std::string::npos) << r.node;
}

TEST(ClusterView, ConnectionToAnotherPeerDoesNotCount) {
  cluster_view view("a");
  view.set_partition(40, owned_by("b", 7));
  view.set_member("b", member_of("b"));
  view.set_member("c", member_of("c"));
  view.set_peer_connected("c", true);
  EXPECT_EQ(view.route_of(40).what, kind::unavailable);
}

TEST(ClusterView, ConnectedPeerSilentPastUnresponsiveAfterIsUnavailable) {
  using namespace std::chrono_literals;
  cluster_view view("a");
  view.set_liveness({10ms, 60ms});
  view.set_partition(40, owned_by("b", 7));
  view.set_member("b", member_of("b"));
  view.set_peer_connected("b", true);  // connecting counts as an answer
  EXPECT_TRUE(view.peer_responsive("b"));
  EXPECT_EQ(view.route_of(40).what, kind::remote);
  std::this_thread::sleep_for(150ms);
  // Still connected (the middleman has not noticed), but silent: hung or cut off.
  EXPECT_TRUE(view.peer_connected("b"));
  EXPECT_FALSE(view.peer_responsive("b"));
  EXPECT_GE(view.peer_silence("b"), 150ms);
  EXPECT_EQ(view.route_of(40).what, kind::unavailable);
  view.set_peer_answered("b");
  EXPECT_TRUE(view.peer_responsive("b"));
  EXPECT_LT(view.peer_silence("b"), 60ms);
  EXPECT_EQ(view.route_of(40).what, kind::remote);
  // A peer that is not connected has no silence to measure and answers nothing.
  view.set_peer_connected("b", false);
  EXPECT_EQ(view.peer_silence("b"), 0ms);
  EXPECT_FALSE(view.peer_responsive("b"));
  view.set_peer_answered("c");  // never connected: ignored
  EXPECT_FALSE(view.peer_responsive("c"));
}

TEST(ClusterView, RecordRemovedIsUnavailableAgain) {
  cluster_view view("a");
  view.set_partition(3, owned_by("a", 1));
  view.set_local_epoch(3, 1);
  ASSERT_EQ(view.route_of(3).what, kind::local);
  view.set_partition(3, std::nullopt);
  EXPECT_EQ(view.route_of(3).what, kind::unavailable);
  EXPECT_FALSE(view.partition(3).has_value());
}

TEST(ClusterView, RouteOfKeyUsesThePartitionOfTheKey) {
  cluster_view view("a");
  const std::string key = "orders:m1";
  const uint16_t p = partition_of(key).value();
  view.set_partition(p, owned_by("a", 4));
  view.set_local_epoch(p, 4);
  EXPECT_EQ(view.route_of_key(key).what, kind::local);
  EXPECT_EQ(view.route_of_key(key).epoch, 4u);
}

TEST(ClusterView, PartitionRecordsReadBack) {
  cluster_view view("c");
  view.set_partition(1, owned_by("b", 3, "moving", "c"));
  const auto r = view.partition(1);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->owner, "b");
  EXPECT_EQ(r->epoch, 3u);
  EXPECT_EQ(r->state, "moving");
  EXPECT_EQ(r->to, "c");
  const auto all = view.partitions();
  ASSERT_EQ(all.size(), partition_count);
  EXPECT_TRUE(all[1].has_value());
  EXPECT_FALSE(all[0].has_value());
}

TEST(ClusterView, CompleteOnlyWhenEveryPartitionHasARecord) {
  cluster_view view("a");
  for (uint16_t p = 0; p + 1 < partition_count; ++p) view.set_partition(p, owned_by("b", 1));
  EXPECT_FALSE(view.complete());
  view.set_partition(partition_count - 1, owned_by("b", 1));
  EXPECT_TRUE(view.complete());
  view.set_partition(0, std::nullopt);
  EXPECT_FALSE(view.complete());
}

TEST(ClusterView, ServedListsExactlyTheLocalPartitions) {
  cluster_view view("a");
  view.set_member("b", member_of("b"));
  view.set_peer_connected("b", true);
  std::vector<uint16_t> expected;
  for (uint16_t p = 0; p < partition_count; ++p) {
    switch (p % 4) {
      case 0:  // ours at the fenced epoch: served
        view.set_partition(p, owned_by("a", 2));
        view.set_local_epoch(p, 2);
        expected.push_back(p);
        break;
      case 1:  // ours but the fence lags: moving
        view.set_partition(p, owned_by("a", 2));
        view.set_local_epoch(p, 1);
        break;
      case 2:  // remote
        view.set_partition(p, owned_by("b", 2));
        break;
      case 3:  // ours but sealed
        view.set_partition(p, owned_by("a", 2));
        view.set_local_epoch(p, 2);
        view.set_sealed(p, true);
        break;
    }
  }
  EXPECT_EQ(view.served(), expected);
  for (uint16_t p = 0; p < partition_count; ++p)
    EXPECT_EQ(view.serves(p), p % 4 == 0) << "partition " << p;
}

TEST(ClusterView, DrainingFlags) {
  cluster_view view("a");
  EXPECT_FALSE(view.draining("b"));
  EXPECT_TRUE(view.draining_nodes().empty());

  view.set_draining("c", true);
  view.set_draining("b", true);
  view.set_draining("b", true);  // idempotent
  EXPECT_TRUE(view.draining("b"));
  EXPECT_TRUE(view.draining("c"));
  EXPECT_FALSE(view.draining("a"));
  EXPECT_EQ(view.draining_nodes(), (std::vector<std::string>{"b", "c"}));

  view.set_draining("b", false);
  EXPECT_FALSE(view.draining("b"));
  EXPECT_EQ(view.draining_nodes(), (std::vector<std::string>{"c"}));
  view.set_draining("x", false);  // clearing an unknown node is harmless
  EXPECT_EQ(view.draining_nodes(), (std::vector<std::string>{"c"}));
}

TEST(ClusterView, MembersAndController) {
  cluster_view view("a");
  view.set_member("b", member_of("b"));
  view.set_member("a", member_of("a"));
  const auto all = view.members();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.at("b").http, "b.local:8080");
  EXPECT_EQ(all.at("b").cluster, "b.local:9090");
  view.set_member("b", member_record{"b", "b2:1", "b2:2"});
  EXPECT_EQ(view.member("b")->http, "b2:1");

  view.set_controller("b");
  EXPECT_EQ(view.controller(), "b");
  view.set_controller("");
  EXPECT_EQ(view.controller(), "");
}

}  // namespace
}  // namespace sb::cluster
