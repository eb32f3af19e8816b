// The routing core with a fake clock: weighted shares and tie-breaks, capacity, presence, the
// FIFO queue and its positions, draining on every freed slot, offline grace, transfers, and
// round robin.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <initializer_list>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/routing.hpp"

namespace sb::chat {
namespace {

using namespace std::chrono_literals;
using assignments = std::vector<assignment>;

class Routing : public ::testing::Test {
 protected:
  // Each call moves the fake clock one second on, so idle times are all distinct.
  time_point tick() { return now_ += 1s; }

  void online(const std::string& agent, uint32_t weight = 1, uint32_t max_concurrent = 5) {
    ASSERT_TRUE(r_.enrol(agent, weight, max_concurrent, tick()));
    r_.set_presence(agent, presence::online, tick());
  }

  std::optional<assignment> route(const std::string& conv) { return r_.route(conv, tick()); }

  size_t load(const std::string& agent) const { return r_.agent(agent)->convs.size(); }

  std::deque<std::string> queued(std::initializer_list<std::string> convs) const {
    return std::deque<std::string>(convs);
  }

  assignments transferred(const std::string& conv, const std::string& to) {
    auto result = r_.transfer(conv, to, tick());
    if (const auto* error = std::get_if<std::string>(&result)) {
      ADD_FAILURE() << "transfer failed: " << *error;
      return {};
    }
    return std::get<assignments>(result);
  }

  std::string transfer_error(const std::string& conv, const std::string& to) {
    auto result = r_.transfer(conv, to, tick());
    if (const auto* error = std::get_if<std::string>(&result)) return *error;
    return "(no error)";
  }

  time_point now_{};
  router r_{strategy::weighted_least_load};
};

TEST_F(Routing, EnrolValidatesAndStartsOffline) {
  EXPECT_FALSE(r_.enrol("alice", 0, 5, tick()));
  EXPECT_FALSE(r_.enrol("alice", 1, 0, tick()));
  EXPECT_FALSE(r_.enrolled("alice"));
  EXPECT_EQ(r_.agent("alice"), nullptr);

  const auto result = r_.enrol("alice", 2, 3, tick());
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->empty());
  EXPECT_TRUE(r_.enrolled("alice"));
  const agent_info* a = r_.agent("alice");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id, "alice");
  EXPECT_EQ(a->weight, 2u);
  EXPECT_EQ(a->max_concurrent, 3u);
  EXPECT_EQ(a->state, presence::offline);
  // Offline agents get nothing.
  EXPECT_EQ(route("c1"), std::nullopt);
  EXPECT_EQ(r_.position("c1"), 1u);
}

TEST_F(Routing, AgentsAreListedInEnrolmentOrderWithStablePointers) {
  online("carol");
  const agent_info* carol = r_.agent("carol");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(r_.enrol("a" + std::to_string(i), 1, 1, tick()));
  online("bob");
  EXPECT_EQ(r_.agent("carol"), carol);
  const auto all = r_.agents();
  ASSERT_EQ(all.size(), 102u);
  EXPECT_EQ(all.front()->id, "carol");
  EXPECT_EQ(all[1]->id, "a0");
  EXPECT_EQ(all.back()->id, "bob");
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1]->enrol_order, all[i]->enrol_order);
  // Updating an agent does not move it.
  ASSERT_TRUE(r_.enrol("carol", 4, 4, tick()));
  EXPECT_EQ(r_.agents().front()->id, "carol");
  EXPECT_EQ(r_.agent("carol")->weight, 4u);
}

TEST_F(Routing, WeightsThreeToOneSplitFortyExactly) {
  online("alice", 3, 100);
  online("bob", 1, 100);
  for (int i = 1; i <= 41; ++i) {
    ASSERT_TRUE(route("c" + std::to_string(i)));
    // Along the way the share is never more than one conversation off 3:1.
    const double ideal = 3.0 * i / 4;
    EXPECT_LE(std::abs(static_cast<double>(load("alice")) - ideal), 1.0) << i;
    if (i == 40) {
      EXPECT_EQ(load("alice"), 30u);
      EXPECT_EQ(load("bob"), 10u);
    }
  }
  EXPECT_EQ(load("alice") + load("bob"), 41u);
}

TEST_F(Routing, SharesFollowSeveralWeights) {
  online("a", 1, 1000);
  online("b", 2, 1000);
  online("c", 5, 1000);
  for (int i = 0; i < 800; ++i) ASSERT_TRUE(route("c" + std::to_string(i)));
  EXPECT_EQ(load("a"), 100u);
  EXPECT_EQ(load("b"), 200u);
  EXPECT_EQ(load("c"), 500u);
}

TEST_F(Routing, LargeWeightsCompareExactly) {
  // 1/4294967295 against 0/1 and then 1/4294967295 against 1/4294967294: a floating-point
  // ratio would blur these; the cross-multiplication does not.
  online("big", 4294967295u, 4294967295u);
  online("almost", 4294967294u, 4294967295u);
  EXPECT_EQ(route("c1")->agent, "big");
  EXPECT_EQ(route("c2")->agent, "almost");
  EXPECT_EQ(route("c3")->agent, "big");
}

TEST_F(Routing, CapacityIsRespected) {
  online("alice", 10, 2);
  online("bob", 1, 3);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(route("c" + std::to_string(i))) << i;
  EXPECT_EQ(load("alice"), 2u);
  EXPECT_EQ(load("bob"), 3u);
  EXPECT_EQ(route("c6"), std::nullopt);
  EXPECT_EQ(r_.position("c6"), 1u);
  EXPECT_EQ(r_.agent_of("c6"), std::nullopt);
}

TEST_F(Routing, TiesGoToTheAgentIdleLongest) {
  // bob is enrolled after alice but online before her, so enrolment order would pick wrong.
  ASSERT_TRUE(r_.enrol("alice", 1, 5, tick()));
  online("bob");
  r_.set_presence("alice", presence::online, tick());
  EXPECT_EQ(route("c1")->agent, "bob");
  EXPECT_EQ(route("c2")->agent, "alice");
  // One each: bob's last assignment is older.
  EXPECT_EQ(route("c3")->agent, "bob");
  EXPECT_EQ(route("c4")->agent, "alice");
  // A release lowers the load but is not an assignment: alice, now lower, gets the next one,
  // and after that the tie goes to bob, idle since c3.
  r_.release("c2", tick());
  EXPECT_EQ(route("c5")->agent, "alice");
  EXPECT_EQ(route("c6")->agent, "bob");
}

TEST_F(Routing, ComingOnlineCountsAsTheStartOfIdleness) {
  online("alice");
  online("bob");
  r_.set_presence("alice", presence::offline, tick());
  r_.set_presence("alice", presence::online, tick());
  EXPECT_EQ(route("c1")->agent, "bob");
}

TEST_F(Routing, EqualIdleTimesGoToTheEarlierEnrolled) {
  const time_point t = tick();
  for (const char* id : {"zed", "amy"}) {
    ASSERT_TRUE(r_.enrol(id, 1, 5, t));
    r_.set_presence(id, presence::online, t);
  }
  EXPECT_EQ(r_.route("c1", t)->agent, "zed");
}

TEST_F(Routing, EveryAssignmentSetsIdleSince) {
  online("alice");
  const time_point t = tick();
  ASSERT_TRUE(r_.route("c1", t));
  EXPECT_EQ(r_.agent("alice")->idle_since, t);
  EXPECT_EQ(r_.agent("alice")->convs, std::vector<std::string>{"c1"});
}

TEST_F(Routing, AwayAgentsKeepConversationsButGetNoNewOnes) {
  online("alice");
  online("bob");
  ASSERT_EQ(route("c1")->agent, "alice");
  EXPECT_TRUE(r_.set_presence("alice", presence::away, tick()).empty());
  EXPECT_EQ(route("c2")->agent, "bob");
  EXPECT_EQ(route("c3")->agent, "bob");
  EXPECT_EQ(r_.agent_of("c1"), "alice");
  r_.set_presence("bob", presence::away, tick());
  EXPECT_EQ(route("c4"), std::nullopt);
  EXPECT_EQ(r_.position("c4"), 1u);
  // An away agent's conversation is still released normally.
  EXPECT_TRUE(r_.release("c1", tick()).empty());
  EXPECT_EQ(load("alice"), 0u);
  // Back online: the queue drains to it.
  EXPECT_EQ(r_.set_presence("alice", presence::online, tick()), (assignments{{"c4", "alice"}}));
}

TEST_F(Routing, QueueIsFifoWithPositionsFromOne) {
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(route("c" + std::to_string(i)), std::nullopt);
  EXPECT_EQ(r_.queue(), queued({"c1", "c2", "c3", "c4", "c5"}));
  for (size_t i = 1; i <= 5; ++i) EXPECT_EQ(r_.position("c" + std::to_string(i)), i);
  EXPECT_EQ(r_.position("nope"), 0u);

  online("alice", 1, 2);
  EXPECT_EQ(r_.agent("alice")->convs, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(r_.position("c1"), 0u);
  EXPECT_EQ(r_.position("c3"), 1u);
  EXPECT_EQ(r_.position("c4"), 2u);
  EXPECT_EQ(r_.position("c5"), 3u);
  // A conversation leaving the middle of the queue moves only those behind it.
  EXPECT_TRUE(r_.release("c4", tick()).empty());
  EXPECT_EQ(r_.position("c3"), 1u);
  EXPECT_EQ(r_.position("c4"), 0u);
  EXPECT_EQ(r_.position("c5"), 2u);
  EXPECT_EQ(r_.queue(), queued({"c3", "c5"}));
}

TEST_F(Routing, ReroutingAQueuedOrAssignedConversationIsANoOp) {
  online("alice", 1, 1);
  ASSERT_TRUE(route("c1"));
  ASSERT_FALSE(route("c2"));
  ASSERT_FALSE(route("c3"));
  EXPECT_EQ(route("c1"), std::nullopt);
  EXPECT_EQ(route("c2"), std::nullopt);
  EXPECT_EQ(r_.queue(), queued({"c2", "c3"}));
  EXPECT_EQ(r_.agent_of("c1"), "alice");
  EXPECT_EQ(load("alice"), 1u);
}

TEST_F(Routing, ReleaseAssignsTheQueueHead) {
  online("alice", 1, 1);
  ASSERT_TRUE(route("c1"));
  ASSERT_FALSE(route("c2"));
  ASSERT_FALSE(route("c3"));
  EXPECT_EQ(r_.release("c1", tick()), (assignments{{"c2", "alice"}}));
  EXPECT_EQ(r_.agent_of("c1"), std::nullopt);
  EXPECT_EQ(r_.agent_of("c2"), "alice");
  EXPECT_EQ(r_.position("c3"), 1u);
  // A resolved conversation may be reopened and routed again.
  EXPECT_EQ(route("c1"), std::nullopt);
  EXPECT_EQ(r_.queue(), queued({"c3", "c1"}));
}

TEST_F(Routing, ReleasingAnUnknownConversationIsHarmless) {
  online("alice", 1, 1);
  ASSERT_TRUE(route("c1"));
  ASSERT_FALSE(route("c2"));
  EXPECT_TRUE(r_.release("nope", tick()).empty());
  EXPECT_TRUE(r_.release("", tick()).empty());
  EXPECT_EQ(r_.agent_of("c1"), "alice");
  EXPECT_EQ(r_.queue(), queued({"c2"}));
  // Twice is harmless too.
  EXPECT_EQ(r_.release("c1", tick()).size(), 1u);
  EXPECT_TRUE(r_.release("c1", tick()).empty());
  EXPECT_EQ(r_.agent_of("c2"), "alice");
}

TEST_F(Routing, RaisingCapacityDrainsTheQueueInOrder) {
  online("alice", 1, 1);
  for (const char* c : {"c1", "c2", "c3", "c4"}) route(c);
  const auto result = r_.enrol("alice", 1, 3, tick());
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, (assignments{{"c2", "alice"}, {"c3", "alice"}}));
  EXPECT_EQ(r_.queue(), queued({"c4"}));
}

TEST_F(Routing, LoweringCapacityKeepsConversations) {
  online("alice", 1, 3);
  for (const char* c : {"c1", "c2", "c3", "c4"}) route(c);
  EXPECT_TRUE(r_.enrol("alice", 1, 1, tick())->empty());
  EXPECT_EQ(load("alice"), 3u);
  // Still over capacity after one release: the queue waits.
  EXPECT_TRUE(r_.release("c1", tick()).empty());
  EXPECT_TRUE(r_.release("c2", tick()).empty());
  EXPECT_EQ(r_.release("c3", tick()), (assignments{{"c4", "alice"}}));
}

TEST_F(Routing, ComingOnlineDrainsTheQueueInOrder) {
  ASSERT_TRUE(r_.enrol("alice", 1, 2, tick()));
  ASSERT_TRUE(r_.enrol("bob", 1, 2, tick()));
  for (const char* c : {"c1", "c2", "c3"}) route(c);
  EXPECT_EQ(r_.set_presence("alice", presence::online, tick()),
            (assignments{{"c1", "alice"}, {"c2", "alice"}}));
  EXPECT_EQ(r_.queue(), queued({"c3"}));
  // Away is not online: nothing drains.
  EXPECT_TRUE(r_.set_presence("bob", presence::away, tick()).empty());
  EXPECT_EQ(r_.set_presence("bob", presence::online, tick()), (assignments{{"c3", "bob"}}));
  // Online again while online changes nothing.
  const time_point idle = r_.agent("bob")->idle_since;
  EXPECT_TRUE(r_.set_presence("bob", presence::online, tick()).empty());
  EXPECT_EQ(r_.agent("bob")->idle_since, idle);
}

TEST_F(Routing, PresenceOfAnUnknownAgentIsIgnored) {
  EXPECT_TRUE(r_.set_presence("ghost", presence::online, tick()).empty());
  EXPECT_FALSE(r_.enrolled("ghost"));
}

TEST_F(Routing, OfflineWithinGraceKeepsConversations) {
  online("alice", 1, 2);
  online("bob", 1, 5);
  route("c1");
  route("c2");
  ASSERT_EQ(r_.agent_of("c1"), "alice");
  const time_point gone = tick();
  EXPECT_TRUE(r_.set_presence("alice", presence::offline, gone).empty());
  EXPECT_EQ(r_.agent("alice")->offline_since, gone);
  // Exactly the grace is not longer than the grace.
  const auto [taken, drained] = r_.expire_offline(30s, gone + 30s);
  EXPECT_TRUE(taken.empty());
  EXPECT_TRUE(drained.empty());
  EXPECT_EQ(r_.agent_of("c1"), "alice");
  // Reconnecting in time keeps them for good.
  now_ = gone + 20s;
  r_.set_presence("alice", presence::online, tick());
  EXPECT_TRUE(r_.expire_offline(30s, gone + 1h).first.empty());
  EXPECT_EQ(r_.agent_of("c1"), "alice");
}

TEST_F(Routing, OfflinePastGraceRequeuesToTheFrontInOrder) {
  online("alice", 1, 2);
  online("bob", 1, 1);
  for (const char* c : {"c1", "c2", "c3", "c4"}) route(c);
  ASSERT_EQ(r_.agent("alice")->convs, (std::vector<std::string>{"c1", "c3"}));
  ASSERT_EQ(r_.agent_of("c2"), "bob");
  ASSERT_EQ(r_.queue(), queued({"c4"}));
  const time_point gone = tick();
  r_.set_presence("alice", presence::offline, gone);
  now_ = gone + 31s;
  const auto [taken, drained] = r_.expire_offline(30s, now_);
  EXPECT_EQ(taken, (std::vector<requeued>{{"c1", "alice"}, {"c3", "alice"}}));
  EXPECT_TRUE(drained.empty());  // bob is full
  EXPECT_EQ(r_.queue(), queued({"c1", "c3", "c4"}));
  EXPECT_EQ(load("alice"), 0u);
  EXPECT_EQ(r_.agent_of("c1"), std::nullopt);
  // A second sweep finds nothing more.
  EXPECT_TRUE(r_.expire_offline(30s, tick()).first.empty());
  // Freed capacity takes them in that order.
  EXPECT_EQ(r_.release("c2", tick()), (assignments{{"c1", "bob"}}));
  EXPECT_EQ(r_.queue(), queued({"c3", "c4"}));
}

TEST_F(Routing, OfflinePastGraceReassignsToOtherFreeAgents) {
  online("alice", 1, 3);
  for (const char* c : {"c1", "c2", "c3"}) route(c);
  online("bob", 1, 2);
  online("carol", 1, 5);
  r_.set_presence("alice", presence::offline, tick());
  now_ += 1min;
  const auto [taken, drained] = r_.expire_offline(30s, tick());
  EXPECT_EQ(taken, (std::vector<requeued>{{"c1", "alice"}, {"c2", "alice"}, {"c3", "alice"}}));
  // bob came online before carol, so he is idle longer; c3 finds them equally loaded and
  // assigned at the same instant, so it goes to the earlier enrolled.
  EXPECT_EQ(drained, (assignments{{"c1", "bob"}, {"c2", "carol"}, {"c3", "bob"}}));
  EXPECT_TRUE(r_.queue().empty());
}

TEST_F(Routing, SeveralExpiredAgentsRequeueInEnrolmentOrder) {
  online("alice", 1, 1);
  online("bob", 1, 1);
  route("c1");
  route("c2");
  route("c3");
  ASSERT_EQ(r_.agent_of("c1"), "alice");
  ASSERT_EQ(r_.agent_of("c2"), "bob");
  r_.set_presence("bob", presence::offline, tick());
  r_.set_presence("alice", presence::offline, tick());
  now_ += 1h;
  const auto [taken, drained] = r_.expire_offline(30s, tick());
  EXPECT_EQ(taken, (std::vector<requeued>{{"c1", "alice"}, {"c2", "bob"}}));
  EXPECT_TRUE(drained.empty());
  EXPECT_EQ(r_.queue(), queued({"c1", "c2", "c3"}));
}

TEST_F(Routing, AwayIsNotOffline) {
  online("alice");
  route("c1");
  r_.set_presence("alice", presence::away, tick());
  now_ += 1h;
  EXPECT_TRUE(r_.expire_offline(30s, tick()).first.empty());
  EXPECT_EQ(r_.agent_of("c1"), "alice");
}

TEST_F(Routing, TransferToAnAgent) {
  online("alice");
  online("bob");
  ASSERT_EQ(route("c1")->agent, "alice");
  const time_point t = tick();
  auto result = r_.transfer("c1", "bob", t);
  ASSERT_TRUE(std::holds_alternative<assignments>(result));
  EXPECT_EQ(std::get<assignments>(result), (assignments{{"c1", "bob"}}));
  EXPECT_EQ(r_.agent_of("c1"), "bob");
  EXPECT_EQ(load("alice"), 0u);
  EXPECT_EQ(r_.agent("bob")->idle_since, t);
}

TEST_F(Routing, TransferErrorsChangeNothing) {
  online("alice", 1, 2);
  online("bob", 1, 1);
  online("carol");
  ASSERT_EQ(route("c1")->agent, "alice");
  ASSERT_EQ(route("c2")->agent, "bob");
  r_.set_presence("carol", presence::away, tick());
  ASSERT_TRUE(r_.enrol("dave", 1, 5, tick()));  // enrolled, never online
  ASSERT_EQ(route("c3")->agent, "alice");
  ASSERT_FALSE(route("c4"));

  EXPECT_EQ(transfer_error("nope", "bob"), "not_assigned");
  EXPECT_EQ(transfer_error("c4", "bob"), "not_assigned");  // queued
  EXPECT_EQ(transfer_error("nope", ""), "not_assigned");
  EXPECT_EQ(transfer_error("c1", "ghost"), "no_such_agent");
  EXPECT_EQ(transfer_error("c1", "alice"), "agent_unavailable");  // itself
  EXPECT_EQ(transfer_error("c1", "bob"), "agent_unavailable");    // full
  EXPECT_EQ(transfer_error("c1", "carol"), "agent_unavailable");  // away
  EXPECT_EQ(transfer_error("c1", "dave"), "agent_unavailable");   // offline

  EXPECT_EQ(r_.agent("alice")->convs, (std::vector<std::string>{"c1", "c3"}));
  EXPECT_EQ(r_.agent("bob")->convs, std::vector<std::string>{"c2"});
  EXPECT_EQ(r_.queue(), queued({"c4"}));
}

// take: an agent with free capacity (online or away) picks a queued conversation out of
// FIFO order; everything else is refused and changes nothing.
TEST_F(Routing, TakeAssignsAQueuedConversationToAnAgentWithCapacity) {
  online("alice", 1, 1);
  ASSERT_EQ(route("c1")->agent, "alice");
  ASSERT_FALSE(route("c2"));
  ASSERT_FALSE(route("c3"));
  ASSERT_TRUE(r_.enrol("bob", 1, 1, tick()));
  r_.set_presence("bob", presence::away, tick());  // away: no routed work, but may take
  auto result = r_.take("c3", "bob", tick());
  ASSERT_TRUE(std::holds_alternative<assignment>(result));
  EXPECT_EQ(std::get<assignment>(result), (assignment{"c3", "bob"}));
  EXPECT_EQ(r_.agent_of("c3"), "bob");
  EXPECT_EQ(r_.queue(), queued({"c2"}));
}

TEST_F(Routing, TakeErrorsChangeNothing) {
  online("alice", 1, 1);
  ASSERT_TRUE(r_.enrol("dave", 1, 5, tick()));  // enrolled, never online
  ASSERT_EQ(route("c1")->agent, "alice");
  ASSERT_FALSE(route("c2"));
  auto error = [&](const std::string& conv, const std::string& agent) {
    auto result = r_.take(conv, agent, tick());
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : "";
  };
  EXPECT_EQ(error("nope", "alice"), "not_queued");
  EXPECT_EQ(error("c1", "alice"), "not_queued");  // assigned, not waiting
  EXPECT_EQ(error("c2", "ghost"), "no_such_agent");
  EXPECT_EQ(error("c2", "alice"), "agent_unavailable");  // full
  EXPECT_EQ(error("c2", "dave"), "agent_unavailable");   // offline
  EXPECT_EQ(r_.queue(), queued({"c2"}));
  EXPECT_EQ(r_.agent("alice")->convs, std::vector<std::string>{"c1"});
}

TEST_F(Routing, TransferToTheQueueGoesToAnotherFreeAgentFirst) {
  online("alice");
  online("bob");
  ASSERT_EQ(route("c1")->agent, "alice");
  // alice, now empty and idle longer, would win a plain routing; she sent it away.
  EXPECT_EQ(transferred("c1", ""), (assignments{{"c1", "bob"}}));
  EXPECT_TRUE(r_.queue().empty());
}

TEST_F(Routing, TransferToTheQueueFrontAndTheFreedSlotTakesTheNextInLine) {
  online("alice", 1, 1);
  online("bob", 1, 1);
  ASSERT_EQ(route("c1")->agent, "alice");
  ASSERT_EQ(route("c2")->agent, "bob");
  ASSERT_FALSE(route("c3"));
  ASSERT_FALSE(route("c4"));
  EXPECT_EQ(transferred("c1", ""), (assignments{{"c3", "alice"}}));
  EXPECT_EQ(r_.queue(), queued({"c1", "c4"}));
  EXPECT_EQ(r_.position("c1"), 1u);
  EXPECT_EQ(r_.agent_of("c1"), std::nullopt);
  // The next free slot elsewhere takes it first.
  EXPECT_EQ(r_.release("c2", tick()), (assignments{{"c1", "bob"}}));
  EXPECT_EQ(r_.queue(), queued({"c4"}));
}

TEST_F(Routing, AConversationSentBackWaitsForAnotherAgent) {
  online("alice", 1, 2);
  ASSERT_TRUE(route("c1"));
  EXPECT_TRUE(transferred("c1", "").empty());
  EXPECT_EQ(r_.queue(), queued({"c1"}));
  // alice still takes new conversations; c1 is not offered back to her.
  EXPECT_EQ(route("c2")->agent, "alice");
  EXPECT_TRUE(r_.release("c2", tick()).empty());
  EXPECT_EQ(r_.position("c1"), 1u);
  // Anyone else may take it, and once assigned it is an ordinary conversation again.
  online("bob");
  EXPECT_EQ(r_.agent_of("c1"), "bob");
  EXPECT_EQ(transferred("c1", "alice"), (assignments{{"c1", "alice"}}));
}

TEST_F(Routing, TransferToAnAgentDrainsTheFreedSlot) {
  online("alice", 1, 1);
  online("bob", 1, 2);
  ASSERT_EQ(route("c1")->agent, "alice");
  ASSERT_EQ(route("c2")->agent, "bob");
  // bob sends c2 back while alice is full: it waits although bob has room.
  ASSERT_TRUE(transferred("c2", "").empty());
  ASSERT_EQ(route("c3")->agent, "bob");
  // alice hands c1 to bob; her freed slot takes the waiting c2.
  EXPECT_EQ(transferred("c1", "bob"), (assignments{{"c1", "bob"}, {"c2", "alice"}}));
  EXPECT_TRUE(r_.queue().empty());
}

class RoutingRoundRobin : public Routing {
 protected:
  RoutingRoundRobin() { r_.set_strategy(strategy::round_robin); }
};

TEST_F(RoutingRoundRobin, RotatesInEnrolmentOrderAndWraps) {
  online("a", 5, 10);  // weights do not matter here
  online("b", 1, 10);
  online("c", 1, 10);
  std::string order;
  for (int i = 0; i < 7; ++i) order += route("c" + std::to_string(i))->agent;
  EXPECT_EQ(order, "abcabca");
}

TEST_F(RoutingRoundRobin, SkipsFullAndAwayAgents) {
  online("a", 1, 10);
  online("b", 1, 1);
  online("c", 1, 10);
  online("d", 1, 10);
  r_.set_presence("c", presence::away, tick());
  std::string order;
  for (int i = 0; i < 6; ++i) order += route("c" + std::to_string(i))->agent;
  EXPECT_EQ(order, "abdada");
}

TEST_F(RoutingRoundRobin, QueuesWhenNobodyHasRoomAndDrainsInTurn) {
  online("a", 1, 1);
  online("b", 1, 1);
  EXPECT_EQ(route("c1")->agent, "a");
  EXPECT_EQ(route("c2")->agent, "b");
  EXPECT_EQ(route("c3"), std::nullopt);
  EXPECT_EQ(r_.release("c1", tick()), (assignments{{"c3", "a"}}));
}

TEST_F(Routing, SwitchingStrategyKeepsState) {
  online("a", 1, 10);
  online("b", 1, 10);
  route("c1");
  route("c2");
  route("c3");
  ASSERT_EQ(load("a"), 2u);
  r_.set_strategy(strategy::round_robin);
  // Round robin continues after the agent last assigned (a), whatever the loads.
  EXPECT_EQ(route("c4")->agent, "b");
  EXPECT_EQ(route("c5")->agent, "a");
  r_.set_strategy(strategy::weighted_least_load);
  EXPECT_EQ(route("c6")->agent, "b");
}

}  // namespace
}  // namespace sb::chat
