#include "cluster/takeover.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "cluster/etcd_keys.hpp"
#include "cluster/replication_messages.hpp"

namespace sb::cluster {

namespace {

constexpr auto seal_timeout = std::chrono::seconds(1);
// Records per etcd transaction (etcd's --max-txn-ops is 128 by default).
constexpr size_t txn_chunk = 64;

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: takeover: %s\n", line.c_str());
}

struct sealed_copy {
  std::string node;
  storage::replica_state state;
};

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
  auto reserve_chunk = [&](std::vector<claim*> chunk) {
    std::vector<etcd_compare> compares;
    std::vector<etcd_op> puts;
    for (auto* c : chunk) {
      const auto key = etcd_keys::partition_key(deps_.prefix, c->wanted.partition);
      partition_record reserved = c->record;
      reserved.epoch = c->record.epoch + 1;
      reserved.state = "recovering";
      reserved.to.clear();
      compares.push_back({key, etcd_compare::target::mod, c->record.mod_revision, ""});
      puts.push_back({etcd_op::kind::put, key, etcd_keys::partition_json(reserved), 0, false});
    }
    std::string error;
    auto done = etcd_.txn(compares, puts, {}, error);
    if (!done || !done->succeeded) return false;
    for (auto* c : chunk) {
      c->record.epoch += 1;
      c->record.state = "recovering";
      c->record.to.clear();
      c->record.mod_revision = done->revision;
    }
    return true;
  };
  for (size_t at = 0; at < fresh.size(); at += txn_chunk) {
    std::vector<claim*> chunk;
    for (size_t i = at; i < std::min(fresh.size(), at + txn_chunk); ++i) chunk.push_back(&fresh[i]);
    if (reserve_chunk(chunk)) {
      for (auto* c : chunk) out.push_back(std::move(*c));
      continue;
    }
    // One record changed meanwhile: the others one by one.
    for (auto* c : chunk)
      if (reserve_chunk({c})) out.push_back(std::move(*c));
  }
  return out;
}

// 2. Seal every replica we reach at the reserved epochs — the old owner too, if it is alive
//    after all (a false suspicion): it may be chosen again. One request per replica node.
void takeover::seal(std::vector<claim>& claims) {
  std::map<std::string, std::vector<std::pair<claim*, const replica_ref*>>> by_node;
  for (auto& c : claims)
    for (const auto& ref : c.record.replicas) {
      // Not a node that cannot answer (no member key, or the middleman lost it): a stopped
      // process would only make everyone wait for the timeout.
      const bool reachable =
          ref.node == view_->self() || (view_->member(ref.node) && view_->peer_connected(ref.node));
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
            // A replica whose data directory is not the one etcd lists lost its copy.
            if (ref->storage.empty() || ref->storage == storage)
              c->sealed.push_back({node, states[i]});
          }
        },
        [&](const caf::error&) {});
  }
}

// 3. The furthest tail of enough sealed copies holds every acknowledged round; 4. commit it as
//    the owner, by compare-and-swap on the reserved record.
void takeover::commit(std::vector<claim>& claims) {
  std::vector<claim*> ready;
  for (auto& c : claims) {
    const size_t copies = c.record.replicas.size();
    const size_t needed = copies - std::min<size_t>(2, copies) + 1;  // R − W + 1
    if (c.sealed.size() < needed || c.sealed.empty()) {
      log("partition " + std::to_string(c.wanted.partition) + ": " +
          std::to_string(c.sealed.size()) + " of " + std::to_string(needed) +
          " replicas sealed at epoch " + std::to_string(c.record.epoch) + "; retrying");
      continue;
    }
    const sealed_copy* best = &c.sealed.front();
    for (const auto& s : c.sealed)
      if (best->state.behind(s.state)) best = &s;
    c.new_owner = best->node;
    c.tail_lsn = best->state.last_lsn;
    ready.push_back(&c);
  }
  auto commit_chunk = [&](const std::vector<claim*>& chunk) {
    std::vector<etcd_compare> compares;
    std::vector<etcd_op> puts;
    for (auto* c : chunk) {
      partition_record next = c->record;
      next.owner = c->new_owner;
      next.state = "serving";
      // The owner first, as everywhere else.
      std::stable_partition(next.replicas.begin(), next.replicas.end(),
                            [&](const replica_ref& x) { return x.node == c->new_owner; });
      const auto key = etcd_keys::partition_key(deps_.prefix, c->wanted.partition);
      compares.push_back({key, etcd_compare::target::mod, c->record.mod_revision, ""});
      puts.push_back({etcd_op::kind::put, key, etcd_keys::partition_json(next), 0, false});
    }
    std::string error;
    auto done = etcd_.txn(compares, puts, {}, error);
    return done && done->succeeded;
  };
  for (size_t at = 0; at < ready.size(); at += txn_chunk) {
    std::vector<claim*> chunk(
        ready.begin() + static_cast<std::ptrdiff_t>(at),
        ready.begin() + static_cast<std::ptrdiff_t>(std::min(ready.size(), at + txn_chunk)));
    if (commit_chunk(chunk)) continue;
    for (auto* c : chunk)
      if (!commit_chunk({c})) c->new_owner.clear();  // changed meanwhile: retried later
  }
}

}  // namespace sb::cluster
