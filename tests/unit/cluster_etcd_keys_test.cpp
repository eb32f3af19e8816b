// cluster/etcd_keys.hpp: the key layout under a cluster prefix, what parse_key recognises, and
// the JSON of member and partition records.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "base/partition.hpp"
#include "cluster/etcd_keys.hpp"

namespace sb::cluster {
namespace {

namespace keys = etcd_keys;
using kind = etcd_keys::parsed_key::kind;

const std::string prefix = "/switchboard/prod";

TEST(EtcdKeys, Layout) {
  EXPECT_EQ(keys::partition_count_key(prefix), "/switchboard/prod/meta/partitions");
  EXPECT_EQ(keys::member_key(prefix, "n1"), "/switchboard/prod/members/n1");
  EXPECT_EQ(keys::partition_key(prefix, 0), "/switchboard/prod/parts/0");
  EXPECT_EQ(keys::partition_key(prefix, 255), "/switchboard/prod/parts/255");
  EXPECT_EQ(keys::drain_key(prefix, "n2"), "/switchboard/prod/drain/n2");
  EXPECT_EQ(keys::controller_key(prefix), "/switchboard/prod/controller");
}

TEST(EtcdKeys, ParseMemberKey) {
  const auto k = keys::parse_key(prefix, keys::member_key(prefix, "node-7"));
  EXPECT_EQ(k.what, kind::member);
  EXPECT_EQ(k.node, "node-7");
}

TEST(EtcdKeys, ParseDrainKey) {
  const auto k = keys::parse_key(prefix, keys::drain_key(prefix, "b"));
  EXPECT_EQ(k.what, kind::drain);
  EXPECT_EQ(k.node, "b");
}

TEST(EtcdKeys, ParsePartitionKeyOfEveryPartition) {
  for (uint16_t p = 0; p < partition_count; ++p) {
    const auto k = keys::parse_key(prefix, keys::partition_key(prefix, p));
    ASSERT_EQ(k.what, kind::partition) << "partition " << p;
    EXPECT_EQ(k.partition, p);
  }
}

TEST(EtcdKeys, PartitionKeyOutOfRangeOrNotANumberIsOther) {
  for (const std::string tail : {"256", "1000", "65536", "99999999999", "-1", "+1", "abc", "12x",
                                 "x12", "", " 1", "1 ", "1.0", "0x1"}) {
    const auto k = keys::parse_key(prefix, prefix + "/parts/" + tail);
    EXPECT_EQ(k.what, kind::other) << "parts/" << tail;
  }
}

TEST(EtcdKeys, ParseControllerKey) {
  EXPECT_EQ(keys::parse_key(prefix, keys::controller_key(prefix)).what, kind::controller);
  // Only the exact key.
  EXPECT_EQ(keys::parse_key(prefix, prefix + "/controller/x").what, kind::other);
  EXPECT_EQ(keys::parse_key(prefix, prefix + "/controllers").what, kind::other);
}

TEST(EtcdKeys, ForeignOrUnknownKeysAreOther) {
  // Another cluster's prefix, including one that merely starts with ours.
  EXPECT_EQ(keys::parse_key(prefix, keys::member_key("/switchboard/staging", "n1")).what,
            kind::other);
  EXPECT_EQ(keys::parse_key(prefix, keys::member_key(prefix + "2", "n1")).what, kind::other);
  EXPECT_EQ(keys::parse_key(prefix, keys::partition_key(prefix + "-old", 3)).what, kind::other);
  EXPECT_EQ(keys::parse_key(prefix, keys::controller_key("/other")).what, kind::other);
  // Not under any known kind, or the prefix itself.
  EXPECT_EQ(keys::parse_key(prefix, keys::partition_count_key(prefix)).what, kind::other);
  EXPECT_EQ(keys::parse_key(prefix, prefix + "/unknown/x").what, kind::other);
  EXPECT_EQ(keys::parse_key(prefix, prefix).what, kind::other);
  EXPECT_EQ(keys::parse_key(prefix, prefix + "/").what, kind::other);
  EXPECT_EQ(keys::parse_key(prefix, "").what, kind::other);
}

TEST(EtcdKeys, MemberJsonRoundTrips) {
  const member_record m{"n1", "10.0.0.1:8080", "10.0.0.1:9090"};
  const auto back = keys::parse_member(keys::member_json(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, m.id);
  EXPECT_EQ(back->http, m.http);
  EXPECT_EQ(back->cluster, m.cluster);

  // Characters that need escaping survive.
  const member_record odd{"n\"1\\", "h:1", ""};
  const auto odd_back = keys::parse_member(keys::member_json(odd));
  ASSERT_TRUE(odd_back.has_value());
  EXPECT_EQ(odd_back->id, odd.id);
  EXPECT_EQ(odd_back->cluster, "");
}

TEST(EtcdKeys, MemberJsonIsAnObjectWithTheDocumentedFields) {
  const auto v = boost::json::parse(keys::member_json({"n1", "h:1", "c:2"}));
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("id").as_string(), "n1");
  EXPECT_EQ(v.at("http").as_string(), "h:1");
  EXPECT_EQ(v.at("cluster").as_string(), "c:2");
}

TEST(EtcdKeys, ParseMemberRefusesMissingIdAndMalformedJson) {
  EXPECT_FALSE(keys::parse_member(R"({"http":"h:1","cluster":"c:2"})").has_value());
  EXPECT_FALSE(keys::parse_member(R"({"id":"","http":"h:1"})").has_value());
  EXPECT_FALSE(keys::parse_member(R"({"id":7})").has_value());
  EXPECT_FALSE(keys::parse_member("{").has_value());
  EXPECT_FALSE(keys::parse_member("").has_value());
  EXPECT_FALSE(keys::parse_member(R"(["n1"])").has_value());
  EXPECT_FALSE(keys::parse_member(R"("n1")").has_value());
}

TEST(EtcdKeys, PartitionJsonRoundTrips) {
  const partition_record serving{"n1", 12, "serving", "", 0};
  const auto a = keys::parse_partition(keys::partition_json(serving));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->owner, "n1");
  EXPECT_EQ(a->epoch, 12u);
  EXPECT_EQ(a->state, "serving");
  EXPECT_EQ(a->to, "");

  const partition_record moving{"b", 3, "moving", "c", 0};
  const auto b = keys::parse_partition(keys::partition_json(moving));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->owner, "b");
  EXPECT_EQ(b->epoch, 3u);
  EXPECT_EQ(b->state, "moving");
  EXPECT_EQ(b->to, "c");

  // The largest epoch etcd could ever hold round-trips exactly.
  const partition_record huge{"n1", UINT64_MAX, "serving", "", 0};
  const auto c = keys::parse_partition(keys::partition_json(huge));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->epoch, UINT64_MAX);
}

TEST(EtcdKeys, ReplicasRoundTripInOrder) {
  const partition_record r{"n2", 4, "serving",
                           "",   0, {{"n2", "uuid-2"}, {"n3", "uuid-3"}, {"n1", ""}}};
  const auto back = keys::parse_partition(keys::partition_json(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->replicas, r.replicas);
  EXPECT_TRUE(back->has_replica("n1"));
  EXPECT_FALSE(back->has_replica("n4"));
}

TEST(EtcdKeys, NextReplicasRoundTripAndAreLeftOutWhenNoChangeIsPending) {
  partition_record r{"n2", 4, "serving", "", 0, {{"n2", "u2"}, {"n3", "u3"}}};
  EXPECT_FALSE(boost::json::parse(keys::partition_json(r)).as_object().contains("next_replicas"));
  r.next_replicas = {{"n2", "u2"}, {"n4", ""}};
  const auto back = keys::parse_partition(keys::partition_json(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->next_replicas, r.next_replicas);
  EXPECT_FALSE(back->has_replica("n4"));  // a newcomer is no replica yet
  EXPECT_TRUE(back->keeps_copy("n4"));
  EXPECT_FALSE(back->keeps_copy("n1"));
  const std::string head = R"({"owner":"n1","epoch":2,"state":"serving","next_replicas":)";
  EXPECT_FALSE(keys::parse_partition(head + R"([{"node":"n1"},{"node":"n1"}]})").has_value());
  EXPECT_FALSE(keys::parse_partition(head + R"({"node":"n1"}})").has_value());
}

TEST(EtcdKeys, RecordWithoutReplicasHasTheOwnerAsItsOnlyCopy) {
  const auto r = keys::parse_partition(R"({"owner":"n1","epoch":2,"state":"serving"})");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->replicas.size(), 1u);
  EXPECT_EQ(r->replicas[0].node, "n1");
}

TEST(EtcdKeys, ParsePartitionRefusesMalformedReplicas) {
  const std::string head = R"({"owner":"n1","epoch":2,"state":"serving","replicas":)";
  EXPECT_FALSE(keys::parse_partition(head + R"(["n1"]})").has_value());
  EXPECT_FALSE(keys::parse_partition(head + R"([{"storage":"u"}]})").has_value());
  EXPECT_FALSE(keys::parse_partition(head + R"([{"node":"n1"},{"node":"n1"}]})").has_value());
}

TEST(EtcdKeys, MemberJsonCarriesTheStorageUuid) {
  const auto back = keys::parse_member(keys::member_json({"n1", "h:1", "c:2", "uuid-1"}));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->storage, "uuid-1");
}

TEST(EtcdKeys, PartitionJsonLeavesOutAnEmptyTo) {
  const auto v = boost::json::parse(keys::partition_json({"n1", 2, "serving", "", 0}));
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("owner").as_string(), "n1");
  EXPECT_EQ(v.at("epoch").to_number<uint64_t>(), 2u);
  EXPECT_EQ(v.at("state").as_string(), "serving");
  EXPECT_FALSE(v.as_object().contains("to"));
  // mod_revision is etcd's, never part of the value.
  EXPECT_FALSE(v.as_object().contains("mod_revision"));
}

TEST(EtcdKeys, ParsePartitionRefusesMissingOwner) {
  EXPECT_FALSE(keys::parse_partition(R"({"epoch":1,"state":"serving"})").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"","epoch":1,"state":"serving"})").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":5,"epoch":1,"state":"serving"})").has_value());
}

TEST(EtcdKeys, ParsePartitionRefusesEpochZeroOrNotAPositiveInteger) {
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","epoch":0,"state":"serving"})").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","epoch":-3,"state":"serving"})").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","state":"serving"})").has_value());
  EXPECT_FALSE(
      keys::parse_partition(R"({"owner":"n1","epoch":"2","state":"serving"})").has_value());
  EXPECT_FALSE(
      keys::parse_partition(R"({"owner":"n1","epoch":null,"state":"serving"})").has_value());
}

TEST(EtcdKeys, ParsePartitionRefusesUnknownState) {
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","epoch":1})").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","epoch":1,"state":""})").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","epoch":1,"state":"Serving"})").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","epoch":1,"state":"draining"})").has_value());
  EXPECT_TRUE(
      keys::parse_partition(R"({"owner":"n1","epoch":1,"state":"moving","to":"n2"})").has_value());
}

TEST(EtcdKeys, ParsePartitionRefusesMalformedJson) {
  EXPECT_FALSE(keys::parse_partition("").has_value());
  EXPECT_FALSE(keys::parse_partition("{").has_value());
  EXPECT_FALSE(keys::parse_partition(R"({"owner":"n1","epoch":1,"state":"serving")").has_value());
  EXPECT_FALSE(keys::parse_partition("not json").has_value());
  EXPECT_FALSE(keys::parse_partition(R"(["n1",1,"serving"])").has_value());
  EXPECT_FALSE(keys::parse_partition("42").has_value());
}

}  // namespace
}  // namespace sb::cluster
