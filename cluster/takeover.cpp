#include "cluster/takeover.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include "cluster/etcd_keys.hpp"
#include "cluster/replication_messages.hpp"

namespace sb::cluster {

namespace {

constexpr auto seal_timeout = std::chrono::seconds(2);

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: takeover: %s\n", line.c_str());
}

struct sealed_replica {
  std::string node;
  storage::replica_state state;
};

}  // namespace

takeover::takeover(etcd_client& etcd, std::shared_ptr<cluster_view> view, deps d)
    : etcd_(etcd), view_(std::move(view)), deps_(std::move(d)) {}

takeover::~takeover() {
  stop();
}

void takeover::stop() {
  workers_.stop();
}

void takeover::schedule(uint16_t p, const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_.insert(p).second) return;
  }
  workers_.run([this, p, why] {
    run(p, why);
    std::lock_guard lock(mutex_);
    pending_.erase(p);
  });
}

void takeover::run(uint16_t p, const std::string& why) {
  auto r = view_->partition(p);
  if (!r) return;
  const auto started = std::chrono::steady_clock::now();
  const auto key = etcd_keys::partition_key(deps_.prefix, p);
  std::string error;
  if (r->state != "recovering") {
    // 1. Reserve the next epoch in etcd first: from here on the old owner is no owner (its
    //    fence no longer matches), and a takeover that cannot finish leaves no replica sealed
    //    above what etcd says — the next attempt continues at this same epoch.
    partition_record reserved = *r;
    reserved.epoch = r->epoch + 1;
    reserved.state = "recovering";
    reserved.to.clear();
    auto done = etcd_.txn(
        {{key, etcd_compare::target::mod, r->mod_revision, ""}},
        {{etcd_op::kind::put, key, etcd_keys::partition_json(reserved), 0, false}}, {}, error);
    if (!done || !done->succeeded) return;  // changed meanwhile: the next tick looks again
    reserved.mod_revision = done->revision;
    r = reserved;
  }
  // 2. Seal every replica we reach at that epoch — the old owner too, if it is alive after
  //    all (a false suspicion): it may well be chosen again.
  const uint64_t epoch = r->epoch;
  const size_t copies = r->replicas.size();
  const size_t needed = copies - std::min<size_t>(2, copies) + 1;  // R − W + 1
  std::vector<sealed_replica> sealed;
  {
    caf::scoped_actor self{*deps_.sys};
    for (const auto& ref : r->replicas)
      self->request(deps_.registry, seal_timeout, rseal_atom::value, ref.node, p, epoch)
          .receive(
              [&](const storage::replica_state& s, const std::string& storage) {
                // A replica whose data directory is not the one etcd lists lost its copy.
                if (ref.storage.empty() || ref.storage == storage) sealed.push_back({ref.node, s});
              },
              [&](const caf::error&) {});
  }
  if (sealed.size() < needed || sealed.empty()) {
    log("partition " + std::to_string(p) + ": " + std::to_string(sealed.size()) + " of " +
        std::to_string(needed) + " replicas sealed at epoch " + std::to_string(epoch) +
        "; retrying");
    return;
  }
  // 3. The furthest tail holds every acknowledged round; 4. one compare-and-swap commits.
  const sealed_replica* best = &sealed.front();
  for (const auto& s : sealed)
    if (best->state.behind(s.state)) best = &s;
  partition_record next = *r;
  next.owner = best->node;
  next.state = "serving";
  // The owner first, as everywhere else.
  std::stable_partition(next.replicas.begin(), next.replicas.end(),
                        [&](const replica_ref& x) { return x.node == best->node; });
  auto done =
      etcd_.txn({{key, etcd_compare::target::mod, r->mod_revision, ""}},
                {{etcd_op::kind::put, key, etcd_keys::partition_json(next), 0, false}}, {}, error);
  if (!done || !done->succeeded) {
    log("partition " + std::to_string(p) + ": commit " + (done ? "refused" : "failed: " + error));
    return;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (deps_.metrics) {
    deps_.metrics->cluster_takeovers.fetch_add(1, std::memory_order_relaxed);
    deps_.metrics->takeover_duration.observe(seconds);
  }
  log("partition " + std::to_string(p) + ": " + best->node + " took over from " + r->owner + " (" +
      why + ") at epoch " + std::to_string(epoch) + " (lsn " +
      std::to_string(best->state.last_lsn) + ") in " +
      std::to_string(static_cast<int>(seconds * 1000)) + " ms");
}

}  // namespace sb::cluster
