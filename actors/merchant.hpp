// The merchant actor: owner of the stream "orders:<merchant>". Appends posted orders durably
// and delivers them to every dashboard of the merchant through durable_stream. Spawned on
// demand by the registry; quits when idle (actors/owner_support.hpp), and the next
// resolve respawns it from storage.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "actors/durable_stream.hpp"

namespace sb {

struct merchant_state {
  std::unique_ptr<durable_stream> stream;
  // Order id → status, of orders given one since the actor started (a cache of what the stream
  // says: order_status::find reads the rest), cleared when it grows past a few thousand.
  std::unordered_map<std::string, std::string> statuses;
  static inline const char* name = "sb.merchant";
};

// Messages: (append_atom, append_request) -> append_result (kind "order"; or kind
// "order_status", data {"order_id","status","by"}: appended only when the order is among the
// newest order_status::search_window entries and `status` follows its current one, else
// not_found / invalid_field); (append_atom, local_append) the same from this node's HTTP
// layer, answered through the message's callback; and every message of
// durable_stream::handlers().
caf::behavior merchant(caf::stateful_actor<merchant_state>* self, std::string merchant_id,
                       stream_deps deps);

}  // namespace sb
