// The per-node registry: the only way to reach the actor that owns a stream. `resolve` finds
// the owner of a stream key or spawns it on first use (exactly one owner per key on this
// node). Today every owner is local; the cluster step places owners on other nodes by
// partition and returns remote handles here, without touching connections or owners.
#pragma once
#include <functional>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

namespace sb::cluster {

using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

// Spawns the owner of `stream` (e.g. a merchant actor for "orders:m1"), or returns an
// invalid handle when no actor kind owns such a stream.
using owner_factory =
    std::function<caf::actor(caf::local_actor* parent, const std::string& stream)>;

struct registry_state {
  std::unordered_map<std::string, caf::actor> owners;
  std::unordered_map<caf::actor_addr, std::string> streams_by_owner;
  static inline const char* name = "sb.registry";
};

// Messages:
//   (resolve_atom, std::string stream) -> caf::actor   (error sec::invalid_argument if no owner
//   kind) (count_atom) -> size_t                               live owners on this node
caf::behavior registry(caf::stateful_actor<registry_state>* self, owner_factory factory);

}  // namespace sb::cluster
