#include "actors/merchant.hpp"

#include "actors/stream_names.hpp"

namespace sb {

namespace {
using idle_atom = caf::atom_constant<caf::atom("idle")>;
constexpr auto idle_stop = std::chrono::minutes(5);
}  // namespace

caf::behavior merchant(caf::stateful_actor<merchant_state>* self, std::string merchant_id,
                       stream_deps deps) {
  auto& st = self->state;
  st.stream = std::make_unique<durable_stream>(self, orders_stream(merchant_id), deps);
  deps.metrics->stream_actors.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [metrics = deps.metrics] { metrics->stream_actors.fetch_sub(1, std::memory_order_relaxed); });
  self->set_down_handler([self](const caf::down_msg& msg) { self->state.stream->on_down(msg); });
  self->delayed_send(self, idle_stop, idle_atom::value);
  caf::message_handler own{
      [self, deps](append_atom, append_request& req) {
        auto rp = self->make_response_promise();
        req.kind = "order";
        deps.metrics->orders_received.fetch_add(1, std::memory_order_relaxed);
        self->state.stream->append(std::move(req), rp);
        return rp;
      },
      [self](idle_atom) {
        if (self->state.stream->idle())
          self->quit();
        else
          self->delayed_send(self, idle_stop, idle_atom::value);
      },
  };
  return own.or_else(st.stream->handlers());
}

}  // namespace sb
