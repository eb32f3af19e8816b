#include "actors/routing.hpp"

#include <algorithm>

namespace sb::chat {

router::router(strategy s) : strategy_(s) {}

void router::set_strategy(strategy s) {
  strategy_ = s;
}

std::optional<std::vector<assignment>> router::enrol(const std::string& agent, uint32_t weight,
                                                     uint32_t max_concurrent, time_point now) {
  if (weight == 0 || max_concurrent == 0) return std::nullopt;
  if (agent_info* a = find(agent)) {
    a->weight = weight;
    a->max_concurrent = max_concurrent;
    return drain(now);
  }
  index_.emplace(agent, agents_.size());
  agents_.push_back(agent_info{.id = agent,
                               .weight = weight,
                               .max_concurrent = max_concurrent,
                               .state = presence::offline,
                               .convs = {},
                               .idle_since = now,
                               .offline_since = now,
                               .enrol_order = agents_.size()});
  // A new agent is offline, so it cannot take anything yet.
  return std::vector<assignment>{};
}

bool router::enrolled(const std::string& agent) const {
  return index_.contains(agent);
}

std::vector<assignment> router::set_presence(const std::string& agent, presence p, time_point now) {
  agent_info* a = find(agent);
  if (a == nullptr || a->state == p) return {};
  a->state = p;
  switch (p) {
    case presence::offline:
      a->offline_since = now;
      return {};
    case presence::away:
      return {};
    case presence::online:
      a->idle_since = now;
      return drain(now);
  }
  return {};
}

std::optional<assignment> router::route(const std::string& conv, time_point now) {
  if (owner_.contains(conv) || queued_.contains(conv)) return std::nullopt;
  // By the invariant nobody queued could take a candidate's slot, so a candidate may be used
  // without looking at the queue.
  if (agent_info* a = pick(nullptr)) return assign(conv, *a, now);
  queue_.push_back(conv);
  queued_.emplace(conv, std::string());
  return std::nullopt;
}

std::vector<assignment> router::release(const std::string& conv, time_point now) {
  if (owner_.contains(conv)) {
    unassign(conv);
    return drain(now);
  }
  if (queued_.erase(conv) != 0) std::erase(queue_, conv);
  // Leaving the queue frees no capacity: nothing to drain.
  return {};
}

std::variant<std::vector<assignment>, std::string> router::transfer(const std::string& conv,
                                                                    const std::string& to,
                                                                    time_point now) {
  const auto it = owner_.find(conv);
  if (it == owner_.end()) return std::string("not_assigned");
  const std::string from = it->second;
  if (to.empty()) {
    unassign(conv);
    queue_.push_front(conv);
    queued_.emplace(conv, from);
    // The drain starts at the head, so offering the conversation to another candidate comes
    // first; the slot freed on `from` then goes to whoever is next in line.
    return drain(now);
  }
  agent_info* target = find(to);
  if (target == nullptr) return std::string("no_such_agent");
  if (to == from || !candidate(*target)) return std::string("agent_unavailable");
  unassign(conv);
  std::vector<assignment> out{assign(conv, *target, now)};
  std::vector<assignment> drained = drain(now);
  out.insert(out.end(), std::make_move_iterator(drained.begin()),
             std::make_move_iterator(drained.end()));
  return out;
}

std::variant<assignment, std::string> router::take(const std::string& conv,
                                                   const std::string& agent, time_point now) {
  const auto pos = std::find(queue_.begin(), queue_.end(), conv);
  if (pos == queue_.end()) return std::string("not_queued");
  agent_info* a = find(agent);
  if (a == nullptr) return std::string("no_such_agent");
  if (a->state == presence::offline || a->convs.size() >= a->max_concurrent)
    return std::string("agent_unavailable");
  queue_.erase(pos);
  queued_.erase(conv);
  return assign(conv, *a, now);
}

std::pair<std::vector<requeued>, std::vector<assignment>> router::expire_offline(
    std::chrono::milliseconds grace, time_point now) {
  std::vector<requeued> taken;
  std::vector<std::string> convs;
  for (agent_info& a : agents_) {
    if (a.state != presence::offline || a.convs.empty() || now - a.offline_since <= grace) {
      continue;
    }
    for (std::string& conv : a.convs) {
      owner_.erase(conv);
      taken.push_back(requeued{conv, a.id});
      convs.push_back(std::move(conv));
    }
    a.convs.clear();
  }
  if (taken.empty()) return {};
  enqueue_front(std::move(convs));
  return {std::move(taken), drain(now)};
}

size_t router::position(const std::string& conv) const {
  if (!queued_.contains(conv)) return 0;
  return static_cast<size_t>(std::find(queue_.begin(), queue_.end(), conv) - queue_.begin()) + 1;
}

std::optional<std::string> router::agent_of(const std::string& conv) const {
  const auto it = owner_.find(conv);
  if (it == owner_.end()) return std::nullopt;
  return it->second;
}

const agent_info* router::agent(const std::string& id) const {
  const auto it = index_.find(id);
  return it == index_.end() ? nullptr : &agents_[it->second];
}

std::vector<const agent_info*> router::agents() const {
  std::vector<const agent_info*> out;
  out.reserve(agents_.size());
  for (const agent_info& a : agents_) out.push_back(&a);
  return out;
}

agent_info* router::find(const std::string& id) {
  const auto it = index_.find(id);
  return it == index_.end() ? nullptr : &agents_[it->second];
}

bool router::candidate(const agent_info& a) const {
  return a.state == presence::online && a.convs.size() < a.max_concurrent;
}

agent_info* router::pick(const std::string* excluded) {
  return strategy_ == strategy::weighted_least_load ? pick_least_load(excluded)
                                                    : pick_round_robin(excluded);
}

agent_info* router::pick_least_load(const std::string* excluded) {
  agent_info* best = nullptr;
  for (agent_info& a : agents_) {
    if (!candidate(a) || (excluded != nullptr && a.id == *excluded)) continue;
    if (best == nullptr) {
      best = &a;
      continue;
    }
    // a.load / a.weight against best.load / best.weight, cross-multiplied so that equal
    // ratios compare equal; the products fit: both factors are below 2^32.
    const uint64_t mine = static_cast<uint64_t>(a.convs.size()) * best->weight;
    const uint64_t theirs = static_cast<uint64_t>(best->convs.size()) * a.weight;
    // Iterating in enrolment order settles the last tie: the earlier agent stays best.
    if (mine < theirs || (mine == theirs && a.idle_since < best->idle_since)) best = &a;
  }
  return best;
}

agent_info* router::pick_round_robin(const std::string* excluded) {
  const size_t n = agents_.size();
  const size_t start = last_assigned_ ? *last_assigned_ + 1 : 0;
  for (size_t i = 0; i < n; ++i) {
    agent_info& a = agents_[(start + i) % n];
    if (candidate(a) && (excluded == nullptr || a.id != *excluded)) return &a;
  }
  return nullptr;
}

assignment router::assign(const std::string& conv, agent_info& a, time_point now) {
  a.convs.push_back(conv);
  a.idle_since = now;
  owner_[conv] = a.id;
  last_assigned_ = index_.at(a.id);
  return assignment{conv, a.id};
}

void router::unassign(const std::string& conv) {
  const auto it = owner_.find(conv);
  std::erase(find(it->second)->convs, conv);
  owner_.erase(it);
}

void router::enqueue_front(std::vector<std::string> convs) {
  for (const std::string& conv : convs) queued_.emplace(conv, std::string());
  queue_.insert(queue_.begin(), std::make_move_iterator(convs.begin()),
                std::make_move_iterator(convs.end()));
}

// Assigns queued conversations in FIFO order while there is a candidate. A conversation whose
// only candidate is the agent that sent it back stays queued, in place, and the walk goes on:
// at most one agent is excluded per conversation, so the skipped ones cannot starve the rest.
std::vector<assignment> router::drain(time_point now) {
  std::vector<assignment> out;
  std::deque<std::string> skipped;
  while (!queue_.empty() && pick(nullptr) != nullptr) {
    std::string conv = std::move(queue_.front());
    queue_.pop_front();
    const auto it = queued_.find(conv);
    const std::string* excluded = it->second.empty() ? nullptr : &it->second;
    if (agent_info* a = pick(excluded)) {
      queued_.erase(it);
      out.push_back(assign(conv, *a, now));
    } else {
      skipped.push_back(std::move(conv));
    }
  }
  queue_.insert(queue_.begin(), std::make_move_iterator(skipped.begin()),
                std::make_move_iterator(skipped.end()));
  return out;
}

}  // namespace sb::chat
