#include "actors/entry_id.hpp"

#include <random>

namespace sb {

std::string make_entry_id(int64_t now_ms) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = (static_cast<uint64_t>(now_ms) << 16) | 0x7000 | (rng() & 0x0fff);
  uint64_t lo = (rng() & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = hex[(hi >> (4 * i)) & 0xf];
    out[31 - i] = hex[(lo >> (4 * i)) & 0xf];
  }
  return out;
}

}  // namespace sb
