// The outbox's scheduling: per-recipient order, one delivery in flight per recipient, the
// earliest due first, backoff moving a head's due time, removal of delivered/failed ones.
#include <gtest/gtest.h>

#include "actors/outbox_queue.hpp"

namespace sb {
namespace {

outbox_queue::position at(int64_t created, uint64_t seq, std::string id) {
  return {created, "conv:c1", seq, std::move(id)};
}

std::string take(outbox_queue& q, int64_t now) {
  auto due = q.take_due(now);
  return due ? due->first + "/" + due->second.id : "";
}

TEST(OutboxQueue, OneRecipientGoesInOrderOneAtATime) {
  outbox_queue q;
  q.add("u1", at(10, 2, "b"), 0);
  q.add("u1", at(10, 1, "a"), 0);  // older seq, added later: still first
  EXPECT_EQ(q.pending(), 2u);
  EXPECT_EQ(take(q, 100), "u1/a");
  EXPECT_EQ(take(q, 100), "") << "u1 is busy until its delivery finishes";
  q.remove("u1", at(10, 1, "a"));
  q.release("u1");
  EXPECT_EQ(take(q, 100), "u1/b");
  q.remove("u1", at(10, 2, "b"));
  q.release("u1");
  EXPECT_EQ(q.pending(), 0u);
  EXPECT_FALSE(q.next_due());
}

TEST(OutboxQueue, RecipientsAreIndependentAndEarliestDueGoesFirst) {
  outbox_queue q;
  q.add("u1", at(1, 1, "a"), 500);
  q.add("u2", at(2, 1, "b"), 200);
  q.add("u3", at(3, 1, "c"), 900);
  EXPECT_EQ(take(q, 100), "");
  EXPECT_EQ(q.next_due(), 200);
  EXPECT_EQ(take(q, 600), "u2/b");
  EXPECT_EQ(take(q, 600), "u1/a");
  EXPECT_EQ(take(q, 600), "");
  EXPECT_EQ(q.next_due(), 900);
}

TEST(OutboxQueue, AFailedAttemptHoldsBackTheRecipientsLaterDeliveries) {
  outbox_queue q;
  q.add("u1", at(1, 1, "a"), 0);
  q.add("u1", at(1, 2, "b"), 0);
  EXPECT_EQ(take(q, 10), "u1/a");
  q.set_due("u1", at(1, 1, "a"), 1000);  // retry later
  q.release("u1");
  EXPECT_EQ(take(q, 10), "") << "b must not overtake a";
  EXPECT_EQ(q.next_due(), 1000);
  EXPECT_EQ(take(q, 1000), "u1/a");
  q.remove("u1", at(1, 1, "a"));  // given up: the next one flows
  q.release("u1");
  EXPECT_EQ(take(q, 1000), "u1/b");
}

TEST(OutboxQueue, DeliveriesAddedWhileBusyWaitForRelease) {
  outbox_queue q;
  q.add("u1", at(1, 1, "a"), 0);
  EXPECT_EQ(take(q, 0), "u1/a");
  q.add("u1", at(1, 2, "b"), 0);
  EXPECT_EQ(take(q, 0), "");
  q.remove("u1", at(1, 1, "a"));
  q.release("u1");
  EXPECT_EQ(take(q, 0), "u1/b");
}

TEST(OutboxQueue, ManyPendingDeliveriesCostLogarithmicWork) {
  // Not a timing assertion: 20k deliveries to 20k recipients are taken in due order.
  outbox_queue q;
  for (int i = 0; i < 20000; ++i)
    q.add("u" + std::to_string(i), at(i, 1, "d" + std::to_string(i)), 20000 - i);
  int64_t last_due = -1;
  for (int i = 0; i < 20000; ++i) {
    auto due = q.take_due(1 << 20);
    ASSERT_TRUE(due);
    const int64_t d = 20000 - due->second.created_ms;
    EXPECT_GE(d, last_due);
    last_due = d;
  }
  EXPECT_FALSE(q.take_due(1 << 20));
}

}  // namespace
}  // namespace sb
