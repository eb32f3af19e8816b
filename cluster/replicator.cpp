#include "cluster/replicator.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

#include <boost/json.hpp>

#include "base/partition.hpp"
#include "cluster/partition_copy.hpp"
#include "cluster/registry.hpp"
#include "cluster/replica_sets.hpp"

namespace sb::cluster {

namespace {

using self_ptr = caf::stateful_actor<replicator_state>*;
using position = replicator_state::position;
using follower = replicator_state::follower;
using mode = follower::mode;
using clock = std::chrono::steady_clock;

// How far back a backup can be caught up without a full copy.
constexpr size_t recent_rounds = 4096;
constexpr size_t recent_bytes = 16u << 20;
constexpr auto append_timeout = std::chrono::seconds(5);
constexpr auto state_timeout = std::chrono::seconds(2);
constexpr auto tick_period = std::chrono::milliseconds(200);
constexpr auto copy_retry = std::chrono::seconds(1);

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: replication: %s\n", line.c_str());
}

position of(const storage::replica_state& s) {
  return {s.last_epoch, s.last_lsn};
}

struct context {
  self_ptr self;
  std::shared_ptr<replicator_deps> deps;
  const std::string& me() const { return deps->view->self(); }
};

void catch_up(const context& cx, uint16_t p, const std::string& node);
void maybe_switch(const context& cx, uint16_t p);

void count_waiting(const context& cx) {
  if (cx.deps->metrics)
    cx.deps->metrics->replication_waiting.store(static_cast<int64_t>(cx.self->state.queue.size()),
                                                std::memory_order_relaxed);
}

// The furthest round of the partition's epoch that one of its voters has synced.
position confirmed(const replicator_state::partition& part) {
  position best{0, 0};
  for (const auto& node : part.voters)
    if (auto f = part.followers.find(node); f != part.followers.end())
      if (f->second.at.first == part.epoch) best = std::max(best, f->second.at);
  return best;
}

// Answers every waiting round whose partitions all have a voter's sync by now.
void complete_ready(const context& cx) {
  auto& st = cx.self->state;
  struct counted {
    const context& cx;
    ~counted() { count_waiting(cx); }
  } count{cx};
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    const bool ready = std::all_of(it->needs.begin(), it->needs.end(), [&](const auto& need) {
      auto [p, epoch, lsn] = need;
      auto part = st.parts.find(p);
      if (part == st.parts.end() || part->second.switching) return false;
      return part->second.voters.empty() || confirmed(part->second) >= position{epoch, lsn};
    });
    if (!ready) {
      ++it;
      continue;
    }
    if (it->job->done) it->job->done("");
    it = st.queue.erase(it);
  }
}

// Fails every waiting round that needs partition p (it is no longer ours to replicate).
void fail_waiting(const context& cx, uint16_t p, const std::string& why) {
  auto& st = cx.self->state;
  for (auto it = st.queue.begin(); it != st.queue.end();) {
    const bool needs_p = std::any_of(it->needs.begin(), it->needs.end(),
                                     [p](const auto& need) { return std::get<0>(need) == p; });
    if (!needs_p) {
      ++it;
      continue;
    }
    if (it->job->done) it->job->done(why);
    it = st.queue.erase(it);
  }
}

// A backup is sealed at a later epoch: a takeover made another node the owner. Nothing
// waiting here can complete; the partition stops being served here until etcd says more.
void fenced(const context& cx, uint16_t p, uint64_t sealed) {
  log("partition " + std::to_string(p) + ": a backup is sealed at epoch " + std::to_string(sealed) +
      "; another node owns it now, not serving it here");
  cx.deps->view->set_local_epoch(p, 0);
  caf::anon_send(cx.deps->registry, seal_atom::value, p);  // no answer wanted
  fail_waiting(cx, p, "partition " + std::to_string(p) + " was taken over by another node");
  cx.self->state.parts.erase(p);
}

void send_rounds(const context& cx, const std::string& node,
                 std::vector<storage::replica_round> rounds);

// The owner's newest round of p (or its stored position when it kept none).
position newest(const context& cx, uint16_t p) {
  const auto& part = cx.self->state.parts[p];
  return part.recent.empty() ? of(cx.deps->store->replica(partition_id{p}))
                             : position{part.recent.back().epoch, part.recent.back().lsn};
}

void on_verdicts(const context& cx, const std::string& node,
                 const std::vector<storage::replica_verdict>& verdicts) {
  auto& st = cx.self->state;
  for (const auto& v : verdicts) {
    auto part = st.parts.find(v.partition);
    if (part == st.parts.end()) continue;
    auto fit = part->second.followers.find(node);
    if (fit == part->second.followers.end()) continue;
    auto& f = fit->second;
    switch (v.kind) {
      case storage::replica_verdict_kind::applied:
        f.at = of(v.state);
        break;
      case storage::replica_verdict_kind::stale:
        if (v.state.sealed_epoch > part->second.epoch) {
          fenced(cx, v.partition, v.state.sealed_epoch);
          continue;
        }
        break;
      case storage::replica_verdict_kind::mismatch:
        if (f.now != mode::copying) {
          f.at = of(v.state);
          catch_up(cx, v.partition, node);
        }
        break;
      case storage::replica_verdict_kind::failed:
        f.now = mode::probing;
        break;
    }
    maybe_switch(cx, v.partition);
  }
  complete_ready(cx);
}

void send_rounds(const context& cx, const std::string& node,
                 std::vector<storage::replica_round> rounds) {
  if (rounds.empty()) return;
  auto& st = cx.self->state;
  auto peer = st.peers.find(node);
  auto lost = [cx, node](const std::vector<uint16_t>& ps) {
    for (auto p : ps) {
      auto part = cx.self->state.parts.find(p);
      if (part == cx.self->state.parts.end()) continue;
      if (auto f = part->second.followers.find(node);
          f != part->second.followers.end() && f->second.now == mode::live)
        f->second.now = mode::probing;
    }
  };
  std::vector<uint16_t> partitions;
  for (const auto& r : rounds) partitions.push_back(r.partition);
  if (peer == st.peers.end()) return lost(partitions);
  cx.self->request(peer->second, append_timeout, rappend_atom::value, cx.me(), std::move(rounds))
      .then(
          [cx, node](const std::vector<storage::replica_verdict>& verdicts) {
            on_verdicts(cx, node, verdicts);
          },
          [lost, partitions](const caf::error&) { lost(partitions); });
}

void start_copy(const context& cx, uint16_t p, const std::string& node) {
  auto& part = cx.self->state.parts[p];
  auto& f = part.followers[node];
  auto member = cx.deps->view->member(node);
  if (!member) {
    f.now = mode::probing;
    return;
  }
  f.now = mode::copying;
  if (cx.deps->metrics)
    cx.deps->metrics->replication_copies.fetch_add(1, std::memory_order_relaxed);
  log("partition " + std::to_string(p) + ": copying it to backup " + node);
  auto deps = cx.deps;
  auto me = caf::actor_cast<caf::actor>(cx.self);
  const uint64_t epoch = part.epoch;
  deps->copies->run([deps, me, p, node, epoch, http = member->http] {
    storage::replica_state sent;
    auto error = partition_copy::send(*deps->store, deps->secret, "replica", p, epoch, http, sent);
    if (!error.empty()) log("partition " + std::to_string(p) + ": copy to " + node + ": " + error);
    caf::anon_send(me, rcopied_atom::value, p, node, error.empty(), sent);
  });
}

// Sends the backup what it lacks from where it is: the kept rounds after its position, or a
// full copy when they do not reach back that far (or it holds rounds this owner never wrote).
void catch_up(const context& cx, uint16_t p, const std::string& node) {
  auto& part = cx.self->state.parts[p];
  auto& f = part.followers[node];
  const position now = part.recent.empty()
                           ? of(cx.deps->store->replica(partition_id{p}))
                           : position{part.recent.back().epoch, part.recent.back().lsn};
  if (f.at == now) {
    f.now = mode::live;
    f.sent = now;
    return;
  }
  auto from = std::find_if(part.recent.begin(), part.recent.end(), [&](const auto& r) {
    return position{r.prev_epoch, r.prev_lsn} == f.at;
  });
  if (from == part.recent.end()) return start_copy(cx, p, node);
  f.now = mode::live;
  f.sent = now;
  send_rounds(cx, node, std::vector<storage::replica_round>(from, part.recent.end()));
}

void ask_state(const context& cx, uint16_t p, const std::string& node) {
  auto& f = cx.self->state.parts[p].followers[node];
  auto peer = cx.self->state.peers.find(node);
  if (f.asking || peer == cx.self->state.peers.end()) return;
  f.asking = true;
  cx.self->request(peer->second, state_timeout, rstate_atom::value, p)
      .then(
          [cx, p, node](const storage::replica_state& s, const std::string& storage) {
            auto part = cx.self->state.parts.find(p);
            if (part == cx.self->state.parts.end()) return;
            auto& f = part->second.followers[node];
            f.asking = false;
            f.storage = storage;
            if (f.now != mode::probing) return;
            if (s.sealed_epoch > part->second.epoch) return fenced(cx, p, s.sealed_epoch);
            f.at = of(s);
            catch_up(cx, p, node);
            complete_ready(cx);
          },
          [cx, p, node](const caf::error&) {
            auto part = cx.self->state.parts.find(p);
            if (part != cx.self->state.parts.end()) part->second.followers[node].asking = false;
          });
}

// Brings a partition's voters and followers in line with etcd's record `r` of it: the
// record's backups vote, the newcomers of a pending change only follow. False if the record
// names another owner.
bool sync_with_record(const context& cx, const std::optional<partition_record>& r,
                      replicator_state::partition& part) {
  if (!r || r->owner != cx.me()) return false;
  part.voters.clear();
  part.change_pending = !r->next_replicas.empty();
  for (const auto& ref : r->replicas) {
    if (ref.node == cx.me()) continue;
    part.voters.push_back(ref.node);
    auto f = part.followers.find(ref.node);
    // A voter on storage etcd does not list (wiped, and copied since?): to be recorded.
    if (f != part.followers.end() && !f->second.storage.empty() && !ref.storage.empty() &&
        f->second.storage != ref.storage)
      part.change_pending = true;
  }
  std::vector<std::string> wanted = part.voters;
  for (const auto& ref : r->next_replicas)
    if (ref.node != cx.me() && !partition_record::lists(r->replicas, ref.node))
      wanted.push_back(ref.node);
  std::erase_if(part.followers, [&](const auto& f) {
    return std::find(wanted.begin(), wanted.end(), f.first) == wanted.end();
  });
  for (const auto& node : wanted) part.followers.try_emplace(node);
  if (part.switching && part.switched_at != 0 && r->mod_revision >= part.switched_at) {
    part.switching = false;
    part.switched_at = 0;
  }
  return true;
}

// Makes the pending change of p's replicas once it is safe: every newcomer (a node that is no
// replica yet, or one on storage etcd does not list) holds everything this owner has, so
// every round answered so far is on it. Rounds are not answered until etcd has the switch.
void maybe_switch(const context& cx, uint16_t p) {
  auto it = cx.self->state.parts.find(p);
  if (it == cx.self->state.parts.end() || !it->second.change_pending || it->second.switching ||
      !cx.deps->switch_replicas)
    return;
  auto& part = it->second;
  auto r = cx.deps->view->partition(p);
  if (!r || r->owner != cx.me() || r->state != "serving" || r->epoch != part.epoch) return;
  const auto& target = r->next_replicas.empty() ? r->replicas : r->next_replicas;
  if (target.empty() || target.front().node != cx.me()) return;
  const position head = newest(cx, p);
  partition_record next = *r;
  next.replicas.clear();
  next.next_replicas.clear();
  for (const auto& ref : target) {
    if (ref.node == cx.me()) {
      next.replicas.push_back({ref.node, cx.deps->store->storage_uuid()});
      continue;
    }
    auto f = part.followers.find(ref.node);
    if (f == part.followers.end()) return;
    auto listed = std::find_if(r->replicas.begin(), r->replicas.end(),
                               [&](const replica_ref& x) { return x.node == ref.node; });
    const bool known =
        listed != r->replicas.end() && (f->second.storage.empty() || listed->storage.empty() ||
                                        f->second.storage == listed->storage);
    if (known) {
      next.replicas.push_back(*listed);
      continue;
    }
    if (f->second.now != mode::live || f->second.at != head || f->second.storage.empty()) return;
    next.replicas.push_back({ref.node, f->second.storage});
  }
  if (next.replicas == r->replicas && r->next_replicas.empty()) return;
  part.switching = true;
  part.switched_at = 0;
  log("partition " + std::to_string(p) + ": switching its replicas to " +
      joined_nodes(next.replicas) + " at lsn " + std::to_string(head.second));
  cx.deps->switch_replicas(p, r->mod_revision, std::move(next),
                           caf::actor_cast<caf::actor>(cx.self));
}

void on_job(const context& cx, const replication_job_ptr& job) {
  auto& st = cx.self->state;
  replicator_state::waiting w{job, {}};
  std::map<std::string, std::vector<storage::replica_round>> out;
  // etcd names another owner: a stale owner's round (written just before it saw a takeover or
  // a move) is never answered as durable — the new owner's log does not have it. The whole
  // round fails (one answer per group commit); its appends are retried by their clients.
  std::vector<std::optional<partition_record>> records;
  records.reserve(job->rounds.size());
  for (const auto& r : job->rounds) {
    records.push_back(cx.deps->view->partition(r.partition));
    if (!records.back() || records.back()->owner != cx.me()) {
      if (job->done)
        job->done("partition " + std::to_string(r.partition) + " is no longer served here");
      return;
    }
  }
  for (size_t i = 0; i < job->rounds.size(); ++i) {
    auto& r = job->rounds[i];
    const uint16_t p = r.partition;
    auto found = st.parts.find(p);
    if (found == st.parts.end() || found->second.epoch != r.epoch) {
      // A new epoch here: what waited on the old one cannot be confirmed by it any more.
      if (found != st.parts.end())
        fail_waiting(cx, p, "partition " + std::to_string(p) + " changed epoch");
      st.parts[p] = replicator_state::partition{r.epoch};
    }
    auto& part = st.parts[p];
    sync_with_record(cx, records[i], part);                   // its owner checked above
    if (part.followers.empty() && !part.switching) continue;  // no backup: nobody to wait for
    w.needs.emplace_back(p, r.epoch, r.lsn);
    for (auto& [node, f] : part.followers) {
      if (f.now == mode::live && f.sent == position{r.prev_epoch, r.prev_lsn}) {
        out[node].push_back(r);
        f.sent = {r.epoch, r.lsn};
      } else if (f.now == mode::probing) {
        ask_state(cx, p, node);
      }
    }
    part.recent_bytes += r.ops.size();
    part.recent.push_back(std::move(r));
    while (part.recent.size() > recent_rounds || part.recent_bytes > recent_bytes) {
      part.recent_bytes -= part.recent.front().ops.size();
      part.recent.pop_front();
    }
  }
  if (w.needs.empty()) {
    if (job->done) job->done("");
    return;
  }
  st.queue.push_back(std::move(w));
  count_waiting(cx);
  for (auto& [node, rounds] : out) send_rounds(cx, node, std::move(rounds));
  complete_ready(cx);  // a partition whose record has no voting backup needs nobody
}

// Every tick: forget partitions this node no longer serves (failing what waits on them), take
// up the pending changes of idle ones, ask lost followers where they are, retry failed
// copies, and make the changes that have become safe.
void on_tick(const context& cx) {
  auto& st = cx.self->state;
  const auto now = clock::now();
  const auto& view = *cx.deps->view;
  for (uint16_t p = 0; p < partition_count; ++p) {
    if (st.parts.contains(p) || view.local_epoch(p) == 0) continue;
    auto r = view.partition(p);
    if (r && r->owner == cx.me() && r->epoch == view.local_epoch(p) && !r->next_replicas.empty())
      st.parts[p] = replicator_state::partition{r->epoch};
  }
  for (auto it = st.parts.begin(); it != st.parts.end();) {
    const uint16_t p = it->first;
    auto& part = it->second;
    if (view.local_epoch(p) != part.epoch || !sync_with_record(cx, view.partition(p), part)) {
      auto next = std::next(it);
      fail_waiting(cx, p, "partition " + std::to_string(p) + " is no longer served here");
      st.parts.erase(it);
      it = next;
      continue;
    }
    for (auto& [node, f] : part.followers)
      if (f.now == mode::probing && now >= f.retry_after) ask_state(cx, p, node);
    maybe_switch(cx, p);
    ++it;
  }
  complete_ready(cx);
}

const char* mode_name(mode m) {
  switch (m) {
    case mode::probing:
      return "probing";
    case mode::live:
      return "live";
    case mode::copying:
      return "copying";
  }
  return "?";
}

// For sbctl and /admin: each replicated partition, its confirmed position and every backup's.
std::string describe(const context& cx) {
  namespace json = boost::json;
  json::array parts;
  for (const auto& [p, part] : cx.self->state.parts) {
    json::array followers;
    for (const auto& [node, f] : part.followers)
      followers.push_back(json::object{
          {"node", node},
          {"voter", std::find(part.voters.begin(), part.voters.end(), node) != part.voters.end()},
          {"mode", mode_name(f.now)},
          {"epoch", f.at.first},
          {"lsn", f.at.second},
          {"lag", f.at.first == part.epoch && part.recent.size()
                      ? part.recent.back().lsn - std::min(part.recent.back().lsn, f.at.second)
                      : 0}});
    parts.push_back(json::object{{"partition", p},
                                 {"epoch", part.epoch},
                                 {"lsn", part.recent.empty() ? 0 : part.recent.back().lsn},
                                 {"confirmed_lsn", confirmed(part).second},
                                 {"switching", part.switching},
                                 {"kept_rounds", part.recent.size()},
                                 {"backups", std::move(followers)}});
  }
  return json::serialize(json::object{{"node", cx.me()},
                                      {"waiting_rounds", cx.self->state.queue.size()},
                                      {"partitions", std::move(parts)}});
}

}  // namespace

caf::behavior replicator(caf::stateful_actor<replicator_state>* self, replicator_deps deps) {
  context cx{self, std::make_shared<replicator_deps>(std::move(deps))};
  self->delayed_send(self, tick_period, rtick_atom::value);
  return {
      [cx](rjob_atom, const replication_job_ptr& job) { on_job(cx, job); },
      [cx](rpeer_atom, const std::string& node, const caf::actor& peer) {
        if (peer)
          cx.self->state.peers[node] = peer;
        else
          cx.self->state.peers.erase(node);
      },
      [cx](rcopied_atom, uint16_t p, const std::string& node, bool ok,
           const storage::replica_state& sent) {
        auto part = cx.self->state.parts.find(p);
        if (part == cx.self->state.parts.end()) return;
        auto& f = part->second.followers[node];
        if (f.now != mode::copying) return;
        if (!ok) {
          f.now = mode::probing;
          f.retry_after = clock::now() + copy_retry;
          return;
        }
        f.at = of(sent);
        catch_up(cx, p, node);
        maybe_switch(cx, p);
        complete_ready(cx);
      },
      [cx](rswitched_atom, uint16_t p, int64_t revision) {
        auto part = cx.self->state.parts.find(p);
        if (part == cx.self->state.parts.end() || !part->second.switching) return;
        if (revision == 0)
          part->second.switching = false;  // refused: the record changed; planned again
        else
          part->second.switched_at = revision;
        sync_with_record(cx, cx.deps->view->partition(p), part->second);  // the view may have it
        complete_ready(cx);
      },
      [cx](rtick_atom) {
        on_tick(cx);
        cx.self->delayed_send(cx.self, tick_period, rtick_atom::value);
      },
      [cx](rinspect_atom) { return describe(cx); },
  };
}

}  // namespace sb::cluster
