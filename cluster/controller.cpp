#include "cluster/controller.hpp"

#include <algorithm>
#include <cstdio>

#include "cluster/etcd_keys.hpp"
#include "cluster/record_writes.hpp"
#include "cluster/rendezvous.hpp"
#include "cluster/replica_sets.hpp"

namespace sb::cluster {

namespace {

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: controller: %s\n", line.c_str());
}

}  // namespace

controller::controller(etcd_client& etcd, std::shared_ptr<cluster_view> view, options opts,
                       std::function<int64_t()> lease, takeover* failover)
    : etcd_(etcd),
      view_(std::move(view)),
      opts_(std::move(opts)),
      lease_(std::move(lease)),
      failover_(failover) {}

controller::~controller() {
  stop();
}

void controller::start() {
  thread_ = std::thread([this] { loop(); });
}

void controller::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void controller::loop() {
  while (!stopping_) {
    watch_peers();
    if (view_->controller().empty())
      campaign();
    else if (view_->controller() != view_->self())
      depose_lost_controller();
    if (view_->controller() == view_->self()) {
      reconcile();
      watch_peers();  // reconcile may have taken a while
      fail_over();
    }
    std::this_thread::sleep_for(opts_.period);
  }
}

void controller::campaign() {
  std::string error;
  const auto key = etcd_keys::controller_key(opts_.prefix);
  auto won = etcd_.txn({{key, etcd_compare::target::create, 0, ""}},
                       {{etcd_op::kind::put, key, view_->self(), lease_(), false}}, {}, error);
  if (won && won->succeeded) {
    view_->set_controller(view_->self());  // the watch confirms it a moment later
    log(view_->self() + " is the controller");
  }
}

// The controller key lives as long as its holder's lease: a dead controller would keep the role
// for up to lease_ttl (3 s), and nothing would be taken over meanwhile, its own partitions
// included. So once the controller is suspected by the rule it applies to owners (lost by the
// middleman for suspect_after, or silent to pings for unresponsive_after), the deputy, the
// member with the smallest id that is not suspected itself, deletes the key if it still names
// that node, and campaigns (with two members nobody is a majority: the lease decides). A
// controller suspected wrongly only loses the role: every record write is compare-and-swap,
// and a takeover fences the old owner whatever a controller believes. At most once per
// second, so a controller that etcd still reaches cannot make it flap faster.
void controller::depose_lost_controller() {
  const auto ctrl = view_->controller();
  const auto why = suspicion(ctrl);
  if (why.empty() || clock::now() - last_depose_ < std::chrono::seconds(1)) return;
  // Only a node that hears from a majority of the members (itself included, the controller
  // not) deposes: one that was paused or cut off itself finds everyone silent, and must not
  // take the role from a controller the others still reach.
  const auto members = view_->members();
  size_t heard = 0;
  std::string deputy;  // members are ordered by id: the first one heard
  for (const auto& [id, m] : members) {
    if (id == ctrl || suspect(id)) continue;
    if (deputy.empty()) deputy = id;
    ++heard;
  }
  if (2 * heard <= members.size() || deputy != view_->self()) return;
  last_depose_ = clock::now();
  std::string error;
  const auto key = etcd_keys::controller_key(opts_.prefix);
  auto done = etcd_.txn({{key, etcd_compare::target::value, 0, ctrl}},
                        {{etcd_op::kind::del, key, "", 0, false}}, {}, error);
  if (!done || !done->succeeded) return;
  log(view_->self() + " deposed the controller " + ctrl + " (" + why + ")");
  view_->set_controller("");  // the watch confirms it a moment later
  campaign();
}

void controller::reconcile() {
  std::vector<std::string> eligible;
  // A node being drained takes nothing; neither does one that looks lost (its member key may
  // outlive it by a lease TTL): moving a partition to it would only stall that partition.
  for (const auto& [id, m] : view_->members())
    if (!view_->draining(id) && !suspect(id)) eligible.push_back(id);
  if (eligible.empty()) return;
  const auto members = view_->members();
  const auto parts = view_->partitions();
  size_t moving = 0;
  for (const auto& r : parts)
    if (r && r->state == "moving") ++moving;
  // Every change of this pass, written in a few transactions (a pass that changes hundreds
  // of records one transaction at a time takes seconds under load).
  std::vector<record_write> writes;
  for (uint16_t p = 0; p < partition_count && !stopping_; ++p) {
    const auto target = rendezvous_owner(eligible, p);
    const auto key = etcd_keys::partition_key(opts_.prefix, p);
    const auto& r = parts[p];
    if (!r) {
      // First assignment: epoch 1, nothing stored anywhere yet. Created only if still absent.
      partition_record fresh{
          target, 1, "serving",
          "",     0, choose_replicas(p, target, eligible, members, opts_.replication_factor)};
      writes.push_back({key, 0, etcd_keys::partition_json(fresh)});
      continue;
    }
    // Only a live owner can hand a partition over; a dead owner's partitions wait for it.
    if (r->state != "serving" || !members.contains(r->owner)) continue;
    if (r->owner == target) {
      // The copies wanted; the owner makes them the replicas once the newcomers caught up.
      partition_record change = *r;
      change.next_replicas = wanted_replicas(
          p, *r, eligible, members, opts_.replication_factor, [this](const std::string& node) {
            return view_->draining(node) || gone_for(node, opts_.replace_after);
          });
      if (same_nodes(change.next_replicas, r->next_replicas)) continue;
      writes.push_back({key, r->mod_revision, etcd_keys::partition_json(change)});
      continue;
    }
    if (moving >= opts_.moves_in_flight) continue;
    partition_record move = *r;
    move.state = "moving";
    move.to = target;
    writes.push_back({key, r->mod_revision, etcd_keys::partition_json(move)});
    ++moving;  // a move refused here is planned again next pass
  }
  write_records(etcd_, writes);
}

void controller::watch_peers() {
  const auto now = clock::now();
  const auto members = view_->members();
  for (const auto& [id, m] : members) {
    absent_since_.erase(id);
    if (id == view_->self() || view_->peer_connected(id)) {
      reached_.insert(id);
      lost_since_.erase(id);
    } else if (reached_.contains(id)) {
      lost_since_.try_emplace(id, now);
    }
  }
  for (const auto& r : view_->partitions()) {
    if (!r) continue;
    for (const auto& x : r->replicas)
      if (!members.contains(x.node)) absent_since_.try_emplace(x.node, now);
    if (!members.contains(r->owner)) absent_since_.try_emplace(r->owner, now);
  }
}

bool controller::gone_for(const std::string& node, std::chrono::milliseconds at_least) const {
  auto gone = absent_since_.find(node);
  return gone != absent_since_.end() && clock::now() - gone->second >= at_least;
}

bool controller::suspect(const std::string& node) const {
  return !suspicion(node).empty();
}

std::string controller::suspicion(const std::string& node) const {
  if (node == view_->self()) return "";
  const auto now = clock::now();
  auto ms = [&](clock::time_point since) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count());
  };
  // Lost by the middleman: reached before, disconnected now and for suspect_after. Asked live,
  // not from the last loop's look: a reconcile pass of many etcd writes can outlast
  // suspect_after, and must not make every peer look lost. A node this controller never
  // reached (it started after the node died) is suspected once its member key is gone.
  if (reached_.contains(node) && view_->member(node)) {
    // Connected but silent: hung or cut off without a reset (cluster/peer_probe.hpp). The
    // silence is its own debounce; the middleman would notice only after connection_timeout.
    if (view_->peer_connected(node)) {
      const auto silent = view_->peer_silence(node);
      return silent >= view_->liveness_settings().unresponsive_after
                 ? "no answer to pings for " + std::to_string(silent.count()) + " ms"
                 : "";
    }
    auto it = lost_since_.find(node);
    return it != lost_since_.end() && now - it->second >= opts_.suspect_after
               ? "middleman lost it " + ms(it->second) + " ms ago"
               : "";
  }
  auto gone = absent_since_.find(node);
  return gone != absent_since_.end() && now - gone->second >= opts_.suspect_after
             ? "no member key for " + ms(gone->second) + " ms"
             : "";
}

void controller::fail_over() {
  if (!failover_) return;
  std::vector<takeover::candidate> batch;
  for (uint16_t p = 0; p < partition_count && !stopping_; ++p) {
    auto r = view_->partition(p);
    if (!r || r->replicas.size() <= 1) continue;
    // A takeover that reserved its epoch but could not finish yet goes on whatever the owner.
    if (r->state == "recovering")
      batch.push_back({p, r->owner, r->epoch, "a takeover at epoch " + std::to_string(r->epoch)});
    else if (auto why = suspicion(r->owner); !why.empty())
      batch.push_back({p, r->owner, r->epoch, why});
  }
  if (!batch.empty()) failover_->schedule(std::move(batch));
}

}  // namespace sb::cluster
