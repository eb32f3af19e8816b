#include "actors/merchant.hpp"

#include "actors/owner_support.hpp"
#include "actors/stream_names.hpp"

namespace sb {

caf::behavior merchant(caf::stateful_actor<merchant_state>* self, std::string merchant_id,
                       stream_deps deps) {
  self->state.stream = std::make_unique<durable_stream>(self, orders_stream(merchant_id), deps);
  caf::message_handler own{[self, deps](append_atom, append_request& req) {
    auto rp = self->make_response_promise();
    req.kind = "order";
    deps.metrics->orders_received.fetch_add(1, std::memory_order_relaxed);
    self->state.stream->append(std::move(req), rp);
    return rp;
  }};
  return owner_behavior(self, deps, std::move(own));
}

}  // namespace sb
