#include "net/owner_cache.hpp"

namespace sb::net {

caf::actor owner_cache::find(const std::string& stream) const {
  std::lock_guard guard{mutex_};
  auto it = owners_.find(stream);
  return it == owners_.end() ? caf::actor{} : it->second;
}

void owner_cache::remember(const std::string& stream, const caf::actor& owner) {
  if (!owner || owner.node() != local_) return;
  {
    std::lock_guard guard{mutex_};
    if (owners_.size() >= capacity_ && !owners_.contains(stream)) return;
    auto [it, inserted] = owners_.try_emplace(stream, owner);
    if (!inserted) {
      if (it->second == owner) return;  // already remembered, with its exit hook
      it->second = owner;
    }
  }
  // Attached outside the lock: an actor that has already exited runs the functor at once.
  // The functor holds the address only, so the entry does not keep the actor alive.
  owner->attach_functor([cache = weak_from_this(), stream, addr = owner.address()] {
    if (auto alive = cache.lock()) alive->forget(stream, addr);
  });
}

size_t owner_cache::size() const {
  std::lock_guard guard{mutex_};
  return owners_.size();
}

void owner_cache::forget(const std::string& stream, const caf::actor_addr& owner) {
  std::lock_guard guard{mutex_};
  auto it = owners_.find(stream);
  if (it != owners_.end() && it->second.address() == owner) owners_.erase(it);
}

}  // namespace sb::net
