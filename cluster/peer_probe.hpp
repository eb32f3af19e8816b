// Liveness of the peer registries. A hung process (SIGSTOP, a stuck disk) or a link cut without
// a reset keeps its TCP connection, so the middleman notices it only after
// cluster.connection_timeout (5 s): too late for a 2 s failover. So every probe_interval the
// registry pings each peer registry; an answer marks the peer answered in the view, and a
// connected peer silent for unresponsive_after counts as lost for routing (503 at once) and
// for the controller (takeover), and is told to this node's connections (peer_lost_atom) so
// they resubscribe to the streams' next owners. One ping in flight per peer connection: a
// hung peer costs one outstanding request, not a pile of them.
#pragma once
#include <memory>

#include "cluster/cluster_view.hpp"
#include "cluster/registry.hpp"

namespace sb::cluster {

using registry_self = registry_actor::stateful_pointer<registry_state>;

// Starts the probe loop once (called whenever a peer connects).
void start_probing(registry_self self, const std::shared_ptr<cluster_view>& view);

// One round: pings every peer without a ping outstanding, then arms the next round.
void probe_peers(registry_self self, const std::shared_ptr<cluster_view>& view);

}  // namespace sb::cluster
