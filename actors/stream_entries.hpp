// A page of a stream's stored history, for GET /api/streams/{stream}/entries. Called by a
// stream's owner on its own thread (it reads the owner's stream from the store).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "storage/stream_store.hpp"

namespace sb {

// Rewrites an entry's data for the reader ("" = unchanged), e.g. phones masked for agents.
using entry_redactor = std::function<std::string(const storage::stored_entry&)>;

// {"entries":[{"seq","id","ts","kind","data"}],"acked","last_seq"}: entries below `cursor`
// newest first (cursor 0: the newest), or above it oldest first when `forward`; at most
// `limit`. `acked` is `principal`'s acked seq, so a client tells new entries from seen ones.
std::string entries_json(const storage::stream_store& store, const std::string& stream,
                         const std::string& principal, uint64_t cursor, bool forward,
                         uint32_t limit, const entry_redactor& redact = {});

}  // namespace sb
