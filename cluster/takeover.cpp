#include "cluster/takeover.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "cluster/etcd_keys.hpp"
#include "cluster/record_writes.hpp"
#include "cluster/replication_messages.hpp"
#include "cluster/successor.hpp"

namespace sb::cluster {

namespace {

constexpr auto seal_timeout = std::chrono::seconds(1);

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: takeover: %s\n", line.c_str());
}

}  // namespace

struct takeover::claim {
  candidate wanted;
  partition_record record;  // as etcd holds it (after step 1: recovering at the new epoch)
  std::vector<sealed_copy> sealed;
  std::string new_owner;
  uint64_t tail_lsn = 0;
};

takeover::takeover(etcd_client& etcd, std::shared_ptr<cluster_view> view, deps d)
    : etcd_(etcd), view_(std::move(view)), deps_(std::move(d)) {}

takeover::~takeover() {
  stop();
}

void takeover::stop() {
  workers_.stop();
}

void takeover::schedule(std::vector<candidate> batch) {
  {
    std::lock_guard lock(mutex_);
    std::erase_if(batch,
                  [this](const candidate& c) { return !pending_.insert(c.partition).second; });
  }
  if (batch.empty()) return;
  workers_.run([this, batch] {
    run(batch);
    std::lock_guard lock(mutex_);
    for (const auto& c : batch) pending_.erase(c.partition);
  });
}

void takeover::run(std::vector<candidate> batch) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<claim> claims;
  for (auto& c : batch) {
    // Only what the controller saw: a record changed since (a takeover that finished, a move)
    // is somebody else's business now.
    auto r = view_->partition(c.partition);
    if (r && r->owner == c.owner && r->epoch == c.epoch) claims.push_back({std::move(c), *r});
  }
  claims = reserve(std::move(claims));
  if (claims.empty()) return;
  seal(claims);
  commit(claims);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  size_t done = 0;
  for (const auto& c : claims) {
    if (c.new_owner.empty()) continue;
    ++done;
    log("partition " + std::to_string(c.wanted.partition) + ": " + c.new_owner +
        " took over from " + c.wanted.owner + " (" + c.wanted.why + ") at epoch " +
        std::to_string(c.record.epoch) + " (lsn " + std::to_string(c.tail_lsn) + ")");
  }
  if (deps_.metrics) {
    deps_.metrics->cluster_takeovers.fetch_add(done, std::memory_order_relaxed);
    if (done > 0) deps_.metrics->takeover_duration.observe(ms / 1000.0);
  }
  log(std::to_string(done) + " of " + std::to_string(claims.size()) + " partitions taken over in " +
      std::to_string(ms) + " ms");
}

// 1. Reserve the next epoch in etcd first: from then on the old owner is no owner (its fence
//    no longer matches), and a takeover that cannot finish leaves no replica sealed above what
//    etcd says — the next attempt continues at the same epoch. Returns the claims reserved.
std::vector<takeover::claim> takeover::reserve(std::vector<claim> claims) {
  std::vector<claim> out, fresh;
  for (auto& c : claims) (c.record.state == "recovering" ? out : fresh).push_back(std::move(c));
  std::vector<record_write> writes;
  for (auto& c : fresh) {
    partition_record reserved = c.record;
    reserved.epoch = c.record.epoch + 1;
    reserved.state = "recovering";
    reserved.to.clear();
    writes.push_back({etcd_keys::partition_key(deps_.prefix, c.wanted.partition),
                      c.record.mod_revision, etcd_keys::partition_json(reserved)});
  }
  const auto revisions = write_records(etcd_, writes);
  for (size_t i = 0; i < fresh.size(); ++i) {
    if (revisions[i] == 0) continue;  // changed meanwhile: somebody else's business now
    auto& c = fresh[i];
    c.record.epoch += 1;
    c.record.state = "recovering";
    c.record.to.clear();
    c.record.mod_revision = revisions[i];
    out.push_back(std::move(c));
  }
  return out;
}

// 2. Seal every replica we reach at the reserved epochs — the old owner too, if it is alive
//    after all (a false suspicion): it may be chosen again. One request per replica node.
void takeover::seal(std::vector<claim>& claims) {
  std::map<std::string, std::vector<std::pair<claim*, const replica_ref*>>> by_node;
  for (auto& c : claims)
    for (const auto& ref : c.record.replicas) {
      // Not a node that cannot answer (no member key, the middleman lost it, or it answers no
      // pings): a stopped process would only make everyone wait for the timeout.
      const bool reachable = ref.node == view_->self() ||
                             (view_->member(ref.node) && view_->peer_responsive(ref.node));
      if (reachable) by_node[ref.node].emplace_back(&c, &ref);
    }
  // One request per node, all sent before any answer is awaited: the wait is the slowest
  // node's, not the sum.
  caf::scoped_actor self{*deps_.sys};
  using handle = decltype(self->request(deps_.registry, seal_timeout, rseal_atom::value,
                                        std::string(), std::vector<storage::seal_request>()));
  std::vector<std::pair<std::string, handle>> pending;
  for (const auto& [node, asked] : by_node) {
    std::vector<storage::seal_request> requests;
    for (const auto& [c, ref] : asked) requests.push_back({c->wanted.partition, c->record.epoch});
    pending.emplace_back(node, self->request(deps_.registry, seal_timeout, rseal_atom::value, node,
                                             std::move(requests)));
  }
  for (auto& [node, h] : pending) {
    const auto& asked = by_node.at(node);
    h.receive(
        [&](const std::vector<storage::replica_state>& states, const std::string& storage) {
          for (size_t i = 0; i < asked.size() && i < states.size(); ++i) {
            const auto& [c, ref] = asked[i];
            c->sealed.push_back({node, storage, states[i]});
          }
        },
        [&](const caf::error&) {});
  }
}

// 3. The furthest tail of enough sealed copies holds every acknowledged round
//    (cluster/successor.hpp); 4. commit it as the owner, by compare-and-swap on the reserved
//    record. A pending change of the replicas is dropped: the controller plans it again
//    around the new owner.
void takeover::commit(std::vector<claim>& claims) {
  std::vector<claim*> ready;
  std::vector<record_write> writes;
  for (auto& c : claims) {
    const auto choice = choose_successor(c.record.replicas, c.sealed);
    if (!choice.copy) {
      log("partition " + std::to_string(c.wanted.partition) + ": " +
          std::to_string(choice.counted) + " of " + std::to_string(choice.needed) +
          " replicas sealed complete at epoch " + std::to_string(c.record.epoch) + "; retrying");
      continue;
    }
    c.new_owner = choice.copy->node;
    c.tail_lsn = choice.copy->state.last_lsn;
    partition_record next = c.record;
    next.owner = c.new_owner;
    next.state = "serving";
    next.next_replicas.clear();
    // The owner first, as everywhere else.
    std::stable_partition(next.replicas.begin(), next.replicas.end(),
                          [&](const replica_ref& x) { return x.node == c.new_owner; });
    ready.push_back(&c);
    writes.push_back({etcd_keys::partition_key(deps_.prefix, c.wanted.partition),
                      c.record.mod_revision, etcd_keys::partition_json(next)});
  }
  const auto revisions = write_records(etcd_, writes);
  for (size_t i = 0; i < ready.size(); ++i)
    if (revisions[i] == 0) ready[i]->new_owner.clear();  // changed meanwhile: retried later
}

}  // namespace sb::cluster
