#include "codec/hmac.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sb::codec {

bool hmac_sha256(std::string_view key, std::string_view data, sha256_digest& out) {
  // HMAC accepts a null key pointer only with length 0; an empty view may have a null data().
  static const unsigned char empty_key = 0;
  const void* k = key.empty() ? &empty_key : static_cast<const void*>(key.data());
  unsigned int len = 0;
  return HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
              &len) != nullptr &&
         len == out.size();
}

std::string hmac_sha256_header(std::string_view key, std::string_view data) {
  sha256_digest mac{};
  if (!hmac_sha256(key, data, mac)) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256=";
  out.reserve(out.size() + 2 * mac.size());
  for (unsigned char byte : mac) {
    out += hex[byte >> 4];
    out += hex[byte & 0x0f];
  }
  return out;
}

}  // namespace sb::codec
