// codec/hmac.hpp against RFC 4231's HMAC-SHA256 test vectors.
#include <gtest/gtest.h>

#include <string>

#include "codec/hmac.hpp"

namespace sb::codec {
namespace {

std::string hex(const sha256_digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : d) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

TEST(Hmac, MatchesRfc4231TestCase2) {
  sha256_digest mac{};
  ASSERT_TRUE(hmac_sha256("Jefe", "what do ya want for nothing?", mac));
  EXPECT_EQ(hex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, KeyLongerThanABlockIsHashedFirst) {
  // RFC 4231 test case 6: a 131-byte key of 0xaa.
  sha256_digest mac{};
  ASSERT_TRUE(hmac_sha256(std::string(131, '\xaa'),
                          "Test Using Larger Than Block-Size Key - Hash Key First", mac));
  EXPECT_EQ(hex(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Hmac, HeaderIsPrefixedLowercaseHexAndAnEmptyKeyWorks) {
  EXPECT_EQ(hmac_sha256_header("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const auto empty = hmac_sha256_header("", "");
  ASSERT_EQ(empty.size(), 7u + 64u);
  EXPECT_EQ(empty, "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Hmac, DifferentKeysOrDataGiveDifferentSignatures) {
  EXPECT_NE(hmac_sha256_header("k1", "body"), hmac_sha256_header("k2", "body"));
  EXPECT_NE(hmac_sha256_header("k", "body1"), hmac_sha256_header("k", "body2"));
}

}  // namespace
}  // namespace sb::codec
