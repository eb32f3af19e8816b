#include "cluster/cluster_view.hpp"

namespace sb::cluster {

cluster_view::cluster_view(std::string self)
    : self_(std::move(self)),
      parts_(partition_count),
      local_epoch_(partition_count, 0),
      sealed_(partition_count, false) {}

std::shared_ptr<cluster_view> cluster_view::standalone_table(std::string self) {
  auto v = std::make_shared<cluster_view>(std::move(self));
  v->clustered_ = false;
  for (uint16_t p = 0; p < partition_count; ++p) {
    v->parts_[p] = partition_record{v->self_, 1, "serving", "", 0};
    v->local_epoch_[p] = 1;
  }
  v->members_[v->self_] = member_record{v->self_, "", ""};
  return v;
}

route cluster_view::route_of(uint16_t p) const {
  std::lock_guard lock(mutex_);
  return route_locked(p);
}

route cluster_view::route_locked(uint16_t p) const {
  const auto& r = parts_[p];
  if (!r) return {route::kind::unavailable, "partition " + std::to_string(p) + " has no owner yet"};
  // A takeover has reserved the next epoch and is choosing the owner: retry shortly.
  if (r->state == "recovering")
    return {route::kind::moving, "partition " + std::to_string(p) + " is being taken over",
            r->epoch};
  if (r->owner == self_) {
    // The storage fence: etcd names us at epoch e, and our own record says we hold e.
    if (local_epoch_[p] != r->epoch || sealed_[p])
      return {route::kind::moving, "partition " + std::to_string(p) + " is moving", r->epoch};
    return {route::kind::local, self_, r->epoch};
  }
  if (!members_.contains(r->owner) || !responsive_locked(r->owner))
    return {route::kind::unavailable, "owner node " + r->owner + " is unavailable", r->epoch};
  return {route::kind::remote, r->owner, r->epoch};
}

void cluster_view::set_partition(uint16_t p, std::optional<partition_record> r) {
  std::lock_guard lock(mutex_);
  parts_[p] = std::move(r);
}

void cluster_view::set_member(const std::string& id, std::optional<member_record> m) {
  std::lock_guard lock(mutex_);
  if (m)
    members_[id] = std::move(*m);
  else
    members_.erase(id);
}

void cluster_view::set_draining(const std::string& id, bool draining) {
  std::lock_guard lock(mutex_);
  if (draining)
    draining_[id] = true;
  else
    draining_.erase(id);
}

void cluster_view::set_controller(std::string id) {
  std::lock_guard lock(mutex_);
  controller_ = std::move(id);
}

void cluster_view::set_peer_connected(const std::string& id, bool connected) {
  std::lock_guard lock(mutex_);
  auto& link = peers_[id];
  if (connected && !link.connected) link.answered = clock::now();
  link.connected = connected;
}

void cluster_view::set_peer_answered(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (auto it = peers_.find(id); it != peers_.end()) it->second.answered = clock::now();
}

void cluster_view::set_liveness(liveness l) {
  std::lock_guard lock(mutex_);
  liveness_ = l;
}

liveness cluster_view::liveness_settings() const {
  std::lock_guard lock(mutex_);
  return liveness_;
}

void cluster_view::set_local_epoch(uint16_t p, uint64_t epoch) {
  std::lock_guard lock(mutex_);
  local_epoch_[p] = epoch;
}

void cluster_view::set_sealed(uint16_t p, bool sealed) {
  std::lock_guard lock(mutex_);
  sealed_[p] = sealed;
}

std::optional<partition_record> cluster_view::partition(uint16_t p) const {
  std::lock_guard lock(mutex_);
  return parts_[p];
}

std::vector<std::optional<partition_record>> cluster_view::partitions() const {
  std::lock_guard lock(mutex_);
  return parts_;
}

std::map<std::string, member_record> cluster_view::members() const {
  std::lock_guard lock(mutex_);
  return members_;
}

std::optional<member_record> cluster_view::member(const std::string& id) const {
  std::lock_guard lock(mutex_);
  if (auto it = members_.find(id); it != members_.end()) return it->second;
  return std::nullopt;
}

bool cluster_view::draining(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return draining_.contains(id);
}

std::vector<std::string> cluster_view::draining_nodes() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, on] : draining_) out.push_back(id);
  return out;
}

std::string cluster_view::controller() const {
  std::lock_guard lock(mutex_);
  return controller_;
}

bool cluster_view::peer_connected(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.connected;
}

bool cluster_view::peer_responsive(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return responsive_locked(id);
}

bool cluster_view::responsive_locked(const std::string& id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.connected &&
         clock::now() - it->second.answered < liveness_.unresponsive_after;
}

std::chrono::milliseconds cluster_view::peer_silence(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(id);
  if (it == peers_.end() || !it->second.connected) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - it->second.answered);
}

uint64_t cluster_view::local_epoch(uint16_t p) const {
  std::lock_guard lock(mutex_);
  return local_epoch_[p];
}

bool cluster_view::complete() const {
  std::lock_guard lock(mutex_);
  for (const auto& r : parts_)
    if (!r) return false;
  return true;
}

std::vector<uint16_t> cluster_view::served() const {
  std::lock_guard lock(mutex_);
  std::vector<uint16_t> out;
  for (uint16_t p = 0; p < partition_count; ++p)
    if (route_locked(p).what == route::kind::local) out.push_back(p);
  return out;
}

bool cluster_view::serves(uint16_t p) const {
  return route_of(p).what == route::kind::local;
}

}  // namespace sb::cluster
