// The registry's messages as one typed CAF 0.17 interface, so the compiler checks both the
// registry (cluster/registry.cpp) and whoever holds a registry_actor handle. What each message
// means is written at cluster/registry.hpp. Peer registries reach each other as plain
// caf::actor (a typed handle is not announced for the wire); they send only these messages.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "cluster/replication_messages.hpp"
#include "storage/replica_state.hpp"

namespace sb::cluster {

using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using local_resolve_atom = caf::atom_constant<caf::atom("lresolve")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using dialed_atom = caf::atom_constant<caf::atom("dialed")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using seal_atom = caf::atom_constant<caf::atom("seal")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using owners_atom = caf::atom_constant<caf::atom("owners")>;
using gather_atom = caf::atom_constant<caf::atom("gather")>;
using connected_atom = caf::atom_constant<caf::atom("connected")>;
using replication_atom = caf::atom_constant<caf::atom("replicatn")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;
// Told by the registry to every connection on its node when a peer node stops answering
// pings (peer_probe.hpp), with that node's id: owners there may be hung or cut off.
using peer_lost_atom = caf::atom_constant<caf::atom("peerlost")>;

// A replica's answer to a seal or state request: its position(s) and its storage uuid.
template <class Atom, class... In>
using replica_query =
    typename caf::replies_to<Atom, In...>::template with<std::vector<storage::replica_state>,
                                                         std::string>;

using registry_actor = caf::typed_actor<
    caf::replies_to<resolve_atom, std::string>::with<caf::actor>,
    caf::replies_to<local_resolve_atom, std::string>::with<caf::actor>,
    caf::replies_to<count_atom>::with<size_t>, caf::reacts_to<dialed_atom, std::string, caf::actor>,
    caf::reacts_to<hello_atom, std::string, caf::actor>,
    // The partition as its bare value: peers send it over the wire.
    caf::replies_to<seal_atom, uint16_t>::with<bool>,
    caf::reacts_to<connected_atom, caf::actor, std::string>,
    caf::replies_to<stats_atom>::with<std::string>,
    caf::replies_to<owners_atom, std::string>::with<std::string>,
    caf::replies_to<gather_atom, caf::message>::with<std::vector<std::string>>,
    caf::reacts_to<replication_atom, caf::actor, caf::actor>,
    // Handed to this node's replica_sink (from peers) or to a named node's (the controller).
    caf::replies_to<rappend_atom, std::string, std::vector<storage::replica_round>>::with<
        std::vector<storage::replica_verdict>>,
    replica_query<rseal_atom, std::vector<storage::seal_request>>,
    replica_query<rseal_atom, std::string, std::vector<storage::seal_request>>,
    caf::replies_to<rstate_atom, uint16_t>::with<storage::replica_state, std::string>,
    caf::replies_to<rstate_atom, std::string, uint16_t>::with<storage::replica_state, std::string>,
    caf::replies_to<rinspect_atom>::with<std::string>,
    // Liveness (cluster/peer_probe.hpp): peers ping; the registry sends itself probe.
    caf::replies_to<ping_atom>::with<bool>, caf::reacts_to<probe_atom>>;

}  // namespace sb::cluster
