#include "cluster/handoff.hpp"

#include <algorithm>
#include <cstdio>
#include <future>
#include <thread>

#include "cluster/etcd_keys.hpp"
#include "cluster/registry.hpp"
#include "cluster/replica_sets.hpp"

namespace sb::cluster {

namespace {

constexpr auto step_timeout = std::chrono::seconds(10);
// How long a committed move waits for this node's watch to show it before unsealing.
constexpr auto view_patience = std::chrono::seconds(2);

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: handoff: %s\n", line.c_str());
}

}  // namespace

handoff::handoff(etcd_client& etcd, std::shared_ptr<cluster_view> view, deps d)
    : etcd_(etcd), view_(std::move(view)), deps_(std::move(d)) {}

handoff::~handoff() {
  stop();
}

void handoff::start() {
  for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
}

void handoff::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void handoff::schedule(uint16_t p) {
  {
    std::lock_guard lock(mutex_);
    // Once per partition at a time: a move already queued or running covers the update.
    if (running_.contains(p) || !queued_.insert(p).second) return;
    queue_.push_back(p);
  }
  wake_.notify_all();
}

void handoff::loop() {
  for (;;) {
    uint16_t p = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      p = queue_.front();
      queue_.pop_front();
      queued_.erase(p);
      running_.insert(p);
    }
    move(p);
    std::lock_guard lock(mutex_);
    running_.erase(p);
  }
}

void handoff::move(uint16_t p) {
  auto r = view_->partition(p);
  if (!r || r->owner != view_->self() || r->state != "moving") return;
  auto to = view_->member(r->to);
  if (!to || r->to == view_->self()) {
    log("partition " + std::to_string(p) + ": target " + r->to + " is gone; staying");
    return put_back(p, *r);
  }
  const auto started = std::chrono::steady_clock::now();
  // Seal: no new owner here, the running ones stop, and everything they had accepted is
  // durable before the copy starts.
  view_->set_sealed(p, true);
  bool sealed = false;
  {
    caf::scoped_actor self{*deps_.sys};
    self->request(deps_.registry, step_timeout, seal_atom::value, p)
        .receive([&](bool) { sealed = true; }, [&](caf::error&) {});
  }
  // Whatever still reaches the storage now fails instead of landing after the copy; the
  // barrier then waits for what was accepted before.
  deps_.store->set_writable(partition_id{p}, false);
  std::promise<void> barrier;
  deps_.commit->submit({}, [&barrier](const std::string&) { barrier.set_value(); });
  const bool flushed = barrier.get_future().wait_for(step_timeout) == std::future_status::ready;
  storage::replica_state sent;
  std::string error = !sealed    ? "owners did not stop"
                      : !flushed ? "group commit barrier timed out"
                                 : transfer(p, r->epoch + 1, to->http, sent);
  // Closed to writes, the partition cannot have moved on since the copy was taken.
  if (const auto now = deps_.store->replica(partition_id{p}); error.empty() && sent.behind(now))
    error = "BUG: written after the copy (lsn " + std::to_string(sent.last_lsn) + " copied, " +
            std::to_string(now.last_lsn) + " stored)";
  if (!error.empty()) {
    log("partition " + std::to_string(p) + " to " + r->to + " failed: " + error);
    if (deps_.metrics)
      deps_.metrics->cluster_handoff_failures.fetch_add(1, std::memory_order_relaxed);
    put_back(p, *r);
    reopen(p);
    return;
  }
  // The one commit point: only if nobody changed the record meanwhile. The new owner joins
  // the replicas, and the old ones stay replicas — they hold what was acknowledged before the
  // move — until the new owner has caught up the copies of its own rendezvous order
  // (next_replicas) and switched to them.
  std::vector<std::string> candidates;
  for (const auto& [id, m] : view_->members())
    if (!view_->draining(id)) candidates.push_back(id);
  partition_record next{r->to, r->epoch + 1, "serving", "", 0, {{r->to, to->storage}}};
  for (const auto& ref : r->replicas)
    if (ref.node != r->to) next.replicas.push_back(ref);
  next.next_replicas =
      choose_replicas(p, r->to, std::move(candidates), view_->members(), deps_.replication_factor);
  if (same_nodes(next.next_replicas, next.replicas)) next.next_replicas.clear();
  const auto key = etcd_keys::partition_key(deps_.prefix, p);
  auto done =
      etcd_.txn({{key, etcd_compare::target::mod, r->mod_revision, ""}},
                {{etcd_op::kind::put, key, etcd_keys::partition_json(next), 0, false}}, {}, error);
  if (!done || !done->succeeded) {
    // Unknown or refused: stay sealed until etcd says who owns it (the watch re-runs this).
    log("partition " + std::to_string(p) + ": commit " + (done ? "refused" : "failed: " + error));
    if (auto now = view_->partition(p);
        now && now->owner == view_->self() && now->state == "serving")
      reopen(p);
    return;
  }
  // Unsealed only once this node's view has the committed record: until the watch delivers
  // it, the view still names this node the owner at the old epoch, and a resolve would spawn
  // an owner here that appends on the copy left behind (the store refuses those writes now,
  // but the client would get an error instead of waiting for the new owner).
  const auto view_deadline = std::chrono::steady_clock::now() + view_patience;
  for (;;) {
    auto seen = view_->partition(p);
    if (!seen || seen->epoch > r->epoch || seen->owner != view_->self()) break;
    if (std::chrono::steady_clock::now() >= view_deadline) {
      log("partition " + std::to_string(p) + ": the watch has not shown the move yet");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Still a copy of the new owner's: the records stay, and its rounds continue from them.
  if (!next.keeps_copy(view_->self()))
    if (auto err = deps_.store->drop_partition(partition_id{p}); !err.empty())
      log("partition " + std::to_string(p) + ": dropping the moved records failed: " + err);
  view_->set_sealed(p, false);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  if (deps_.metrics) {
    deps_.metrics->cluster_handoffs.fetch_add(1, std::memory_order_relaxed);
    deps_.metrics->handoff_duration.observe(ms / 1000.0);
  }
  log("partition " + std::to_string(p) + " moved to " + r->to + " at epoch " +
      std::to_string(r->epoch + 1) + " in " + std::to_string(ms) + " ms");
}

std::string handoff::transfer(uint16_t p, uint64_t epoch, const std::string& to_http,
                              storage::replica_state& sent) {
  return partition_copy::send(*deps_.store, deps_.secret, "import", p, epoch, to_http, sent);
}

void handoff::reopen(uint16_t p) {
  deps_.store->set_writable(partition_id{p}, true);
  view_->set_sealed(p, false);
}

void handoff::put_back(uint16_t p, const partition_record& r) {
  partition_record back = r;
  back.state = "serving";
  back.to.clear();
  std::string error;
  const auto key = etcd_keys::partition_key(deps_.prefix, p);
  etcd_.txn({{key, etcd_compare::target::mod, r.mod_revision, ""}},
            {{etcd_op::kind::put, key, etcd_keys::partition_json(back), 0, false}}, {}, error);
}

partition_copy::answer handoff::receive(const partition_copy::chunk_params& c,
                                        const std::string& signature, const std::string& body) {
  const uint16_t p = c.partition;
  // Only the move etcd describes: to this node, committing the next epoch.
  auto admit = [&]() -> std::optional<partition_copy::answer> {
    auto r = view_->partition(p);
    if (!r || r->state != "moving" || r->to != view_->self() || r->epoch + 1 != c.epoch)
      return partition_copy::answer{
          409, R"({"error":"conflict","message":"no such move to this node"})"};
    return std::nullopt;
  };
  auto fence = [&] { return deps_.store->set_partition_epoch(partition_id{p}, c.epoch); };
  return partition_copy::receive(*deps_.store, deps_.secret, c, signature, body, admit, fence);
}

}  // namespace sb::cluster
