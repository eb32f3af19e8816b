#include "codec/jwt.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include <openssl/crypto.h>
#include <boost/json.hpp>

#include "base/ids.hpp"
#include "codec/frames.hpp"
#include "codec/hmac.hpp"

namespace sb::codec {

namespace json = boost::json;

namespace {

// base64url of {"alg":"HS256","typ":"JWT"}; the only header this service issues.
constexpr std::string_view header_b64 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
// Real tokens are a few hundred bytes; the bound keeps hostile input from costing work.
constexpr size_t max_token_bytes = 8192;
constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using digest = sha256_digest;

int b64_value(char c) {
  const size_t pos = alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

std::optional<json::object> parse_part(std::string_view b64) {
  std::string text;
  if (!base64url_decode(b64, text)) return std::nullopt;
  json::parse_options options;
  options.max_depth = 4;
  json::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

const json::string* string_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

// exp may be written as an integer or a double by other issuers.
std::optional<double> number_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

}  // namespace

// The closed set is base/ids.hpp's `role`; the claim itself stays a string everywhere.
bool valid_role(std::string_view role) {
  return parse_role(role).has_value();
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t n = (p[i] << 16) | (rest == 2 ? p[i + 1] << 8 : 0);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(n >> 6) & 63]);
  }
  return out;
}

// Strict: no padding, no characters outside the alphabet, and unused trailing bits must be
// zero, so every byte string has exactly one accepted encoding.
bool base64url_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 == 1) return false;
  out.clear();
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return (acc & ((1u << bits) - 1)) == 0;
}

bool secret_equal(std::string_view a, std::string_view b) {
  // Every byte up to the longer length is compared, without an early exit, so the time depends
  // on the lengths only, never on where the inputs differ. (Hashing both inputs did the same
  // at ~9 % of the io thread under load: OpenSSL 3 looks the algorithm up on every call.)
  const size_t n = std::max(a.size(), b.size());
  size_t diff = a.size() ^ b.size();
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<size_t>(x ^ y);
  }
  return diff == 0;
}

std::string jwt_sign(const principal& p, std::string_view secret) {
  std::string payload(R"({"sub":)");
  json_quote_append(payload, p.sub);
  payload.append(R"(,"role":)");
  json_quote_append(payload, p.role);
  payload.append(R"(,"mid":)");
  json_quote_append(payload, p.mid);
  payload.append(R"(,"exp":)");
  payload.append(std::to_string(p.exp));
  payload.push_back('}');

  std::string token(header_b64);
  token.push_back('.');
  token.append(base64url_encode(payload));
  digest sig{};
  // A failed HMAC leaves an all-zero signature, which verification refuses.
  hmac_sha256(secret, token, sig);
  token.push_back('.');
  token.append(
      base64url_encode(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size())));
  return token;
}

std::variant<principal, std::string> jwt_verify(std::string_view token, std::string_view secret,
                                                int64_t now_s) {
  if (token.size() > max_token_bytes) return std::string("malformed");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return std::string("malformed");
  }
  const std::string_view signed_part = token.substr(0, dot2);
  const auto header = parse_part(token.substr(0, dot1));
  if (!header) return std::string("malformed");
  // Only HS256: accepting the header's choice would let "none" or a public-key algorithm
  // keyed with our secret through.
  const json::string* alg = string_claim(*header, "alg");
  if (!alg || *alg != "HS256") return std::string("bad_signature");

  std::string sig;
  if (!base64url_decode(token.substr(dot2 + 1), sig)) return std::string("malformed");
  digest expected{};
  if (!hmac_sha256(secret, signed_part, expected) || sig.size() != expected.size() ||
      CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) != 0) {
    return std::string("bad_signature");
  }

  const auto claims = parse_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return std::string("malformed");
  const json::string* sub = string_claim(*claims, "sub");
  const json::string* role = string_claim(*claims, "role");
  const json::string* mid = string_claim(*claims, "mid");
  const auto exp = number_claim(*claims, "exp");
  if (!sub || !role || !mid || !exp || !valid_id(*sub) || !valid_role(*role)) {
    return std::string("bad_claims");
  }
  const bool any_merchant = *mid == "*";
  if (any_merchant ? !(*role == "service" || *role == "admin") : !valid_id(*mid)) {
    return std::string("bad_claims");
  }
  if (!(*exp > static_cast<double>(now_s))) return std::string("expired");
  principal p;
  p.sub = *sub;
  p.role = *role;
  p.mid = *mid;
  // Saturate so that a far-future exp written as a double cannot overflow the conversion.
  p.exp = *exp >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(std::floor(*exp));
  return p;
}

}  // namespace sb::codec
