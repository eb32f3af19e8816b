#include "cluster/registry.hpp"

#include "base/actor_kinds.hpp"

#include <boost/json.hpp>

#include "cluster/cluster_errors.hpp"
#include "cluster/peer_probe.hpp"
#include "cluster/replication_messages.hpp"

namespace sb::cluster {

namespace {

namespace json = boost::json;
using self_ptr = registry_actor::stateful_pointer<registry_state>;
constexpr auto gather_timeout = std::chrono::seconds(2);

const std::string& self_node(const std::shared_ptr<cluster_view>& view) {
  static const std::string alone = "local";
  return view ? view->self() : alone;
}

// The owner of a key this node serves: found, or spawned on first use.
caf::result<caf::actor> local_owner(self_ptr self, const owner_factory& factory,
                                    const std::string& key) {
  auto& st = self->state;
  if (auto it = st.owners.find(key); it != st.owners.end()) return it->second;
  auto owner = factory(self, key);
  if (!owner) return caf::make_error(caf::sec::invalid_argument, "no owner for " + key);
  self->monitor(owner);
  st.owners.emplace(key, owner);
  st.streams_by_owner.emplace(owner.address(), key);
  return owner;
}

caf::result<caf::actor> resolve(self_ptr self, const owner_factory& factory,
                                const std::shared_ptr<cluster_view>& view, const std::string& key) {
  if (!view) return local_owner(self, factory, key);
  if (kind_of_key(key).empty())
    return caf::make_error(caf::sec::invalid_argument, "no owner for " + key);
  auto r = view->route_of_key(key);
  switch (r.what) {
    case route::kind::local:
      return local_owner(self, factory, key);
    case route::kind::moving:
      return make_cluster_error(cluster_errc::moving, r.node);
    case route::kind::unavailable:
      return make_cluster_error(cluster_errc::owner_unavailable, r.node);
    case route::kind::remote:
      break;
  }
  auto& st = self->state;
  if (auto cached = st.remote_owners.find(key); cached != st.remote_owners.end() &&
                                                cached->second.node == r.node &&
                                                cached->second.epoch == r.epoch)
    return cached->second.owner;
  auto peer = st.peers.find(r.node);
  if (peer == st.peers.end())
    return make_cluster_error(cluster_errc::owner_unavailable,
                              "owner node " + r.node + " is not connected");
  auto rp = self->make_response_promise<caf::actor>();
  // A peer that takes longer than unresponsive_after also misses its pings: waiting longer
  // only holds the caller past the point where routing gives up on the peer anyway.
  self->request(peer->second, view->liveness_settings().unresponsive_after,
                local_resolve_atom::value, key)
      .then(
          [self, rp, key, r](caf::actor owner) mutable {
            auto& st = self->state;
            if (auto old = st.remote_owners.find(key); old != st.remote_owners.end()) {
              st.remote_keys.erase(old->second.owner.address());
              self->demonitor(old->second.owner);
            }
            self->monitor(owner);
            st.remote_owners[key] = {owner, r.node, r.epoch};
            st.remote_keys[owner.address()] = key;
            rp.deliver(std::move(owner));
          },
          [rp, node = r.node](caf::error& err) mutable {
            // A peer that went away or timed out mid-request is a down owner.
            if (err.category() == caf::atom("sb_cluster"))
              rp.deliver(std::move(err));
            else
              rp.deliver(make_cluster_error(cluster_errc::owner_unavailable,
                                            "owner node " + node + " did not answer"));
          });
  return rp;
}

void add_peer(self_ptr self, const std::shared_ptr<cluster_view>& view, const std::string& node,
              caf::actor peer) {
  auto& peers = self->state.peers;
  if (auto it = peers.find(node); it != peers.end()) {
    if (it->second == peer) return;
    self->demonitor(it->second);
  }
  self->monitor(peer);
  // anon_send: a typed actor may send() only to typed ones; no answer is wanted.
  if (self->state.replicator) caf::anon_send(self->state.replicator, rpeer_atom::value, node, peer);
  peers[node] = std::move(peer);
  if (view) view->set_peer_connected(node, true);
  start_probing(self, view);
}

void forget_peer(self_ptr self, const std::shared_ptr<cluster_view>& view,
                 const caf::actor_addr& source) {
  auto& peers = self->state.peers;
  for (auto it = peers.begin(); it != peers.end(); ++it)
    if (it->second.address() == source) {
      if (view) view->set_peer_connected(it->first, false);
      self->state.silent_peers.erase(it->first);
      if (self->state.replicator)
        caf::anon_send(self->state.replicator, rpeer_atom::value, it->first, caf::actor{});
      peers.erase(it);
      return;
    }
}

void owner_stopped(self_ptr self, const caf::actor_addr& source) {
  auto& st = self->state;
  auto it = st.streams_by_owner.find(source);
  if (it == st.streams_by_owner.end()) return;
  if (auto owner = st.owners.find(it->second);
      owner != st.owners.end() && owner->second.address() == source)
    st.owners.erase(owner);
  const partition_id p = partition_of(it->second);
  st.streams_by_owner.erase(it);
  if (auto seal = st.seals.find(p); seal != st.seals.end() && --seal->second.remaining == 0) {
    seal->second.done.deliver(true);
    st.seals.erase(seal);
  }
}

caf::result<bool> seal(self_ptr self, partition_id p) {
  auto& st = self->state;
  size_t stopping = 0;
  for (auto& [key, owner] : st.owners)
    if (partition_of(key) == p) {
      self->send_exit(owner, caf::exit_reason::user_shutdown);
      ++stopping;
    }
  if (stopping == 0) return true;
  auto rp = self->make_response_promise<bool>();
  st.seals[p] = {stopping, rp};
  return rp;
}

std::string stats(self_ptr self, const std::shared_ptr<cluster_view>& view) {
  const auto& st = self->state;
  json::object o{{"node", self_node(view)},
                 {"owners", st.owners.size()},
                 {"connections", st.principal_by_connection.size()}};
  return json::serialize(o);
}

std::string owners(self_ptr self, const std::shared_ptr<cluster_view>& view,
                   const std::string& kind) {
  json::array out;
  for (const auto& [key, owner] : self->state.owners) {
    auto k = kind_of_key(key);
    if (!kind.empty() && kind != k) continue;
    out.push_back(json::object{{"kind", k},
                               {"id", key.substr(key.find(':') + 1)},
                               {"node", self_node(view)},
                               {"stream", key}});
  }
  if (kind.empty() || kind == "connection")
    for (const auto& [addr, principal] : self->state.principal_by_connection)
      out.push_back(json::object{{"kind", "connection"},
                                 {"id", self_node(view) + "/" + std::to_string(addr.id())},
                                 {"node", self_node(view)},
                                 {"principal", principal}});
  return json::serialize(out);
}

caf::result<std::vector<std::string>> gather(self_ptr self,
                                             const std::shared_ptr<cluster_view>& view,
                                             const caf::message& query) {
  // Answered here as every peer answers it (the same handlers).
  std::vector<std::string> mine;
  // The replicators' states are asked of this node's replicator like of every peer.
  std::map<std::string, caf::actor> asked = self->state.peers;
  if (query.match_elements<stats_atom>())
    mine.push_back(stats(self, view));
  else if (query.match_elements<owners_atom, std::string>())
    mine.push_back(owners(self, view, query.get_as<std::string>(1)));
  else if (query.match_elements<rinspect_atom>() && self->state.replicator)
    asked.emplace(self_node(view), self->state.replicator);
  else
    return caf::make_error(caf::sec::unexpected_message, "unknown gather query");
  auto& peers = asked;
  if (peers.empty()) return mine;
  auto rp = self->make_response_promise<std::vector<std::string>>();
  struct pending {
    std::vector<std::string> answers;
    size_t waiting;
  };
  auto acc = std::make_shared<pending>(pending{std::move(mine), peers.size()});
  auto finish_one = [rp, acc]() mutable {
    if (--acc->waiting == 0) rp.deliver(std::move(acc->answers));
  };
  for (auto& [node, peer] : peers)
    self->request(peer, gather_timeout, query)
        .then(
            [acc, finish_one](std::string& answer) mutable {
              acc->answers.push_back(std::move(answer));
              finish_one();
            },
            [finish_one](caf::error&) mutable { finish_one(); });
  return rp;
}

// Hands a replication message to `to` (this node's sink, or a peer registry that hands it to
// its own); the answer, of types `Out`, goes straight back to the asker.
template <class... Out, class... Ts>
caf::delegated<Out...> hand_over(self_ptr self, const caf::actor& to, Ts&&... xs) {
  if (!to) {
    self->make_response_promise().deliver(
        make_cluster_error(cluster_errc::owner_unavailable, "replica node not reachable"));
    return {};
  }
  self->delegate(to, std::forward<Ts>(xs)...);
  return {};
}

caf::actor node_sink(self_ptr self, const std::shared_ptr<cluster_view>& view,
                     const std::string& node) {
  if (node == self_node(view)) return self->state.sink;
  auto it = self->state.peers.find(node);
  return it == self->state.peers.end() ? caf::actor{} : it->second;
}

}  // namespace

std::string kind_of_key(std::string_view key) {
  auto parsed = parse_actor_key(key);
  return parsed ? std::string(info_of(parsed->kind).name) : std::string();
}

registry_actor::behavior_type registry(registry_actor::stateful_pointer<registry_state> self,
                                       owner_factory factory, std::shared_ptr<cluster_view> view) {
  // An owner that stops (idle, sealed, or failed storage) is forgotten; the next resolve
  // respawns it and the new owner reloads the stream's state from storage. A peer registry
  // that goes down is a lost node: its partitions answer owner_unavailable until it is back.
  self->set_down_handler([self, view](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.principal_by_connection.erase(msg.source) > 0) return;
    if (auto remote = st.remote_keys.find(msg.source); remote != st.remote_keys.end()) {
      st.remote_owners.erase(remote->second);
      st.remote_keys.erase(remote);
      return;
    }
    forget_peer(self, view, msg.source);
    owner_stopped(self, msg.source);
  });
  // Shutdown: the registry takes every owner down with it.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& [stream, owner] : self->state.owners) self->send_exit(owner, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [self, factory, view](resolve_atom, const std::string& key) {
        return resolve(self, factory, view, key);
      },
      [self, factory, view](local_resolve_atom, const std::string& key) -> caf::result<caf::actor> {
        if (!view) return local_owner(self, factory, key);
        auto r = view->route_of_key(key);
        if (r.what == route::kind::local) return local_owner(self, factory, key);
        if (r.what == route::kind::moving) return make_cluster_error(cluster_errc::moving, r.node);
        return make_cluster_error(cluster_errc::moved,
                                  "node " + view->self() + " does not own " + key);
      },
      [self](count_atom) { return self->state.owners.size(); },
      [self, view](dialed_atom, const std::string& node, caf::actor peer) {
        caf::anon_send(peer, hello_atom::value, self_node(view), caf::actor_cast<caf::actor>(self));
        add_peer(self, view, node, std::move(peer));
      },
      [self, view](hello_atom, const std::string& node, caf::actor peer) {
        add_peer(self, view, node, std::move(peer));
      },
      // The partition crosses the wire as its bare value (no CAF type to announce).
      [self](seal_atom, uint16_t p) { return seal(self, partition_id{p}); },
      [self](connected_atom, caf::actor conn, const std::string& principal) {
        self->monitor(conn);
        self->state.principal_by_connection[conn.address()] = principal;
      },
      [self, view](stats_atom) { return stats(self, view); },
      [self, view](owners_atom, const std::string& kind) { return owners(self, view, kind); },
      [self, view](gather_atom, const caf::message& query) { return gather(self, view, query); },
      [self](replication_atom, caf::actor sink, caf::actor replicator) {
        self->state.sink = std::move(sink);
        self->state.replicator = std::move(replicator);
        for (const auto& [node, peer] : self->state.peers)
          caf::anon_send(self->state.replicator, rpeer_atom::value, node, peer);
      },
      [self](rappend_atom a, const std::string& from,
             const std::vector<storage::replica_round>& rounds) {
        return hand_over<std::vector<storage::replica_verdict>>(self, self->state.sink, a, from,
                                                                rounds);
      },
      [self](rseal_atom a, const std::vector<storage::seal_request>& requests) {
        return hand_over<std::vector<storage::replica_state>, std::string>(self, self->state.sink,
                                                                           a, requests);
      },
      [self](rstate_atom a, uint16_t p) {
        return hand_over<storage::replica_state, std::string>(self, self->state.sink, a, p);
      },
      [self](rinspect_atom a) { return hand_over<std::string>(self, self->state.replicator, a); },
      [self, view](rseal_atom a, const std::string& node,
                   const std::vector<storage::seal_request>& requests) {
        return hand_over<std::vector<storage::replica_state>, std::string>(
            self, node_sink(self, view, node), a, requests);
      },
      [self, view](rstate_atom a, const std::string& node, uint16_t p) {
        return hand_over<storage::replica_state, std::string>(self, node_sink(self, view, node), a,
                                                              p);
      },
      [](ping_atom) { return true; },
      [self, view](probe_atom) { probe_peers(self, view); },
  };
}

}  // namespace sb::cluster
