// Token buckets: burst, refusal with the Retry-After value, refill driven by the caller's clock,
// the disabled mode, and bounded memory with idle buckets evicted first.
#include <gtest/gtest.h>

#include <string>

#include "codec/rate_limiter.hpp"

namespace sb::codec {
namespace {

TEST(RateLimiter, BurstThenRefusalWithRetry) {
  rate_limiter limiter(2, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take("ip:1", 100), 0) << i;
  EXPECT_DOUBLE_EQ(limiter.take("ip:1", 100), 0.5);  // (1 - 0 tokens) / 2 per second
  EXPECT_DOUBLE_EQ(limiter.take("ip:1", 100), 0.5);  // a refusal costs nothing
}

TEST(RateLimiter, RefillsFromTheGivenClock) {
  rate_limiter limiter(1, 2);
  EXPECT_EQ(limiter.take("alice", 10), 0);
  EXPECT_EQ(limiter.take("alice", 10), 0);
  EXPECT_DOUBLE_EQ(limiter.take("alice", 10.25), 0.75);
  EXPECT_DOUBLE_EQ(limiter.take("alice", 10.5), 0.5);
  EXPECT_EQ(limiter.take("alice", 11), 0);
  EXPECT_GT(limiter.take("alice", 11), 0);
  // A long pause refills up to the burst, not beyond.
  EXPECT_EQ(limiter.take("alice", 1000), 0);
  EXPECT_EQ(limiter.take("alice", 1000), 0);
  EXPECT_DOUBLE_EQ(limiter.take("alice", 1000), 1.0);
}

TEST(RateLimiter, ClockGoingBackwardsDoesNotGrantOrDrain) {
  rate_limiter limiter(1, 1);
  EXPECT_EQ(limiter.take("k", 50), 0);
  EXPECT_DOUBLE_EQ(limiter.take("k", 40), 1.0);
  EXPECT_EQ(limiter.take("k", 51), 0);
}

TEST(RateLimiter, KeysAreIndependent) {
  rate_limiter limiter(1, 1);
  EXPECT_EQ(limiter.take("a", 0), 0);
  EXPECT_GT(limiter.take("a", 0), 0);
  EXPECT_EQ(limiter.take("b", 0), 0);
}

TEST(RateLimiter, DisabledWhenRateIsNotPositive) {
  for (const double rate : {0.0, -1.0}) {
    rate_limiter limiter(rate, 1);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.take("k" + std::to_string(i % 3), 0), 0);
    EXPECT_EQ(limiter.size(), 0u);
  }
}

TEST(RateLimiter, BurstBelowOneStillAllowsOne) {
  rate_limiter limiter(1, 0);
  EXPECT_EQ(limiter.take("k", 0), 0);
  EXPECT_DOUBLE_EQ(limiter.take("k", 0), 1.0);
}

TEST(RateLimiter, MemoryIsBounded) {
  rate_limiter limiter(1, 5, 160);
  for (int i = 0; i < 20000; ++i) {
    EXPECT_EQ(limiter.take("ip:" + std::to_string(i), i * 0.001), 0);
    ASSERT_LE(limiter.size(), 160u);
  }
  EXPECT_GT(limiter.size(), 100u);  // eviction frees an eighth, not everything
}

// Buckets that have refilled completely are dropped before older ones that are still limited:
// forgetting a full bucket changes nothing, forgetting a drained one would forgive its debt.
TEST(RateLimiter, EvictsFullBucketsBeforeOlderLimitedOnes) {
  rate_limiter limiter(1, 10, 1600);  // 100 buckets per shard
  for (int d = 0; d < 160; ++d) {
    const std::string key = "drained:" + std::to_string(d);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(limiter.take(key, 0), 0);
    ASSERT_GT(limiter.take(key, 0), 0);
  }
  // Newer than the drained buckets, one token used: full again from t = 2.
  for (int i = 0; i < 800; ++i) limiter.take("idle:" + std::to_string(i), 1);
  // Enough new keys that the shards overflow and evict.
  for (int i = 0; i < 800; ++i) limiter.take("new:" + std::to_string(i), 5);
  EXPECT_LT(limiter.size(), 160u + 800u + 800u);
  // Each drained bucket survived with the 5 tokens it earned since t = 0, not a fresh 10.
  for (int d = 0; d < 160; ++d) {
    const std::string key = "drained:" + std::to_string(d);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(limiter.take(key, 5), 0) << key;
    EXPECT_GT(limiter.take(key, 5), 0) << key;
  }
}

}  // namespace
}  // namespace sb::codec
