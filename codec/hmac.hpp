// HMAC-SHA256 through OpenSSL: the signatures of tokens, app webhooks and partition copies
// between nodes. Pure functions; safe from any thread.
#pragma once
#include <array>
#include <string>
#include <string_view>

namespace sb::codec {

using sha256_digest = std::array<unsigned char, 32>;

// False only when OpenSSL fails (out of memory): callers then refuse, never accept.
bool hmac_sha256(std::string_view key, std::string_view data, sha256_digest& out);

// "sha256=" and the MAC in lowercase hex, as the X-Switchboard-Signature headers carry it;
// "" when OpenSSL fails, which never verifies at the receiver.
std::string hmac_sha256_header(std::string_view key, std::string_view data);

}  // namespace sb::codec
