#include "cluster/cluster_node.hpp"

#include <caf/io/all.hpp>

#include <cstdio>

#include "cluster/etcd_keys.hpp"
#include "cluster/record_writes.hpp"
#include "cluster/registry.hpp"
#include "cluster/replica_sets.hpp"
#include "cluster/replica_sink.hpp"
#include "cluster/replicator.hpp"

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
  handoff_ = std::make_unique<handoff>(
      etcd_, view_,
      handoff::deps{deps_.sys, deps_.registry, deps_.store, deps_.commit, c.prefix,
                    deps_.cfg->auth.secret, c.replication_factor, deps_.metrics});
  takeover_ = std::make_unique<takeover>(
      etcd_, view_, takeover::deps{deps_.sys, deps_.registry, c.prefix, deps_.metrics});
  member_record self{deps_.cfg->node.id, deps_.http_address,
                     c.listen_host + ":" + std::to_string(c.listen_port),
                     deps_.store->storage_uuid()};
  membership_ =
      std::make_unique<membership>(etcd_, view_, membership::options{c.prefix, c.lease_ttl, self},
                                   [this](uint16_t p) { on_partition(p); });
  controller_ = std::make_unique<controller>(
      etcd_, view_,
      controller::options{c.prefix, c.moves_in_flight, std::chrono::milliseconds(100),
                          c.replication_factor, c.suspect_after,
                          std::chrono::duration_cast<std::chrono::milliseconds>(c.replace_after)},
      [this] { return membership_->lease(); }, takeover_.get());
}

cluster_node::~cluster_node() {
  stop();
}

std::string cluster_node::start() {
  const auto& c = deps_.cfg->cluster;
  auto published = deps_.sys->middleman().publish(caf::actor_cast<caf::actor>(deps_.registry),
                                                  c.listen_port, c.listen_host.c_str(), true);
  if (!published)
    return "cannot listen for nodes on " + c.listen_host + ":" + std::to_string(c.listen_port) +
           ": " + deps_.sys->render(published.error());
  // Replication first: a round committed for a partition this node owns must reach its backups.
  copies_ = std::make_unique<copy_workers>(2);
  sink_ = deps_.sys->spawn<caf::detached>(replica_sink, deps_.store);
  replicator_ = deps_.sys->spawn(
      replicator,
      replicator_deps{
          view_, deps_.store, deps_.cfg->auth.secret, caf::actor_cast<caf::actor>(deps_.registry),
          copies_.get(), deps_.metrics,
          [this](uint16_t p, int64_t mod_revision, partition_record next, caf::actor reply_to) {
            copies_->run([this, p, mod_revision, next = std::move(next), reply_to] {
              switch_replicas(p, mod_revision, next, reply_to);
            });
          }});
  caf::anon_send(deps_.registry, replication_atom::value, sink_, replicator_);
  deps_.commit->set_replicator([rep = replicator_](std::vector<storage::replica_round> rounds,
                                                   storage::group_commit::callback done) {
    caf::anon_send(
        rep, rjob_atom::value,
        std::make_shared<replication_job>(replication_job{std::move(rounds), std::move(done)}));
  });
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
  takeover_->stop();
  membership_->stop();
  handoff_->stop();
  if (copies_) copies_->stop();
  // Rounds committed from now on wait for ever (their appends are not answered): never
  // acknowledged without a backup.
  caf::anon_send_exit(replicator_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink_, caf::exit_reason::user_shutdown);
}

void cluster_node::switch_replicas(uint16_t p, int64_t mod_revision, const partition_record& next,
                                   const caf::actor& reply_to) {
  const auto key = etcd_keys::partition_key(deps_.cfg->cluster.prefix, p);
  const int64_t revision =
      write_records(etcd_, {{key, mod_revision, etcd_keys::partition_json(next)}}).at(0);
  if (revision != 0)
    log("partition " + std::to_string(p) + ": replicas are now " + joined_nodes(next.replicas));
  caf::anon_send(reply_to, rswitched_atom::value, p, revision);
}

partition_copy::answer cluster_node::receive_copy(const partition_copy::chunk_params& c,
                                                  const std::string& signature,
                                                  const std::string& body) {
  if (c.kind == "import") return handoff_->receive(c, signature, body);
  // A backup's catch-up: only from the owner etcd names, at its epoch, to a replica that does
  // not serve the partition itself.
  auto admit = [&]() -> std::optional<partition_copy::answer> {
    auto r = view_->partition(c.partition);
    if (!r || r->owner == view_->self() || !r->keeps_copy(view_->self()) || r->epoch != c.epoch ||
        view_->serves(c.partition))
      return partition_copy::answer{
          409, R"({"error":"conflict","message":"this node is no backup of that owner epoch"})"};
    return std::nullopt;
  };
  return partition_copy::receive(*deps_.store, deps_.cfg->auth.secret, c, signature, body, admit);
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
    uint64_t fence = deps_.store->partition_epoch(partition_id{p});
    if (fence != r->epoch && fence == 0 && r->epoch == 1) {
      if (auto err = deps_.store->set_partition_epoch(partition_id{p}, 1); err.empty()) fence = 1;
    }
    // A takeover made this node the owner: it was sealed at exactly this epoch, with the
    // furthest tail of the sealed replicas (cluster/takeover.hpp).
    if (fence != r->epoch && r->state == "serving" &&
        deps_.store->replica(partition_id{p}).sealed_epoch == r->epoch) {
      if (auto err = deps_.store->set_partition_epoch(partition_id{p}, r->epoch); err.empty()) {
        fence = r->epoch;
        log("partition " + std::to_string(p) + ": serving it at epoch " + std::to_string(fence) +
            " after a takeover");
      }
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
