#include "storage/op_codec.hpp"

#include <cstdint>

namespace sb::storage::op_codec {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

void append(std::string& out, std::string_view key, std::string_view value, bool erase) {
  out.push_back(erase ? 1 : 0);
  put_u32(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  put_u32(out, static_cast<uint32_t>(value.size()));
  out.append(value);
}

std::optional<std::vector<write_set::op>> parse(std::string_view bytes) {
  std::vector<write_set::op> out;
  size_t at = 0;
  auto take = [&](std::string& into) {
    if (bytes.size() - at < 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(bytes[at + i]);
    at += 4;
    if (bytes.size() - at < n) return false;
    into.assign(bytes.substr(at, n));
    at += n;
    return true;
  };
  while (at < bytes.size()) {
    write_set::op op;
    const auto flag = static_cast<unsigned char>(bytes[at++]);
    if (flag > 1 || !take(op.key) || !take(op.value)) return std::nullopt;
    op.erase = flag == 1;
    out.push_back(std::move(op));
  }
  return out;
}

int partition_of_key(std::string_view key) {
  if (key.size() < 3) return -1;
  return (static_cast<unsigned char>(key[0]) << 8) | static_cast<unsigned char>(key[1]);
}

}  // namespace sb::storage::op_codec
