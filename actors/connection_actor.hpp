// The connection actor's messages as one typed CAF 0.17 interface, so the compiler checks the
// connection (actors/connection.cpp) and every sender that holds a connection_actor handle:
// the socket's bridge, the agent pool and stream owners. What each message means is written
// at actors/interfaces.hpp. Connections travel in messages as plain caf::actor (a typed handle
// is not announced for the wire): receivers view one through as_connection.
#pragma once
#include <string>

#include <caf/all.hpp>

#include "actors/interfaces.hpp"
#include "cluster/registry_actor.hpp"

namespace sb {

using resubscribe_atom = caf::atom_constant<caf::atom("resub")>;
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>;

using connection_actor = caf::typed_actor<
    // From the socket (net/bridge.hpp).
    caf::reacts_to<frame_atom, std::string>, caf::reacts_to<closed_atom>,
    // From stream owners and the agent pool.
    caf::reacts_to<frame_batch>,
    // From the agent pool.
    caf::reacts_to<follow_atom, std::string>, caf::reacts_to<unfollow_atom, std::string>,
    // From the registry: a peer node stopped answering pings; leave the owners there.
    caf::reacts_to<cluster::peer_lost_atom, caf::node_id>,
    // Sent by the connection to itself: subscribe to a stream again, join the pool again.
    caf::reacts_to<resubscribe_atom, std::string>, caf::reacts_to<rejoin_atom>>;

// The one place a connection received in a message is viewed as its interface: subscribe and
// join carry the connection that sent them.
inline connection_actor as_connection(const caf::actor& conn) {
  return caf::actor_cast<connection_actor>(conn);
}

}  // namespace sb
