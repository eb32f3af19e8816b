// RocksDB key encoding for every stored record (layout in docs/storage.md). Pure functions,
// safe from any thread; only storage/ calls them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "base/ids.hpp"

namespace sb::storage::keys {

enum class record_type : char {
  entry = 'E',
  cursor = 'C',
  idempotency = 'I',
  state = 'S',
  outbox = 'O',
};

// [partition u16 BE][type]: every record of one type in one partition.
std::string type_prefix(partition_id partition, record_type type);
// [partition u16 BE][type][stream][0x00]: every record of one type for one stream. The 0x00
// terminator keeps "orders:m1" from matching the keys of "orders:m10". Throws
// std::invalid_argument if the stream contains 0x00, which would break that isolation.
std::string stream_prefix(record_type type, std::string_view stream);

std::string entry_key(std::string_view stream, uint64_t seq);
std::string cursor_key(std::string_view stream, std::string_view principal);
std::string idempotency_key(std::string_view stream, std::string_view key);
// [partition][S][stream][0x00]: the owner state of a stream (one record per stream).
std::string state_key(std::string_view stream);

// [partition][O][stream][0x00][entry id]: a pending outbound delivery of that entry.
std::string outbox_key(std::string_view stream, std::string_view id);

// The seq of an entry key (its last 8 bytes).
uint64_t entry_seq(std::string_view entry_key);

// The smallest key greater than every key that starts with `prefix`: an exclusive upper bound
// for iterating the prefix. Empty if there is none (all bytes 0xff).
std::string prefix_end(std::string_view prefix);

}  // namespace sb::storage::keys
