#include "cluster/registry.hpp"

namespace sb::cluster {

caf::behavior registry(caf::stateful_actor<registry_state>* self, owner_factory factory) {
  // An owner that stops (idle, or failed storage) is forgotten; the next resolve respawns it
  // and the new owner reloads the stream's state from storage.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (auto it = st.streams_by_owner.find(msg.source); it != st.streams_by_owner.end()) {
      if (auto owner = st.owners.find(it->second);
          owner != st.owners.end() && owner->second.address() == msg.source)
        st.owners.erase(owner);
      st.streams_by_owner.erase(it);
    }
  });
  // Shutdown: the registry takes every owner down with it.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& [stream, owner] : self->state.owners) self->send_exit(owner, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [self, factory](resolve_atom, const std::string& stream) -> caf::result<caf::actor> {
        auto& st = self->state;
        if (auto it = st.owners.find(stream); it != st.owners.end()) return it->second;
        auto owner = factory(self, stream);
        if (!owner) return caf::make_error(caf::sec::invalid_argument, "no owner for " + stream);
        self->monitor(owner);
        st.owners.emplace(stream, owner);
        st.streams_by_owner.emplace(owner.address(), stream);
        return owner;
      },
      [self](count_atom) { return self->state.owners.size(); },
  };
}

}  // namespace sb::cluster
