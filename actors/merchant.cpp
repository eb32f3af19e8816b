#include "actors/merchant.hpp"

#include <boost/json.hpp>

#include "actors/local_append.hpp"
#include "actors/order_status.hpp"
#include "actors/owner_support.hpp"
#include "actors/stream_names.hpp"

namespace sb {

namespace {

using self_ptr = caf::stateful_actor<merchant_state>*;
constexpr size_t max_cached_statuses = 4096;

// Who asked for an append: a request (answered through its promise) or, from this node's
// HTTP layer, a local_append (answered through its callback).
using requester = durable_stream::waiter;

void refuse(requester& who, caf::error err) {
  durable_stream::answer(who, std::move(err));
}

// Appends an order's next status; the HTTP layer checked who asks and the field shapes.
void set_status(self_ptr self, const stream_deps& deps, append_request req, requester rp) {
  auto& st = self->state;
  auto data = boost::json::parse(req.data).as_object();
  const std::string order_id(data.at("order_id").as_string());
  const std::string status(data.at("status").as_string());
  std::optional<std::string> current;
  if (auto it = st.statuses.find(order_id); it != st.statuses.end())
    current = it->second;
  else
    current = order_status::find(*deps.store, st.stream->name(), order_id);
  if (!current)
    return refuse(rp, make_error(stream_errc::not_found,
                                 "no order " + order_id + " among the merchant's recent orders"));
  const auto allowed = order_status::next(*current);
  if (status != allowed)
    return refuse(
        rp, make_error(stream_errc::invalid_field,
                       "order " + order_id + " is " + *current +
                           (allowed.empty() ? " (final)" : "; its next status is " + allowed) +
                           " (new -> accepted -> done)"));
  if (st.statuses.size() >= max_cached_statuses) st.statuses.clear();
  st.statuses[order_id] = status;  // a failed write stops this actor, and the cache with it
  st.stream->append_for(std::move(req), std::move(rp));
}

// An order, or the next status of one.
void accept(self_ptr self, const stream_deps& deps, append_request req, requester who) {
  if (req.kind == "order_status") return set_status(self, deps, std::move(req), std::move(who));
  req.kind = "order";
  deps.metrics->orders_received.fetch_add(1, std::memory_order_relaxed);
  self->state.stream->append_for(std::move(req), std::move(who));
}

}  // namespace

caf::behavior merchant(caf::stateful_actor<merchant_state>* self, std::string merchant_id,
                       stream_deps deps) {
  self->state.stream = std::make_unique<durable_stream>(self, orders_stream(merchant_id), deps);
  caf::message_handler own{[self, deps](append_atom, append_request& req) {
                             auto rp = self->make_response_promise();
                             accept(self, deps, std::move(req), rp);
                             return rp;
                           },
                           [self, deps](append_atom, local_append& msg) {
                             append_request req;
                             append_done done;
                             if (msg.take(req, done))
                               accept(self, deps, std::move(req),
                                      durable_stream::caller_callback{std::move(done)});
                           }};
  return owner_behavior(self, deps, std::move(own));
}

}  // namespace sb
