// The outbox's messages as one typed CAF 0.17 interface, so the compiler checks the outbox
// (actors/outbox.cpp) and every holder of an outbox_actor handle. What each message means is
// written at actors/outbox.hpp. Owners reach the outbox through stream_deps::outbox, a plain
// caf::actor, with outbox_atom only.
#pragma once
#include <cstdint>
#include <string>

#include <caf/all.hpp>

#include "actors/interfaces.hpp"
#include "cluster/registry.hpp"
#include "cluster/registry_actor.hpp"

namespace sb {

using outbox_actor = caf::typed_actor<
    caf::reacts_to<cluster::registry_actor>,
    caf::reacts_to<outbox_atom, std::string, std::string, uint64_t, int64_t, std::string>,
    caf::replies_to<list_atom, std::string>::with<std::string>,
    caf::replies_to<retry_atom, std::string, std::string>::with<std::string>,
    caf::replies_to<drop_atom, std::string, std::string>::with<std::string>,
    caf::replies_to<inspect_atom>::with<std::string>,
    // The partition as its bare value, like every partition in a message.
    caf::reacts_to<cluster::acquire_atom, uint16_t>,
    caf::reacts_to<cluster::release_atom, uint16_t>,
    // Sent by the outbox to itself when the next delivery is due.
    caf::reacts_to<tick_atom>>;

}  // namespace sb
