// JWT HS256: sign/verify round trip and every way a token must be refused, with reasons that
// are safe to log.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec/jwt.hpp"

namespace sb::codec {
namespace {

constexpr std::string_view secret = "test-secret-0123456789";
constexpr int64_t now = 1732330000;

principal alice() {
  return principal{"alice", "merchant", "m1", now + 3600};
}

// Builds a token with any header and payload, signed with `key`, as an attacker or another
// issuer could.
std::string forge(std::string_view header, std::string_view payload, std::string_view key) {
  std::string token = base64url_encode(header) + "." + base64url_encode(payload);
  std::array<unsigned char, 32> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac.data(), &len);
  return token + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}

constexpr std::string_view hs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string reason(std::string_view token, std::string_view key = secret, int64_t now_s = now) {
  auto result = jwt_verify(token, key, now_s);
  if (!std::holds_alternative<std::string>(result)) return "accepted";
  const std::string r = std::get<std::string>(result);
  // Reasons are drawn from a fixed set, so neither the token nor the secret can leak.
  static const std::set<std::string> known{"malformed", "bad_signature", "expired", "bad_claims"};
  EXPECT_TRUE(known.count(r)) << r;
  return r;
}

TEST(Jwt, SignVerifyRoundTrip) {
  const std::string token = jwt_sign(alice(), secret);
  EXPECT_EQ(token.substr(0, token.find('.')), base64url_encode(hs256));
  const auto result = jwt_verify(token, secret, now);
  ASSERT_TRUE(std::holds_alternative<principal>(result)) << std::get<std::string>(result);
  const principal& p = std::get<principal>(result);
  EXPECT_EQ(p.sub, "alice");
  EXPECT_EQ(p.role, "merchant");
  EXPECT_EQ(p.mid, "m1");
  EXPECT_EQ(p.exp, now + 3600);
}

TEST(Jwt, AcceptsTokensOfOtherHs256Issuers) {
  const std::string token =
      forge(R"({"typ":"JWT","alg":"HS256"})",
            R"({"sub":"svc","role":"service","mid":"*","exp":1732339999.5,"iat":1})", secret);
  const auto result = jwt_verify(token, secret, now);
  ASSERT_TRUE(std::holds_alternative<principal>(result));
  EXPECT_EQ(std::get<principal>(result).mid, "*");
  EXPECT_EQ(std::get<principal>(result).exp, 1732339999);
}

TEST(Jwt, TamperedPayloadIsBadSignature) {
  const std::string token = jwt_sign(alice(), secret);
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  principal admin = alice();
  admin.role = "admin";
  const std::string other = jwt_sign(admin, "attacker-secret");
  const std::string other_payload = other.substr(dot1 + 1, other.find('.', dot1 + 1) - dot1 - 1);
  const std::string tampered = token.substr(0, dot1 + 1) + other_payload + token.substr(dot2);
  EXPECT_EQ(reason(tampered), "bad_signature");
}

TEST(Jwt, TamperedSignatureIsBadSignature) {
  std::string token = jwt_sign(alice(), secret);
  token[token.size() - 2] = token[token.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason(token), "bad_signature");
  // 40 characters decode cleanly to 30 bytes: a signature of the wrong length.
  const std::string truncated = token.substr(0, token.size() - 3);
  EXPECT_EQ(reason(truncated), "bad_signature");
}

TEST(Jwt, WrongSecretIsBadSignature) {
  EXPECT_EQ(reason(jwt_sign(alice(), secret), "another-secret"), "bad_signature");
}

TEST(Jwt, AlgNoneIsRejected) {
  const std::string payload = R"({"sub":"alice","role":"admin","mid":"*","exp":9999999999})";
  const std::string unsigned_token =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(payload) + ".";
  EXPECT_EQ(reason(unsigned_token), "bad_signature");
  // Even with a valid HMAC of its content, a header naming another algorithm is refused.
  EXPECT_EQ(reason(forge(R"({"alg":"none"})", payload, secret)), "bad_signature");
  EXPECT_EQ(reason(forge(R"({"alg":"HS512"})", payload, secret)), "bad_signature");
  EXPECT_EQ(reason(forge(R"({"alg":"hs256"})", payload, secret)), "bad_signature");
  EXPECT_EQ(reason(forge(R"({"typ":"JWT"})", payload, secret)), "bad_signature");
}

TEST(Jwt, Expired) {
  principal p = alice();
  p.exp = now;
  EXPECT_EQ(reason(jwt_sign(p, secret)), "expired");
  p.exp = now + 1;
  EXPECT_EQ(reason(jwt_sign(p, secret)), "accepted");
  EXPECT_EQ(reason(jwt_sign(p, secret), secret, now + 1), "expired");
}

TEST(Jwt, BadClaims) {
  principal star = alice();
  star.mid = "*";
  EXPECT_EQ(reason(jwt_sign(star, secret)), "bad_claims");  // merchant role cannot span merchants
  for (const char* role : {"agent", "customer"}) {
    star.role = role;
    EXPECT_EQ(reason(jwt_sign(star, secret)), "bad_claims") << role;
  }
  for (const char* role : {"service", "admin"}) {
    star.role = role;
    EXPECT_EQ(reason(jwt_sign(star, secret)), "accepted") << role;
  }
  for (const char* payload : {
           R"({"role":"merchant","mid":"m1","exp":9999999999})",
           R"({"sub":"a b","role":"merchant","mid":"m1","exp":9999999999})",
           R"({"sub":7,"role":"merchant","mid":"m1","exp":9999999999})",
           R"({"sub":"a","role":"root","mid":"m1","exp":9999999999})",
           R"({"sub":"a","mid":"m1","exp":9999999999})",
           R"({"sub":"a","role":"merchant","exp":9999999999})",
           R"({"sub":"a","role":"merchant","mid":"m/1","exp":9999999999})",
           R"({"sub":"a","role":"merchant","mid":"m1"})",
           R"({"sub":"a","role":"merchant","mid":"m1","exp":"9999999999"})",
       }) {
    EXPECT_EQ(reason(forge(hs256, payload, secret)), "bad_claims") << payload;
  }
}

TEST(Jwt, Malformed) {
  const std::string good = jwt_sign(alice(), secret);
  for (const std::string& token : {
           std::string(),
           std::string("abc"),
           std::string("a.b"),
           good + ".x",
           std::string("..."),
           "!!!" + good.substr(good.find('.')),
           base64url_encode("not json") + good.substr(good.find('.')),
           base64url_encode("[1]") + good.substr(good.find('.')),
           good.substr(0, good.rfind('.')) + ".a*b",
           good + std::string(9000, 'A'),
       }) {
    EXPECT_EQ(reason(token), "malformed") << token.substr(0, 80);
  }
  // Validly signed, but the payload is not a JSON object.
  EXPECT_EQ(reason(forge(hs256, "[]", secret)), "malformed");
  EXPECT_EQ(reason(forge(hs256, "{", secret)), "malformed");
}

TEST(Base64Url, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64url_encode(plain), encoded);
    std::string out;
    ASSERT_TRUE(base64url_decode(encoded, out)) << encoded;
    EXPECT_EQ(out, plain);
  }
}

TEST(Base64Url, UrlAlphabetAndBinaryRoundTrip) {
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= bytes.size(); n += 7) {
    std::string out;
    ASSERT_TRUE(base64url_decode(base64url_encode(bytes.substr(0, n)), out));
    EXPECT_EQ(out, bytes.substr(0, n));
  }
}

TEST(Base64Url, DecodeIsStrict) {
  std::string out;
  EXPECT_FALSE(base64url_decode("Zg==", out));  // padding
  EXPECT_FALSE(base64url_decode("Zh", out));    // non-zero unused bits
  EXPECT_FALSE(base64url_decode("Z", out));     // impossible length
  EXPECT_FALSE(base64url_decode("+/+/", out));  // standard alphabet
  EXPECT_FALSE(base64url_decode("Zm 9v", out));
}

TEST(SecretEqual, ComparesContent) {
  EXPECT_TRUE(secret_equal("dev-service-key", "dev-service-key"));
  EXPECT_TRUE(secret_equal("", ""));
  EXPECT_FALSE(secret_equal("dev-service-key", "dev-service-kez"));
  EXPECT_FALSE(secret_equal("dev-service-key", "dev-service-key2"));
  EXPECT_FALSE(secret_equal("a", ""));
}

TEST(ValidRole, Table) {
  for (const char* role : {"merchant", "agent", "customer", "service", "admin"}) {
    EXPECT_TRUE(valid_role(role)) << role;
  }
  for (const char* role : {"", "Admin", "root", "merchant "}) EXPECT_FALSE(valid_role(role));
}

}  // namespace
}  // namespace sb::codec
