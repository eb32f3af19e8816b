#include "storage/keys.hpp"

#include <stdexcept>

#include "base/partition.hpp"

namespace sb::storage::keys {
namespace {

// Big-endian so that RocksDB's bytewise order equals numeric order.
void append_be(std::string& out, uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

std::string key_with_suffix(record_type type, std::string_view stream, std::string_view suffix) {
  std::string key = stream_prefix(type, stream);
  key.append(suffix);
  return key;
}

}  // namespace

std::string type_prefix(partition_id partition, record_type type) {
  std::string out;
  out.reserve(3);
  append_be(out, partition.value(), 2);
  out.push_back(static_cast<char>(type));
  return out;
}

std::string stream_prefix(record_type type, std::string_view stream) {
  if (stream.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("stream name contains a NUL byte");
  }
  std::string out = type_prefix(partition_of(stream), type);
  out.append(stream);
  out.push_back('\0');
  return out;
}

std::string entry_key(std::string_view stream, uint64_t seq) {
  std::string key = stream_prefix(record_type::entry, stream);
  append_be(key, seq, 8);
  return key;
}

std::string cursor_key(std::string_view stream, std::string_view principal) {
  return key_with_suffix(record_type::cursor, stream, principal);
}

std::string state_key(std::string_view stream) {
  return stream_prefix(record_type::state, stream);
}

std::string idempotency_key(std::string_view stream, std::string_view key) {
  return key_with_suffix(record_type::idempotency, stream, key);
}

std::string outbox_key(std::string_view stream, std::string_view id) {
  return key_with_suffix(record_type::outbox, stream, id);
}

uint64_t entry_seq(std::string_view entry_key) {
  uint64_t seq = 0;
  for (unsigned char c : entry_key.substr(entry_key.size() - 8)) {
    seq = (seq << 8) | c;
  }
  return seq;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace sb::storage::keys
