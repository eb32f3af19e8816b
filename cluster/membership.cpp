#include "cluster/membership.hpp"

#include <cstdio>

#include "cluster/etcd_keys.hpp"

namespace sb::cluster {

namespace {

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: cluster: %s\n", line.c_str());
}

// Sleeps up to `d`, waking early when `stopping` is set.
void nap(const std::atomic<bool>& stopping, std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopping && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

membership::membership(etcd_client& etcd, std::shared_ptr<cluster_view> view, options opts,
                       std::function<void(uint16_t)> on_partition)
    : etcd_(etcd),
      view_(std::move(view)),
      opts_(std::move(opts)),
      on_partition_(std::move(on_partition)) {}

membership::~membership() {
  stop();
}

std::string membership::start() {
  std::string error;
  // The partition count is a cluster invariant: every key is placed by it.
  const auto count_key = etcd_keys::partition_count_key(opts_.prefix);
  const std::string count = std::to_string(partition_count);
  auto created = etcd_.txn({{count_key, etcd_compare::target::create, 0, ""}},
                           {{etcd_op::kind::put, count_key, count, 0, false}}, {}, error);
  if (!created) return "etcd: " + error;
  if (!created->succeeded) {
    auto existing = etcd_.range(count_key, false, error);
    if (!existing) return "etcd: " + error;
    if (existing->kvs.empty() || existing->kvs[0].value != count)
      return "the cluster under " + opts_.prefix + " has " +
             (existing->kvs.empty() ? "?" : existing->kvs[0].value) +
             " partitions; this build has " + count;
  }
  if (auto err = register_member(error); !err.empty()) return err;
  const int64_t from = relist();
  if (from == 0) return "etcd: cannot list the cluster's keys";
  joined_ = true;
  keepalive_ = std::thread([this] { keepalive_loop(); });
  watcher_ = std::thread([this, from] { watch_loop(from); });
  return "";
}

std::string membership::register_member(std::string& error) {
  auto lease = etcd_.lease_grant(opts_.lease_ttl, error);
  if (!lease) return "etcd: " + error;
  if (!etcd_.put(etcd_keys::member_key(opts_.prefix, opts_.self.id),
                 etcd_keys::member_json(opts_.self), *lease, error))
    return "etcd: " + error;
  lease_ = *lease;
  return "";
}

void membership::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(watch_mutex_);
    if (watch_) watch_->stop();
  }
  if (keepalive_.joinable()) keepalive_.join();
  if (watcher_.joinable()) watcher_.join();
  std::string error;
  if (lease_) etcd_.lease_revoke(lease_, error);
}

void membership::keepalive_loop() {
  const auto every = std::chrono::milliseconds(opts_.lease_ttl) / 3;
  while (!stopping_) {
    nap(stopping_, every);
    if (stopping_) break;
    std::string error;
    if (etcd_.lease_keepalive(lease_, error)) continue;
    // The lease is gone (etcd unreachable for longer than the TTL): register again. Routing
    // saw us as down meanwhile; ownership did not change.
    log("lease keepalive failed (" + error + "); registering again");
    if (auto err = register_member(error); !err.empty()) log(err);
  }
}

int64_t membership::relist() {
  std::string error;
  auto all = etcd_.range(opts_.prefix + "/", true, error);
  if (!all) {
    log("listing failed: " + error);
    return 0;
  }
  // Forget what is no longer there, then apply what is.
  for (const auto& [id, m] : view_->members()) view_->set_member(id, std::nullopt);
  for (const auto& id : view_->draining_nodes()) view_->set_draining(id, false);
  view_->set_controller("");
  std::vector<bool> present(partition_count, false);
  for (const auto& kv : all->kvs) {
    auto k = etcd_keys::parse_key(opts_.prefix, kv.key);
    if (k.what == etcd_keys::parsed_key::kind::partition) present[k.partition] = true;
    apply(kv, false);
  }
  for (uint16_t p = 0; p < partition_count; ++p)
    if (!present[p] && view_->partition(p)) {
      view_->set_partition(p, std::nullopt);
      on_partition_(p);
    }
  return all->revision + 1;
}

void membership::watch_loop(int64_t from) {
  const auto& endpoints = etcd_.endpoints();
  size_t endpoint = 0;
  while (!stopping_) {
    etcd_watch watch(endpoints[endpoint % endpoints.size()], opts_.prefix + "/", from);
    {
      std::lock_guard lock(watch_mutex_);
      if (stopping_) break;
      watch_ = &watch;
    }
    auto end = watch.run([&](const std::vector<etcd_event>& events, int64_t revision) {
      for (const auto& e : events) apply(e.kv, e.what == etcd_event::type::del);
      from = revision + 1;
    });
    {
      std::lock_guard lock(watch_mutex_);
      watch_ = nullptr;
    }
    if (stopping_ || end.reason == etcd_watch::end_reason::stopped) break;
    if (end.reason == etcd_watch::end_reason::failed) {
      log("watch ended: " + end.error);
      ++endpoint;
      nap(stopping_, std::chrono::milliseconds(300));
    }
    // Compacted, canceled or lost: events may be missing, so list everything again.
    while (!stopping_) {
      if (int64_t next = relist(); next != 0) {
        from = next;
        break;
      }
      nap(stopping_, std::chrono::milliseconds(500));
    }
  }
}

void membership::apply(const etcd_kv& kv, bool deleted) {
  auto k = etcd_keys::parse_key(opts_.prefix, kv.key);
  using kind = etcd_keys::parsed_key::kind;
  switch (k.what) {
    case kind::member:
      view_->set_member(k.node, deleted ? std::nullopt : etcd_keys::parse_member(kv.value));
      break;
    case kind::drain:
      view_->set_draining(k.node, !deleted);
      break;
    case kind::controller:
      view_->set_controller(deleted ? "" : kv.value);
      break;
    case kind::partition: {
      std::optional<partition_record> r;
      if (!deleted) {
        r = etcd_keys::parse_partition(kv.value);
        if (!r) log("ignoring a malformed record at " + kv.key);
        if (r) r->mod_revision = kv.mod_revision;
      }
      view_->set_partition(k.partition, r);
      on_partition_(k.partition);
      break;
    }
    case kind::other:
      break;
  }
}

}  // namespace sb::cluster
