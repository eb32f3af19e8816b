// The per-node registry: the only way to reach the actor that owns a stream key. `resolve`
// answers the owner's handle wherever it lives: spawned here when this node serves the key's
// partition, asked of the owner node's registry over the middleman when another node does,
// and a cluster error (cluster_errors.hpp) when nobody serves it right now. A node never
// spawns an owner for a partition it does not serve. Registries of all nodes form a full mesh:
// the node with the smaller id dials (peer_dialer), the other learns of it by `hello`; a peer
// registry's down_msg is how a lost node is noticed (CAF 0.17 has no node_down_msg).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "base/ids.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/registry_actor.hpp"

namespace sb::cluster {

// Told to the outbox (actors/outbox_actor.hpp) by the cluster node.
using acquire_atom = caf::atom_constant<caf::atom("acquire")>;
using release_atom = caf::atom_constant<caf::atom("release")>;

// Spawns the owner of `stream` (e.g. a merchant actor for "orders:m1"), or returns an
// invalid handle when no actor kind owns such a stream.
using owner_factory =
    std::function<caf::actor(caf::local_actor* parent, const std::string& stream)>;

struct registry_state {
  std::unordered_map<std::string, caf::actor> owners;
  std::unordered_map<caf::actor_addr, std::string> streams_by_owner;
  std::map<std::string, caf::actor> peers;  // node id → its registry
  // Owners on other nodes, as their registries answered (monitored; valid for that node and
  // epoch only), so a request to a remote key costs one hop, not a resolve round trip first.
  struct remote_owner {
    caf::actor owner;
    std::string node;
    uint64_t epoch = 0;
  };
  std::unordered_map<std::string, remote_owner> remote_owners;
  std::unordered_map<caf::actor_addr, std::string> remote_keys;
  std::unordered_map<caf::actor_addr, std::string> principal_by_connection;
  // Seals in progress: partition → owners still to stop, and who waits for them.
  struct seal {
    size_t remaining = 0;
    caf::response_promise done;
  };
  std::map<partition_id, seal> seals;
  caf::actor sink;        // this node's replica_sink: takes peers' replication messages
  caf::actor replicator;  // told of every peer registry that connects or goes away
  // Liveness probes (cluster/peer_probe.hpp): started with the first peer; the peer
  // registries with a ping outstanding.
  bool probing = false;
  std::set<caf::actor_addr> pinged;
  // Connected peers found unresponsive and told to this node's connections (once per outage).
  std::set<std::string> silent_peers;
  static inline const char* name = "sb.registry";
};

// Messages:
//   (resolve_atom, std::string key)        -> caf::actor, or a cluster error / invalid_argument
//   (local_resolve_atom, std::string key)  -> caf::actor, only if this node serves the key
//                                             (from peers), else cluster_errc::moved/moving
//   (count_atom)                           -> size_t live owners on this node
//   (dialed_atom, node, registry)          from peer_dialer: a connected peer registry
//   (hello_atom, node, registry)           from a peer that dialed us
//   (seal_atom, uint16_t p)                -> bool, once every owner of p here has stopped
//                                             (the view already refuses p)
//   (connected_atom, caf::actor conn, principal)  a WebSocket connection on this node; told
//                                          (peer_lost_atom, node_id) when a peer stops
//                                          answering pings (peer_probe.hpp)
//   (stats_atom)                           -> std::string JSON {node, owners, connections}
//   (owners_atom, std::string kind)        -> std::string JSON array of this node's actors
//   (replication_atom, caf::actor sink, caf::actor replicator)  set once by main
//   the replication messages of cluster/replication_messages.hpp, handed to the sink (the
//   ones naming a node go to that node's registry, which hands them to its sink)
//   (gather_atom, caf::message query)      -> std::vector<std::string>: the query (stats or
//                                             owners) answered by this node and every peer
//                                             (peers that do not answer in time are left out)
// `view` may be null: then every key is local (unit tests).
registry_actor::behavior_type registry(registry_actor::stateful_pointer<registry_state> self,
                                       owner_factory factory, std::shared_ptr<cluster_view> view);

// The actor kind owning a key ("orders:m1" → "merchant"), "" if none.
std::string kind_of_key(std::string_view key);

}  // namespace sb::cluster
