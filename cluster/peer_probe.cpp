#include "cluster/peer_probe.hpp"

#include <string>

namespace sb::cluster {

void start_probing(registry_self self, const std::shared_ptr<cluster_view>& view) {
  if (!view || self->state.probing) return;
  self->state.probing = true;
  probe_peers(self, view);
}

void probe_peers(registry_self self, const std::shared_ptr<cluster_view>& view) {
  auto& st = self->state;
  const auto settings = view->liveness_settings();
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
