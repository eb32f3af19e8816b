// cluster/rendezvous.hpp: placement is deterministic, total over the node set, roughly
// balanced, and minimally disruptive when a node joins or leaves.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "base/partition.hpp"
#include "cluster/rendezvous.hpp"
#include "cluster/replica_sets.hpp"

namespace sb::cluster {
namespace {

using nodes = std::vector<std::string>;

std::vector<std::string> owners(const nodes& set) {
  std::vector<std::string> out;
  for (uint16_t p = 0; p < partition_count; ++p) out.push_back(rendezvous_owner(set, p));
  return out;
}

// Node sets shaped like the ids the cluster harness and operators use.
const std::vector<nodes>& three_node_sets() {
  static const std::vector<nodes> sets = {
      {"a", "b", "c"}, {"n1", "n2", "n3"}, {"node-1", "node-2", "node-3"}};
  return sets;
}

TEST(Rendezvous, SameInputsGiveTheSameOwner) {
  for (const auto& set : three_node_sets()) {
    EXPECT_EQ(owners(set), owners(set));
    // A copy built independently (different storage) places identically.
    nodes copy(set.begin(), set.end());
    EXPECT_EQ(owners(copy), owners(set));
  }
}

TEST(Rendezvous, OrderOfTheNodeListDoesNotMatter) {
  for (const auto& set : three_node_sets()) {
    nodes reversed(set.rbegin(), set.rend());
    nodes rotated = {set[1], set[2], set[0]};
    EXPECT_EQ(owners(reversed), owners(set));
    EXPECT_EQ(owners(rotated), owners(set));
  }
}

TEST(Rendezvous, ScoreIsAPureFunctionOfNodeAndPartition) {
  EXPECT_EQ(rendezvous_score("n1", 7), rendezvous_score(std::string("n1"), 7));
  EXPECT_NE(rendezvous_score("n1", 7), rendezvous_score("n1", 8));
  EXPECT_NE(rendezvous_score("n1", 7), rendezvous_score("n2", 7));
}

TEST(Rendezvous, EveryPartitionGetsAnOwnerFromTheSet) {
  for (const auto& set : three_node_sets()) {
    for (uint16_t p = 0; p < partition_count; ++p) {
      const auto owner = rendezvous_owner(set, p);
      EXPECT_NE(std::find(set.begin(), set.end(), owner), set.end())
          << "partition " << p << " -> '" << owner << "'";
    }
  }
}

TEST(Rendezvous, SingleNodeOwnsEverything) {
  for (uint16_t p = 0; p < partition_count; ++p) EXPECT_EQ(rendezvous_owner({"solo"}, p), "solo");
}

TEST(Rendezvous, ThreeNodesShareThePartitionsRoughlyEvenly) {
  for (const auto& set : three_node_sets()) {
    std::map<std::string, int> count;
    for (const auto& owner : owners(set)) ++count[owner];
    ASSERT_EQ(count.size(), 3u) << "some node owns nothing";
    for (const auto& [node, n] : count) {
      const double share = static_cast<double>(n) / partition_count;
      EXPECT_GE(share, 0.20) << node << " owns " << n;
      EXPECT_LE(share, 0.47) << node << " owns " << n;
    }
  }
}

TEST(Rendezvous, AddingANodeMovesOnlyPartitionsTheNewNodeWins) {
  for (const auto& set : three_node_sets()) {
    const auto before = owners(set);
    nodes grown = set;
    grown.push_back(set[0] + "-new");
    const auto after = owners(grown);
    int moved = 0;
    for (uint16_t p = 0; p < partition_count; ++p) {
      if (after[p] == before[p]) continue;
      ++moved;
      EXPECT_EQ(after[p], grown.back())
          << "partition " << p << " moved between old nodes: " << before[p] << " -> " << after[p];
    }
    // The new node takes something, but far from everything.
    EXPECT_GT(moved, 0);
    EXPECT_LT(moved, partition_count / 2);
  }
}

TEST(Rendezvous, RemovingANodeMovesOnlyThatNodesPartitions) {
  for (const auto& set : three_node_sets()) {
    const auto before = owners(set);
    for (size_t gone = 0; gone < set.size(); ++gone) {
      nodes shrunk;
      for (size_t i = 0; i < set.size(); ++i)
        if (i != gone) shrunk.push_back(set[i]);
      const auto after = owners(shrunk);
      for (uint16_t p = 0; p < partition_count; ++p) {
        if (before[p] == set[gone]) {
          EXPECT_NE(after[p], set[gone]) << "partition " << p;
        } else {
          EXPECT_EQ(after[p], before[p]) << "partition " << p << " moved without reason";
        }
      }
    }
  }
}

TEST(Rendezvous, EmptySetHasNoOwner) {
  for (uint16_t p : {uint16_t{0}, uint16_t{1}, uint16_t{255}})
    EXPECT_EQ(rendezvous_owner({}, p), "");
}

TEST(Rendezvous, OrderStartsWithTheOwnerAndHoldsEveryNodeOnce) {
  const std::vector<std::string> nodes{"n1", "n2", "n3", "n4"};
  for (uint16_t p = 0; p < partition_count; ++p) {
    const auto order = rendezvous_order(nodes, p);
    ASSERT_EQ(order.size(), nodes.size());
    EXPECT_EQ(order.front(), rendezvous_owner(nodes, p));
    EXPECT_TRUE(std::is_permutation(order.begin(), order.end(), nodes.begin()));
  }
}

TEST(ReplicaSets, OwnerFirstThenTheRendezvousOrderWithStorage) {
  const std::map<std::string, member_record> members{
      {"n1", {"n1", "", "", "u1"}}, {"n2", {"n2", "", "", "u2"}}, {"n3", {"n3", "", "", "u3"}}};
  const std::vector<std::string> all{"n1", "n2", "n3"};
  for (uint16_t p = 0; p < partition_count; ++p) {
    // The owner need not be the rendezvous winner (after a takeover it often is not).
    const auto order = rendezvous_order(all, p);
    const auto set = choose_replicas(p, order.back(), all, members, 2);
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[0].node, order.back());
    EXPECT_EQ(set[1].node, order.front());
    EXPECT_EQ(set[1].storage, members.at(order.front()).storage);
  }
  // Never more copies than candidates; the owner is kept even when it is no candidate.
  const auto few = choose_replicas(7, "n9", {"n1"}, members, 3);
  ASSERT_EQ(few.size(), 2u);
  EXPECT_EQ(few[0].node, "n9");
  EXPECT_EQ(few[0].storage, "");
  EXPECT_EQ(few[1].node, "n1");
}

// The controller's plan for a serving partition's copies (next_replicas).
class WantedReplicas : public ::testing::Test {
 protected:
  const std::map<std::string, member_record> members{
      {"n1", {"n1", "", "", "u1"}}, {"n2", {"n2", "", "", "u2"}}, {"n3", {"n3", "", "", "u3"}}};
  const std::vector<std::string> all{"n1", "n2", "n3"};
  static bool none_replaced(const std::string&) { return false; }
  static partition_record serving(std::vector<std::string> nodes) {
    partition_record r{nodes.front(), 2, "serving", "", 7, {}};
    for (auto& n : nodes) r.replicas.push_back({n, "u" + n.substr(1)});
    return r;
  }
  static std::vector<std::string> nodes_of(const std::vector<replica_ref>& refs) {
    std::vector<std::string> out;
    for (const auto& r : refs) out.push_back(r.node);
    return out;
  }
};

TEST_F(WantedReplicas, AMovedPartitionDropsTheOldOwnersCopyWithOneReplica) {
  // A handoff lists the old owner after the new one; with R = 1 it must stop voting.
  for (uint16_t p : {0, 81, 255}) {
    const auto wanted = wanted_replicas(p, serving({"n1", "n2"}), all, members, 1, none_replaced);
    EXPECT_EQ(nodes_of(wanted), std::vector<std::string>{"n1"}) << "partition " << p;
  }
}

TEST_F(WantedReplicas, AMovedPartitionShrinksToTheConfiguredCountOwnerFirst) {
  for (uint16_t p = 0; p < 32; ++p) {
    const auto wanted =
        wanted_replicas(p, serving({"n3", "n1", "n2"}), all, members, 2, none_replaced);
    ASSERT_EQ(wanted.size(), 2u);
    EXPECT_EQ(wanted[0].node, "n3");
    EXPECT_EQ(nodes_of(wanted), nodes_of(choose_replicas(p, "n3", all, members, 2)));
  }
}

TEST_F(WantedReplicas, TheRightCountWithLiveCopiesIsNoChange) {
  EXPECT_TRUE(wanted_replicas(5, serving({"n1"}), all, members, 1, none_replaced).empty());
  EXPECT_TRUE(wanted_replicas(5, serving({"n2", "n3"}), all, members, 2, none_replaced).empty());
  // Fewer eligible nodes than configured: as many copies as there are nodes is enough.
  EXPECT_TRUE(
      wanted_replicas(5, serving({"n1", "n2"}), {"n1", "n2"}, members, 3, none_replaced).empty());
}

TEST_F(WantedReplicas, AGrownClusterGetsMoreCopies) {
  const auto wanted = wanted_replicas(9, serving({"n2"}), all, members, 3, none_replaced);
  EXPECT_EQ(wanted.size(), 3u);
  EXPECT_EQ(wanted[0].node, "n2");
}

TEST_F(WantedReplicas, AReplacedCopyMovesToAnEligibleNode) {
  const std::vector<std::string> eligible{"n1", "n3"};  // n2 is being drained
  const auto wanted = wanted_replicas(3, serving({"n1", "n2"}), eligible, members, 2,
                                      [](const std::string& node) { return node == "n2"; });
  EXPECT_EQ(nodes_of(wanted), (std::vector<std::string>{"n1", "n3"}));
}

}  // namespace
}  // namespace sb::cluster
