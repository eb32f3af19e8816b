#include "cluster/peer_probe.hpp"

#include <string>

namespace sb::cluster {

void start_probing(registry_self self, const std::shared_ptr<cluster_view>& view) {
  if (!view || self->state.probing) return;
  self->state.probing = true;
  probe_peers(self, view);
}

namespace {

// A peer that has just become unresponsive is told to every connection on this node, once per
// outage. Their subscriptions to owners there would otherwise wait for the middleman to drop
// the node (cluster.connection_timeout, 5 s) while a takeover serves the streams again in ~1 s.
void tell_connections_of_silent_peers(registry_self self, const cluster_view& view) {
  auto& st = self->state;
  for (const auto& [id, peer] : st.peers) {
    if (view.peer_responsive(id)) {
      st.silent_peers.erase(id);
      continue;
    }
    if (!st.silent_peers.insert(id).second) continue;
    for (const auto& [conn, principal] : st.principal_by_connection)
      caf::anon_send(caf::actor_cast<caf::actor>(conn), peer_lost_atom::value, peer.node());
  }
}

}  // namespace

void probe_peers(registry_self self, const std::shared_ptr<cluster_view>& view) {
  auto& st = self->state;
  const auto settings = view->liveness_settings();
  tell_connections_of_silent_peers(self, *view);
  for (const auto& [id, peer] : st.peers) {
    if (!st.pinged.insert(peer.address()).second) continue;
    self->request(peer, settings.unresponsive_after, ping_atom::value)
        .then(
            [self, view, node = std::string(id), addr = peer.address()](bool) {
              self->state.pinged.erase(addr);
              view->set_peer_answered(node);
            },
            [self, view, node = std::string(id), addr = peer.address()](caf::error& err) {
              self->state.pinged.erase(addr);
              // A node of an older version does not know ping, yet it answered.
              if (err == caf::sec::unexpected_message) view->set_peer_answered(node);
            });
  }
  self->delayed_send(self, settings.probe_interval, probe_atom::value);
}

}  // namespace sb::cluster
