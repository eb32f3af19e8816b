#include "actors/inbox.hpp"

#include "actors/owner_support.hpp"
#include "actors/stream_names.hpp"

namespace sb {

caf::behavior inbox(caf::stateful_actor<inbox_state>* self, std::string principal,
                    stream_deps deps) {
  self->state.stream = std::make_unique<durable_stream>(self, inbox_stream(principal), deps);
  caf::message_handler own{[self](append_atom, append_request& req) {
    auto rp = self->make_response_promise();
    self->state.stream->append(std::move(req), rp);
    return rp;
  }};
  return owner_behavior(self, deps, std::move(own));
}

}  // namespace sb
