// The agent pool's messages as one typed CAF 0.17 interface, so the compiler checks the pool
// (actors/agent_pool.cpp) and every sender that holds a pool_actor handle. What each message
// means is written at actors/interfaces.hpp. Owners are resolved through the registry as plain
// caf::actor (a typed handle is not announced for the wire): senders view a resolved pool
// through as_pool, or build the messages they pass on as caf::message with pool_message.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/interfaces.hpp"

namespace sb {

using owner_retry_atom = caf::atom_constant<caf::atom("ownretry")>;
using save_atom = caf::atom_constant<caf::atom("save")>;

using pool_actor = caf::typed_actor<
    caf::reacts_to<route_atom, std::string, std::string>,
    // The same as a request: answers the agent, "" when queued. (A separate signature: a value
    // answered to a plain send would reach the sender as an unexpected message.)
    caf::replies_to<route_atom, std::string, std::string, bool>::with<std::string>,
    caf::reacts_to<released_atom, std::string>,
    caf::replies_to<transfer_atom, std::string, std::string, std::string>::with<std::string>,
    // The agent's connection as caf::actor: it may be on another node.
    caf::replies_to<join_atom, std::string, caf::actor>::with<std::vector<std::string>>,
    caf::reacts_to<presence_atom, std::string, std::string>,
    caf::replies_to<enrol_atom, std::string, uint32_t, uint32_t>::with<std::string>,
    caf::replies_to<list_atom, chat_principal, std::string>::with<std::string>,
    caf::replies_to<take_atom, std::string, std::string>::with<std::string>,
    caf::replies_to<inspect_atom>::with<std::string>,
    // Sent by the pool to itself: a message to an owner whose lookup failed (key, message,
    // attempt), the offline grace's end, and a state save.
    caf::reacts_to<owner_retry_atom, std::string, caf::message, uint32_t>,
    caf::reacts_to<expire_atom>, caf::reacts_to<save_atom>>;

// The one place a resolved owner is viewed as a pool: the registry resolves pool:<merchant>
// to the pool actor, which implements pool_actor.
inline pool_actor as_pool(const caf::actor& owner) {
  return caf::actor_cast<pool_actor>(owner);
}

// A message the pool accepts, checked against pool_actor where it is made, for senders that
// pass it on as a caf::message (the bridge's requests).
template <class... Ts>
caf::message pool_message(Ts&&... xs) {
  using token = caf::detail::type_list<caf::detail::strip_and_convert_t<Ts>...>;
  static_assert(caf::response_type_unbox<caf::signatures_of_t<pool_actor>, token>::valid,
                "the agent pool does not accept this message");
  return caf::make_message(std::forward<Ts>(xs)...);
}

}  // namespace sb
