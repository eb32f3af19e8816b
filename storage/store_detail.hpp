// Helpers shared by the translation units of stream_store (stream_store.cpp and
// stream_store_replica.cpp); nothing outside storage/ includes this.
#pragma once
#include <rocksdb/db.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sb::storage::detail {

[[noreturn]] inline void fail(const char* what, const rocksdb::Status& status) {
  throw std::runtime_error(std::string("storage: ") + what + ": " + status.ToString());
}

inline void check(const char* what, const rocksdb::Status& status) {
  if (!status.ok()) fail(what, status);
}

// Reads a point record (from `snapshot` when given); nullopt if absent.
inline std::optional<std::string> get(rocksdb::DB& db, const std::string& key,
                                      const rocksdb::Snapshot* snapshot = nullptr) {
  std::string value;
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  rocksdb::Status status = db.Get(ro, key, &value);
  if (status.IsNotFound()) return std::nullopt;
  check("read", status);
  return value;
}

// [0xff 0xff][tag][partition u16 BE]: node-local metadata of a partition ('F' the serving
// fence, 'R' the replication position). 0xffff is never a partition (partition_count is far
// below it), so no partition range ever contains these keys.
inline std::string meta_key(char tag, uint16_t p) {
  std::string key = "\xff\xff";
  key.push_back(tag);
  key.push_back(static_cast<char>(p >> 8));
  key.push_back(static_cast<char>(p & 0xff));
  return key;
}

inline std::string partition_begin(uint16_t p) {
  std::string key;
  key.push_back(static_cast<char>(p >> 8));
  key.push_back(static_cast<char>(p & 0xff));
  return key;
}

inline bool in_partition(std::string_view key, uint16_t p) {
  return key.size() > 2 && static_cast<uint8_t>(key[0]) == (p >> 8) &&
         static_cast<uint8_t>(key[1]) == (p & 0xff);
}

inline void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

inline uint64_t get_u64(std::string_view in, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

}  // namespace sb::storage::detail
