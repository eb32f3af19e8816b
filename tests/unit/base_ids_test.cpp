#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_set>

#include "base/ids.hpp"
#include "base/partition.hpp"

namespace sb {
namespace {

// Ids of different kinds never convert into each other or from their bare value.
static_assert(!std::is_convertible_v<merchant_id, conv_id>);
static_assert(!std::is_convertible_v<conv_id, merchant_id>);
static_assert(!std::is_convertible_v<std::string, merchant_id>);
static_assert(!std::is_convertible_v<merchant_id, std::string>);
static_assert(!std::is_convertible_v<uint16_t, partition_id>);
static_assert(!std::is_convertible_v<partition_id, uint16_t>);
static_assert(!std::is_convertible_v<seq_no, partition_id>);
static_assert(!std::is_assignable_v<node_id&, principal_id>);
static_assert(std::is_constructible_v<partition_id, uint16_t>);  // explicitly, it may

TEST(StrongId, ComparesByValue) {
  EXPECT_EQ(merchant_id{"m1"}, merchant_id{"m1"});
  EXPECT_NE(merchant_id{"m1"}, merchant_id{"m2"});
  EXPECT_LT(seq_no{2}, seq_no{10});
  EXPECT_EQ(partition_id{7}.value(), 7);
  EXPECT_EQ(partition_id{}, partition_id{0});
}

TEST(StrongId, HashesLikeItsValue) {
  EXPECT_EQ(std::hash<stream_key>{}(stream_key{"orders:m1"}),
            std::hash<std::string>{}("orders:m1"));
  std::unordered_set<conv_id> seen{conv_id{"a"}, conv_id{"b"}, conv_id{"a"}};
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen.contains(conv_id{"b"}));
  EXPECT_FALSE(seen.contains(conv_id{"c"}));
}

TEST(StrongId, StreamsItsValue) {
  std::ostringstream out;
  out << node_id{"n1"} << '/' << partition_id{42};
  EXPECT_EQ(out.str(), "n1/42");  // the number, not a character
}

TEST(Partition, PartitionOfIsStableAndInRange) {
  // FNV-1a 64 of "orders:m1" mod 256: a changed hash would re-key every stored record.
  EXPECT_EQ(partition_of("orders:m1"),
            partition_id{static_cast<uint16_t>(fnv1a64("orders:m1") % partition_count)});
  EXPECT_EQ(fnv1a64(""), 1469598103934665603ull);
  for (const char* key : {"", "a", "conv:c7", "inbox:agent-1"})
    EXPECT_LT(partition_of(key).value(), partition_count);
}

TEST(Vocabulary, RoundTripsEveryName) {
  for (auto s : {conv_status::unassigned, conv_status::in_progress, conv_status::resolved})
    EXPECT_EQ(parse_conv_status(to_string(s)), s);
  for (auto r : {role::merchant, role::agent, role::customer, role::service, role::admin})
    EXPECT_EQ(parse_role(to_string(r)), r);
  for (auto s : {routing_strategy::weighted_least_load, routing_strategy::round_robin})
    EXPECT_EQ(parse_routing_strategy(to_string(s)), s);
  EXPECT_EQ(to_string(conv_status::in_progress), "in_progress");
  EXPECT_EQ(to_string(routing_strategy::round_robin), "round_robin");
}

TEST(Vocabulary, ParseRefusesAnythingButTheExactSpelling) {
  EXPECT_EQ(parse_conv_status(""), std::nullopt);
  EXPECT_EQ(parse_conv_status("Resolved"), std::nullopt);
  EXPECT_EQ(parse_conv_status("resolved "), std::nullopt);
  EXPECT_EQ(parse_role("root"), std::nullopt);
  EXPECT_EQ(parse_role("agents"), std::nullopt);
  EXPECT_EQ(parse_routing_strategy("Round_Robin"), std::nullopt);
  EXPECT_EQ(parse_routing_strategy("least_load"), std::nullopt);
}

}  // namespace
}  // namespace sb
