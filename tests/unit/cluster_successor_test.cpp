// choose_successor (cluster/successor.hpp): which sealed copy a takeover makes the owner, and
// when there are too few copies that count — the schedule of the drain that once lost
// acknowledged entries (a backup mid-copy and a newcomer counted as replicas) among them.
#include <gtest/gtest.h>

#include "cluster/successor.hpp"

namespace sb::cluster {
namespace {

using storage::replica_state;

const std::vector<replica_ref> three{{"o", "uo"}, {"a", "ua"}, {"b", "ub"}};

TEST(Successor, FurthestOfEnoughCompleteReplicasWins) {
  const std::vector<sealed_copy> sealed{{"a", "ua", {3, 2, 7}}, {"b", "ub", {3, 2, 9}}};
  const auto c = choose_successor(three, sealed);
  ASSERT_NE(c.copy, nullptr);
  EXPECT_EQ(c.copy->node, "b");
  EXPECT_EQ(c.counted, 2u);
  EXPECT_EQ(c.needed, 2u);
}

TEST(Successor, LaterEpochBeatsHigherLsn) {
  const std::vector<sealed_copy> sealed{{"a", "ua", {3, 1, 90}}, {"b", "ub", {3, 2, 4}}};
  EXPECT_EQ(choose_successor(three, sealed).copy->node, "b");
}

TEST(Successor, ACopyMidWayDoesNotCountAndCannotWin) {
  // b's records were removed by a copy's first chunk: it may lack rounds it synced before.
  // With the owner gone, a alone cannot vouch for every acknowledged round.
  const std::vector<sealed_copy> sealed{{"a", "ua", {3, 2, 5}}, {"b", "ub", {3, 0, 0, true}}};
  const auto c = choose_successor(three, sealed);
  EXPECT_EQ(c.copy, nullptr);
  EXPECT_EQ(c.counted, 1u);
}

TEST(Successor, ANewcomerOrAStrangerDoesNotCountHoweverFarItIs) {
  // A node of a pending change (next_replicas) is no replica until the owner switched: it may
  // hold a stale lineage further than anything acknowledged.
  const std::vector<sealed_copy> sealed{{"a", "ua", {3, 2, 5}}, {"n", "un", {3, 2, 99}}};
  const auto c = choose_successor(three, sealed);
  EXPECT_EQ(c.copy, nullptr);
  EXPECT_EQ(c.counted, 1u);
}

TEST(Successor, AWipedDirectoryIsNotTheReplicaEtcdLists) {
  const std::vector<sealed_copy> sealed{{"a", "ua", {3, 2, 5}}, {"b", "new", {3, 2, 9}}};
  EXPECT_EQ(choose_successor(three, sealed).copy, nullptr);
  // A record from before storage uuids lists none: any directory counts.
  std::vector<replica_ref> unlisted{{"o", ""}, {"a", ""}, {"b", ""}};
  EXPECT_EQ(choose_successor(unlisted, sealed).copy->node, "b");
}

TEST(Successor, AnOwnerThatWasOnlySuspectedIsChosenAgain) {
  const std::vector<sealed_copy> sealed{{"o", "uo", {3, 2, 10}}, {"a", "ua", {3, 2, 8}}};
  EXPECT_EQ(choose_successor(three, sealed).copy->node, "o");
}

TEST(Successor, OneAnswerPerReplica) {
  const std::vector<sealed_copy> sealed{{"a", "ua", {3, 2, 5}}, {"a", "ua", {3, 2, 5}}};
  EXPECT_EQ(choose_successor(three, sealed).copy, nullptr);
}

TEST(Successor, QuorumFollowsTheNumberOfReplicas) {
  // Four replicas (a move's old ones plus the new owner): any 3 intersect every owner + one.
  const std::vector<replica_ref> four{{"t", ""}, {"o", ""}, {"a", ""}, {"b", ""}};
  std::vector<sealed_copy> sealed{{"o", "", {5, 4, 3}}, {"a", "", {5, 4, 3}}};
  EXPECT_EQ(choose_successor(four, sealed).needed, 3u);
  EXPECT_EQ(choose_successor(four, sealed).copy, nullptr);
  sealed.push_back({"b", "", {5, 4, 6}});
  EXPECT_EQ(choose_successor(four, sealed).copy->node, "b");
  // One copy: it alone decides.
  EXPECT_EQ(choose_successor({{"a", ""}}, {{"a", "", {2, 1, 1}}}).copy->node, "a");
}

}  // namespace
}  // namespace sb::cluster
