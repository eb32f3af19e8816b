// The conversation actor: owner of the stream "conv:<id>" (one customer, one merchant). Keeps
// the status (unassigned → in_progress → resolved), appends messages and status changes through
// durable_stream, enforces who may read and write, masks phone numbers for agents, and relays
// ephemeral typing and queue events. Routing decisions belong to the merchant's agent pool.
#pragma once
#include <optional>
#include <string>

#include "actors/durable_stream.hpp"

namespace sb {

struct conversation_meta {
  std::string merchant;
  std::string customer;
  std::string status;  // "unassigned" | "in_progress" | "resolved"
  std::string agent;   // empty when unassigned
};

struct conversation_state {
  std::unique_ptr<durable_stream> stream;
  std::string id;
  std::optional<conversation_meta> meta;  // nullopt until opened
  caf::actor registry;
  frame_ptr queue_event;  // last queue position pushed, for customers who connect later
  static inline const char* name = "sb.conversation";
};

caf::behavior conversation(caf::stateful_actor<conversation_state>* self, std::string conv_id,
                           stream_deps deps, caf::actor registry);

// Access rules of the contract: may `who` read (and write to) this conversation?
bool may_access(const conversation_meta& meta, const chat_principal& who);

}  // namespace sb
