// The cluster's HTTP routes: /readyz, the internal handoff endpoint (other nodes, signed with
// the shared auth.secret), and the admin endpoints sbctl reads (admins only): /admin/nodes,
// /admin/nodes/{id}/drain, /admin/actors[?kind=], /admin/actors/{kind}/{id},
// /admin/streams/{stream}, /admin/replication (replication_routes.cpp). Any node answers them,
// gathering from the others.
#include <boost/json.hpp>

#include "actors/stream_names.hpp"
#include "base/actor_kinds.hpp"
#include "cluster/registry.hpp"
#include "net/http_support.hpp"

namespace sb::net {

namespace {

namespace json = boost::json;
constexpr auto admin_timeout = std::chrono::seconds(5);

// The stream key of an actor named by kind and id (sbctl's "merchant/m1"), or "".
std::string key_of(const std::string& kind, const std::string& id) {
  auto k = kind_named(kind);
  return id.empty() || !k ? "" : sb::key_of(*k, id);
}

std::string node_state(const cluster::cluster_view& view, const std::string& id, bool alive) {
  if (!alive) return "down";
  return view.draining(id) ? "draining" : "up";
}

}  // namespace

http_response http_api::readiness() const {
  const auto* node = actors_.cluster_node();
  const bool ready = actors_.view() && (!actors_.view()->clustered() || (node && node->ready()));
  if (!ready)
    return json_error(503, "not_ready", "the node has not joined the cluster or lacks owners");
  return json_ok(200, R"({"status":"ready"})");
}

void http_api::cluster_route(const http_request& req, const target_parts& parts, responder reply) {
  const auto seg = path_segments(parts.path);
  const auto& m = req.method;
  if (seg.size() == 4 && seg[0] == "internal" && seg[1] == "partitions" &&
      (seg[3] == "import" || seg[3] == "replica")) {
    if (m != "POST") return reply(json_error(405, "method_not_allowed", "use POST"));
    return import_chunk(req, parts, seg[2], seg[3], std::move(reply));
  }
  auto who = jwt_principal(req);
  if (auto* r = std::get_if<http_response>(&who)) return reply(std::move(*r));
  auto& p = std::get<codec::principal>(who);
  if (p.role != "admin" || p.mid != "*")
    return reply(json_error(403, "forbidden", "only admins of every merchant inspect the cluster"));
  if (seg.size() == 2 && seg[1] == "nodes") {
    if (m == "GET") return list_nodes(std::move(reply));
  } else if (seg.size() == 2 && seg[1] == "replication") {
    if (m == "GET") return list_replication(std::move(reply));
  } else if (seg.size() == 4 && seg[1] == "nodes" && seg[3] == "drain") {
    if (m == "POST" || m == "DELETE") return drain_node(seg[2], m == "POST", std::move(reply));
  } else if (seg.size() == 2 && seg[1] == "actors") {
    if (m == "GET") return list_actors(parts, std::move(reply));
  } else if (seg.size() == 4 && seg[1] == "actors") {
    if (m != "GET") return reply(json_error(405, "method_not_allowed", "use GET"));
    auto key = key_of(seg[2], seg[3]);
    if (key.empty() || !codec::valid_id(seg[3]))
      return reply(json_error(404, "not_found", "no such actor kind or id"));
    return inspect_actor(key, seg[2], std::move(reply));
  } else if (seg.size() == 3 && seg[1] == "streams") {
    if (m != "GET") return reply(json_error(405, "method_not_allowed", "use GET"));
    auto kind = cluster::kind_of_key(seg[2]);
    if (kind.empty()) return reply(json_error(404, "not_found", "no such stream"));
    return inspect_actor(seg[2], kind, std::move(reply));
  } else {
    return reply(json_error(404, "not_found", "no such endpoint"));
  }
  reply(json_error(405, "method_not_allowed", "method not allowed here"));
}

void http_api::import_chunk(const http_request& req, const target_parts& parts,
                            const std::string& partition, const std::string& kind,
                            responder reply) {
  auto* node = actors_.cluster_node();
  if (!node) return reply(json_error(404, "not_found", "this node is not in a cluster"));
  auto p = parse_uint(partition);
  auto epoch = parse_uint(parts.param("epoch"));
  auto number = [&](const char* name) { return parse_uint(parts.param(name)).value_or(0); };
  if (!p || *p >= partition_count || !epoch)
    return reply(json_error(400, "bad_request", "partition and epoch must be numbers"));
  cluster::partition_copy::chunk_params c{kind,
                                          static_cast<uint16_t>(*p),
                                          *epoch,
                                          parts.param("reset") == "1",
                                          parts.param("last") == "1",
                                          {number("sealed"), number("lepoch"), number("llsn")}};
  auto answer = node->receive_copy(c, req.node_signature, req.body);
  reply(json_ok(answer.status, std::move(answer.body)));
}

void http_api::list_nodes(responder reply) {
  auto view = actors_.view();
  // Partitions per owner from the table; connections and owners from each live node.
  std::map<std::string, size_t> partitions;
  for (const auto& r : view->partitions())
    if (r) ++partitions[r->owner];
  actors_.ask_actor<std::vector<std::string>>(
      actors_.registry(),
      caf::make_message(cluster::gather_atom::value, caf::make_message(cluster::stats_atom::value)),
      admin_timeout,
      [reply, view, partitions](caf::expected<std::vector<std::string>> answers) mutable {
        std::map<std::string, json::object> stats;
        if (answers)
          for (const auto& a : *answers) {
            boost::system::error_code ec;
            auto v = json::parse(a, ec);
            if (!ec && v.is_object())
              stats[std::string(v.as_object().at("node").as_string())] = v.as_object();
          }
        const auto members = view->members();
        std::set<std::string> ids;
        for (const auto& [id, m] : members) ids.insert(id);
        for (const auto& [id, n] : partitions) ids.insert(id);
        json::array nodes;
        for (const auto& id : ids) {
          auto member = members.find(id);
          const bool alive = member != members.end() &&
                             (id == view->self() || view->peer_connected(id) || !view->clustered());
          auto st = stats.find(id);
          auto count = [&](const char* field) -> int64_t {
            return st == stats.end() ? 0 : st->second.at(field).to_number<int64_t>();
          };
          nodes.push_back(json::object{
              {"id", id},
              {"address", member != members.end() ? member->second.http : ""},
              {"cluster_address", member != members.end() ? member->second.cluster : ""},
              {"state", node_state(*view, id, alive)},
              {"partitions", partitions.count(id) ? partitions.at(id) : 0},
              {"connections", count("connections")},
              {"owners", count("owners")}});
        }
        json::object out{{"nodes", nodes},
                         {"partition_count", partition_count},
                         {"controller", view->clustered() ? view->controller() : view->self()},
                         {"self", view->self()}};
        reply(json_ok(200, json::serialize(out)));
      });
}

void http_api::list_actors(const target_parts& parts, responder reply) {
  const auto kind = parts.param("kind");
  static const std::set<std::string> kinds{"merchant", "conversation", "pool",
                                           "inbox",    "connection",   "channels"};
  if (!kind.empty() && !kinds.contains(kind))
    return reply(json_error(400, "invalid_field", "unknown kind"));
  actors_.ask_actor<std::vector<std::string>>(
      actors_.registry(),
      caf::make_message(cluster::gather_atom::value,
                        caf::make_message(cluster::owners_atom::value, kind)),
      admin_timeout, [reply](caf::expected<std::vector<std::string>> answers) {
        if (!answers) return reply(error_response(answers.error()));
        json::array all;
        for (const auto& a : *answers) {
          boost::system::error_code ec;
          auto v = json::parse(a, ec);
          if (!ec && v.is_array())
            for (auto& actor : v.as_array()) all.push_back(actor);
        }
        reply(json_ok(200, json::serialize(json::object{{"actors", all}})));
      });
}

void http_api::inspect_actor(const std::string& key, const std::string& kind, responder reply) {
  auto view = actors_.view();
  actors_.inspect(key, [reply, view, key, kind](caf::expected<std::string> r) {
    if (!r) return reply(error_response(r.error()));
    boost::system::error_code ec;
    auto v = json::parse(*r, ec);
    if (ec || !v.is_object()) return reply(json_error(503, "unavailable", "no state"));
    auto& o = v.as_object();
    const uint16_t p = partition_of(key).value();
    auto record = view->partition(p);
    o["kind"] = kind;
    o["id"] = key.substr(key.find(':') + 1);
    o["partition"] = p;
    o["owner"] = record ? record->owner : "";
    o["epoch"] = record ? record->epoch : 0;
    reply(json_ok(200, json::serialize(o)));
  });
}

void http_api::drain_node(const std::string& node, bool draining, responder reply) {
  auto* cluster = actors_.cluster_node();
  if (!cluster) return reply(json_error(409, "not_clustered", "this node runs alone"));
  // A node is known while it is a member or still owns partitions (e.g. down).
  auto view = actors_.view();
  bool known = view->member(node).has_value();
  for (const auto& r : view->partitions()) known = known || (r && r->owner == node);
  if (!codec::valid_id(node) || !known)
    return reply(json_error(404, "not_found", "no such node in the cluster"));
  auto err = cluster->set_draining(node, draining);
  if (!err.empty()) return reply(json_error(503, "unavailable", err));
  reply(json_ok(
      draining ? 202 : 200,
      json::serialize(json::object{{"node", node}, {"state", draining ? "draining" : "up"}})));
}

}  // namespace sb::net
