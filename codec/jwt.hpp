// JWT HS256 (RFC 7519) for browser and app principals, signed with `auth.secret` through
// OpenSSL HMAC; comparison in constant time. Pure functions; safe from any thread.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace sb::codec {

struct principal {
  std::string sub;   // principal id (valid_id)
  std::string role;  // merchant | agent | customer | service | admin
  std::string mid;   // merchant id, or "*" (service/admin only)
  int64_t exp = 0;   // seconds since the Unix epoch
};

bool valid_role(std::string_view role);

std::string jwt_sign(const principal& p, std::string_view secret);

// Verifies signature (alg must be HS256), exp > now_s and the claims' shape (sub and mid
// valid ids or "*" for mid, role valid). Returns the principal or a one-line reason
// ("malformed", "bad_signature", "expired", "bad_claims") that is safe to log.
std::variant<principal, std::string> jwt_verify(std::string_view token, std::string_view secret,
                                                int64_t now_s);

// base64url without padding.
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view in, std::string& out);

// Constant-time string comparison for secrets.
bool secret_equal(std::string_view a, std::string_view b);

}  // namespace sb::codec
