// The merchant actor: owner of the stream "orders:<merchant>". Appends posted orders durably
// and delivers them to every dashboard of the merchant through durable_stream. Spawned on
// demand by the registry; quits when idle (actors/owner_support.hpp), and the next
// resolve respawns it from storage.
#pragma once
#include <memory>
#include <string>

#include "actors/durable_stream.hpp"

namespace sb {

struct merchant_state {
  std::unique_ptr<durable_stream> stream;
  static inline const char* name = "sb.merchant";
};

// Messages: (append_atom, append_request) -> append_result (kind forced to "order") and every
// message of durable_stream::handlers().
caf::behavior merchant(caf::stateful_actor<merchant_state>* self, std::string merchant_id,
                       stream_deps deps);

}  // namespace sb
