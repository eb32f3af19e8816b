// Globally unique entry ids: UUIDv7 layout (48-bit ms timestamp, then random bits) as 32 hex
// characters, so ids sort by creation time. Safe from any thread.
#pragma once
#include <cstdint>
#include <string>

namespace sb {
std::string make_entry_id(int64_t now_ms);
}  // namespace sb
