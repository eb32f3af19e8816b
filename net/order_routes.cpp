// POST /api/orders/{order_id}/status (docs/PROTOCOL.md, "Order status"): the merchant moves one
// of its orders from new to accepted to done. This file checks who asks and the body; the
// merchant actor checks the order and the step (actors/merchant.hpp).
#include <boost/json.hpp>

#include "actors/stream_names.hpp"
#include "codec/frames.hpp"
#include "net/http_api.hpp"
#include "net/http_support.hpp"

namespace sb::net {

void http_api::order_status(const http_request& req, const codec::principal& p,
                            const std::string& order_id, responder reply) {
  if (p.role != "merchant")
    return reply(json_error(403, "forbidden", "only the merchant sets its orders' status"));
  if (!codec::valid_id(order_id))  // an id no order can have
    return reply(json_error(404, "not_found", "no such order"));
  auto body = object_body(req, cfg_);
  if (auto* r = std::get_if<http_response>(&body)) return reply(std::move(*r));
  const auto* status = std::get<boost::json::object>(body).if_contains("status");
  if (!status || !status->is_string() ||
      (status->get_string() != "accepted" && status->get_string() != "done"))
    return reply(json_error(400, "invalid_field", "status: \"accepted\" or \"done\""));
  boost::json::object data{{"order_id", order_id}, {"status", *status}, {"by", p.sub}};
  actors_.append(orders_stream(p.mid),
                 append_request{"order_status", boost::json::serialize(data), ""},
                 [reply, order_id,
                  status = std::string(status->get_string())](caf::expected<append_result> r) {
                   if (!r) return reply(error_response(r.error()));
                   boost::json::object out{{"order_id", order_id},
                                           {"status", status},
                                           {"stream", r->stream},
                                           {"seq", r->seq},
                                           {"id", r->id}};
                   reply(json_ok(200, boost::json::serialize(out)));
                 });
}

}  // namespace sb::net
