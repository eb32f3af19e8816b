#include "cluster/cluster_node.hpp"

#include <caf/io/all.hpp>

#include <cstdio>

#include "cluster/etcd_keys.hpp"
#include "cluster/registry.hpp"

namespace sb::cluster {

namespace {

constexpr auto dial_period = std::chrono::milliseconds(300);

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: cluster: %s\n", line.c_str());
}

bool split_host_port(const std::string& address, std::string& host, uint16_t& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  host = address.substr(0, colon);
  unsigned long value = std::strtoul(address.c_str() + colon + 1, nullptr, 10);
  if (value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

cluster_node::cluster_node(std::shared_ptr<cluster_view> view, deps d)
    : view_(std::move(view)),
      deps_(std::move(d)),
      etcd_(deps_.cfg->cluster.etcd),
      serving_(partition_count, false) {
  const auto& c = deps_.cfg->cluster;
  handoff_ =
      std::make_unique<handoff>(etcd_, view_,
                                handoff::deps{deps_.sys, deps_.registry, deps_.store, deps_.commit,
                                              c.prefix, deps_.cfg->auth.secret});
  member_record self{deps_.cfg->node.id, deps_.http_address,
                     c.listen_host + ":" + std::to_string(c.listen_port)};
  membership_ =
      std::make_unique<membership>(etcd_, view_, membership::options{c.prefix, c.lease_ttl, self},
                                   [this](uint16_t p) { on_partition(p); });
  controller_ =
      std::make_unique<controller>(etcd_, view_, controller::options{c.prefix, c.moves_in_flight},
                                   [this] { return membership_->lease(); });
}

cluster_node::~cluster_node() {
  stop();
}

std::string cluster_node::start() {
  const auto& c = deps_.cfg->cluster;
  auto published =
      deps_.sys->middleman().publish(deps_.registry, c.listen_port, c.listen_host.c_str(), true);
  if (!published)
    return "cannot listen for nodes on " + c.listen_host + ":" + std::to_string(c.listen_port) +
           ": " + deps_.sys->render(published.error());
  handoff_->start();
  if (auto err = membership_->start(); !err.empty()) return err;
  controller_->start();
  dialer_ = std::thread([this] { dial_loop(); });
  log("node " + view_->self() + " joined " + c.prefix);
  return "";
}

void cluster_node::stop() {
  if (stopping_.exchange(true)) return;
  if (dialer_.joinable()) dialer_.join();
  controller_->stop();
  membership_->stop();
  handoff_->stop();
}

bool cluster_node::ready() const {
  return membership_->joined() && view_->complete();
}

std::string cluster_node::set_draining(const std::string& node, bool draining) {
  std::string error;
  const auto key = etcd_keys::drain_key(deps_.cfg->cluster.prefix, node);
  const bool ok = draining ? etcd_.put(key, "1", 0, error) : etcd_.del(key, false, error);
  return ok ? "" : "etcd: " + error;
}

void cluster_node::on_partition(uint16_t p) {
  auto r = view_->partition(p);
  if (r && r->owner == view_->self()) {
    // The storage fence: serve only the epoch our own records are at. A partition's first
    // epoch starts empty everywhere, so it may be taken without records.
    uint64_t fence = deps_.store->partition_epoch(p);
    if (fence != r->epoch && fence == 0 && r->epoch == 1) {
      if (auto err = deps_.store->set_partition_epoch(p, 1); err.empty()) fence = 1;
    }
    if (fence != r->epoch)
      log("partition " + std::to_string(p) + ": etcd names this node at epoch " +
          std::to_string(r->epoch) + " but its records are at epoch " + std::to_string(fence) +
          "; not serving it");
    view_->set_local_epoch(p, fence);
    if (r->state == "moving") handoff_->schedule(p);
  }
  const bool serves = view_->serves(p);
  if (serves == serving_[p]) return;
  serving_[p] = serves;
  deps_.metrics->cluster_partitions_served.fetch_add(serves ? 1 : -1, std::memory_order_relaxed);
  if (serves)
    caf::anon_send(deps_.outbox, acquire_atom::value, p);
  else
    caf::anon_send(deps_.outbox, release_atom::value, p);
}

void cluster_node::dial_loop() {
  // Full mesh, one connection per pair: the node with the smaller id dials, the other learns
  // of it by the registry's hello (two connections per pair would race in BASP).
  while (!stopping_) {
    int64_t peers = 0;
    for (const auto& [id, m] : view_->members()) peers += view_->peer_connected(id) ? 1 : 0;
    deps_.metrics->cluster_peers.store(peers, std::memory_order_relaxed);
    for (const auto& [id, m] : view_->members()) {
      if (stopping_ || id <= view_->self() || view_->peer_connected(id)) continue;
      std::string host;
      uint16_t port = 0;
      if (!split_host_port(m.cluster, host, port)) continue;
      auto peer = deps_.sys->middleman().remote_actor(host, port);
      if (!peer) continue;
      view_->set_peer_connected(id, true);
      caf::anon_send(deps_.registry, dialed_atom::value, id, *peer);
    }
    std::this_thread::sleep_for(dial_period);
  }
}

}  // namespace sb::cluster
