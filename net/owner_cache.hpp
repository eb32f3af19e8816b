// The stream owners on this node that the bridge has already resolved, so that an order goes
// from the asio thread straight to its merchant actor (actors/local_append.hpp). An entry
// lives exactly as long as its actor: the actor's exit (idle stop, sealed by a partition move,
// failed storage) removes it, and the next append resolves through the registry again, which
// also answers `moved`/`moving` while the partition is elsewhere. Owners on other nodes are
// never cached: their loss is only seen through a monitor, which the registry path keeps.
// Thread-safe; asio threads read it, CAF threads add and remove entries. Held by shared_ptr:
// the exit hooks hold a weak one, so an actor that outlives the cache does not touch it.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

namespace sb::net {

class owner_cache : public std::enable_shared_from_this<owner_cache> {
 public:
  explicit owner_cache(caf::node_id local, size_t capacity = 100'000)
      : local_(std::move(local)), capacity_(capacity) {}
  owner_cache(const owner_cache&) = delete;
  owner_cache& operator=(const owner_cache&) = delete;

  // The live owner of `stream`, or an invalid handle.
  caf::actor find(const std::string& stream) const;
  // Remembers `owner` for `stream` if it runs on this node and the cache has room.
  void remember(const std::string& stream, const caf::actor& owner);
  size_t size() const;

 private:
  void forget(const std::string& stream, const caf::actor_addr& owner);

  const caf::node_id local_;
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, caf::actor> owners_;
};

}  // namespace sb::net
