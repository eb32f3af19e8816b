#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "base/partition.hpp"
#include "storage/keys.hpp"

namespace sb::storage::keys {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(StorageKeys, EntryKeyIsPartitionTypeStreamNulSeq) {
  const uint16_t p = partition_of("orders:m1").value();
  const std::string expected =
      bytes({p >> 8, p & 0xff, 'E'}) + "orders:m1" + bytes({0, 0, 0, 0, 0, 0, 0, 0x01, 0x02});
  EXPECT_EQ(entry_key("orders:m1", 0x0102), expected);
}

TEST(StorageKeys, CursorAndIdempotencyKeysEndWithTheirSuffix) {
  const uint16_t p = partition_of("conv:c7").value();
  EXPECT_EQ(cursor_key("conv:c7", "agent:a1"),
            bytes({p >> 8, p & 0xff, 'C'}) + "conv:c7" + bytes({0}) + "agent:a1");
  EXPECT_EQ(idempotency_key("conv:c7", "k-1"),
            bytes({p >> 8, p & 0xff, 'I'}) + "conv:c7" + bytes({0}) + "k-1");
}

TEST(StorageKeys, EntryKeysSortBySeqNumerically) {
  EXPECT_LT(entry_key("s", 255), entry_key("s", 256));
  EXPECT_LT(entry_key("s", 1), entry_key("s", 1ull << 40));
}

TEST(StorageKeys, EntrySeqRoundTrips) {
  for (uint64_t seq : {0ull, 1ull, 255ull, 256ull, 1ull << 40, ~0ull}) {
    EXPECT_EQ(entry_seq(entry_key("orders:m1", seq)), seq);
  }
}

TEST(StorageKeys, StreamPrefixDoesNotMatchLongerStreamNames) {
  // Compared without the partition bytes, as if both streams shared a partition.
  const std::string m1 = stream_prefix(record_type::entry, "orders:m1").substr(2);
  EXPECT_FALSE(entry_key("orders:m10", 1).substr(2).starts_with(m1));
}

TEST(StorageKeys, StreamWithNulIsRejected) {
  EXPECT_THROW(entry_key(std::string_view("a\0b", 3), 1), std::invalid_argument);
}

TEST(StorageKeys, PrefixEndIsTheSmallestKeyAfterThePrefix) {
  EXPECT_EQ(prefix_end("ab"), "ac");
  EXPECT_EQ(prefix_end(bytes({'a', 0xff})), "b");
  EXPECT_EQ(prefix_end(bytes({0xff, 0xff})), "");
  const std::string prefix = stream_prefix(record_type::entry, "orders:m1");
  EXPECT_LT(entry_key("orders:m1", ~0ull), prefix_end(prefix));
}

TEST(StorageKeys, TypePrefixIsBigEndianPartitionAndType) {
  EXPECT_EQ(type_prefix(partition_id{0x0102}, record_type::idempotency), bytes({1, 2, 'I'}));
}

}  // namespace
}  // namespace sb::storage::keys
