// The actor kind table (base/actor_kinds.hpp) as its users read it: every kind's key splits
// back into that kind and id, the names sbctl uses find their kind, the registry names a key's
// kind, and the stream names of actors/stream_names.hpp carry the table's prefixes.
#include <gtest/gtest.h>

#include "actors/stream_names.hpp"
#include "base/actor_kinds.hpp"
#include "cluster/registry.hpp"

namespace sb {
namespace {

TEST(ActorKinds, EveryKindRoundTripsThroughItsKeyAndName) {
  for (const auto& k : actor_kinds) {
    const auto key = key_of(k.kind, "id:with:colons");
    auto parsed = parse_actor_key(key);
    ASSERT_TRUE(parsed) << key;
    EXPECT_EQ(parsed->kind, k.kind);
    EXPECT_EQ(parsed->id, "id:with:colons");
    EXPECT_EQ(kind_named(k.name), k.kind);
    EXPECT_EQ(cluster::kind_of_key(key), k.name);
    EXPECT_EQ(&info_of(k.kind), &k);
  }
}

TEST(ActorKinds, UnknownKeysAndNamesAreNoKind) {
  EXPECT_FALSE(parse_actor_key("order:m1"));
  EXPECT_FALSE(parse_actor_key(""));
  EXPECT_FALSE(kind_named("orders"));
  EXPECT_EQ(cluster::kind_of_key("sessions:x"), "");
}

TEST(ActorKinds, StreamNamesFollowTheContract) {
  EXPECT_EQ(orders_stream("m1"), "orders:m1");
  EXPECT_EQ(conv_stream("c1"), "conv:c1");
  EXPECT_EQ(inbox_stream("a1"), "inbox:a1");
  EXPECT_EQ(pool_key("m1"), "pool:m1");
  EXPECT_EQ(channels_stream("m1"), "channels:m1");
}

}  // namespace
}  // namespace sb
