// What every stream owner (merchant, conversation, inbox) shares around its durable_stream:
// the live-owner gauge, forgetting subscribers that go down, and stopping when idle (the next
// resolve respawns it from storage). Called once from the owner's behavior function.
#pragma once
#include <chrono>

#include "actors/durable_stream.hpp"
#include "actors/interfaces.hpp"
#include "actors/stream_entries.hpp"

namespace sb {

using idle_atom = caf::atom_constant<caf::atom("idle")>;

// `State` has a `std::unique_ptr<durable_stream> stream`. Returns the owner's behavior: its
// own handlers first, then the idle check, then the stream's.
template <class State>
caf::behavior owner_behavior(caf::stateful_actor<State>* self, const stream_deps& deps,
                             caf::message_handler own) {
  deps.metrics->stream_actors.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [metrics = deps.metrics] { metrics->stream_actors.fetch_sub(1, std::memory_order_relaxed); });
  self->set_down_handler([self](const caf::down_msg& msg) { self->state.stream->on_down(msg); });
  // Stops once found idle at two checks in a row (1-2x delivery.owner_idle_stop after its
  // last subscriber left): a short lull does not cost a respawn.
  const auto every = deps.cfg->delivery.owner_idle_stop;
  self->delayed_send(self, every, idle_atom::value, false);
  caf::message_handler idle{[self, every](idle_atom, bool was_idle) {
    self->state.stream->release_idle_memory();
    const bool idle_now = self->state.stream->idle();
    if (idle_now && was_idle) return self->quit();
    self->delayed_send(self, every, idle_atom::value, idle_now);
  }};
  // History pages; owners whose access rules are their own answer entries_atom in `own`.
  caf::message_handler entries{[self, deps](entries_atom, const chat_principal& who,
                                            uint64_t cursor, bool forward, uint32_t limit) {
    return entries_json(*deps.store, self->state.stream->name(), who.sub, cursor, forward, limit);
  }};
  return own.or_else(idle).or_else(entries).or_else(self->state.stream->handlers());
}

}  // namespace sb
