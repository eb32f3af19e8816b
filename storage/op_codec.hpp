// The byte form of a list of record writes, as it crosses nodes in replication rounds and
// handoff chunks: [u8 erase][u32 BE key size][key][u32 BE value size][value], repeated.
// Pure functions; safe from any thread.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/stream_store.hpp"

namespace sb::storage::op_codec {

void append(std::string& out, std::string_view key, std::string_view value, bool erase = false);
// nullopt when the bytes are not a whole number of well-formed records.
std::optional<std::vector<write_set::op>> parse(std::string_view bytes);
// The partition a stored key belongs to (its first two bytes), or -1 for a key too short to
// be a record's.
int partition_of_key(std::string_view key);

}  // namespace sb::storage::op_codec
