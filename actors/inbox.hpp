// The inbox actor: owner of "inbox:<principal>", the durable list of what was handed to that
// principal (assignments and unassignments of conversations for agents), so an agent who
// reconnects sees the same work. Appends come from the agent pool.
#pragma once
#include <string>

#include "actors/durable_stream.hpp"

namespace sb {

struct inbox_state {
  std::unique_ptr<durable_stream> stream;
  static inline const char* name = "sb.inbox";
};

// Messages: (append_atom, append_request) -> append_result, and durable_stream's.
caf::behavior inbox(caf::stateful_actor<inbox_state>* self, std::string principal,
                    stream_deps deps);

}  // namespace sb
