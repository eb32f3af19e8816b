// The one function that maps a stream key to its partition. Every stored record is keyed by
// partition first, so a partition can later move or replicate as one RocksDB key range.
// Pure and stable across builds and machines (FNV-1a 64); safe from any thread.
#pragma once
#include <cstdint>
#include <string_view>

#include "base/ids.hpp"

namespace sb {

// Fixed for the life of a data directory: changing it re-keys every record.
inline constexpr uint16_t partition_count = 256;

inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline partition_id partition_of(std::string_view stream) {
  return partition_id{static_cast<uint16_t>(fnv1a64(stream) % partition_count)};
}

}  // namespace sb
