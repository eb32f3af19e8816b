// GET /admin/replication (admins of every merchant; routed by cluster_routes.cpp): every
// partition's owner, epoch and replicas from the etcd table, each backup's mode, position and
// lag as its owner's replicator reports it, and which partitions have fewer live copies than
// configured. Any node answers, gathering the replicators of every node.
#include <boost/json.hpp>

#include <algorithm>
#include <map>

#include "cluster/registry.hpp"
#include "cluster/replication_messages.hpp"
#include "net/http_api.hpp"
#include "net/http_support.hpp"

namespace sb::net {

namespace {

namespace json = boost::json;
constexpr auto admin_timeout = std::chrono::seconds(5);

// partition → its backups, from the owners' replicator states.
std::map<int64_t, json::value> backups_by_partition(const std::vector<std::string>& answers) {
  std::map<int64_t, json::value> out;
  for (const auto& a : answers) {
    boost::system::error_code ec;
    auto v = json::parse(a, ec);
    if (ec || !v.is_object()) continue;
    const auto* parts = v.as_object().if_contains("partitions");
    if (!parts || !parts->is_array()) continue;
    for (const auto& part : parts->as_array()) {
      if (!part.is_object()) continue;
      const auto* p = part.as_object().if_contains("partition");
      const auto* backups = part.as_object().if_contains("backups");
      if (p && p->is_number() && backups) out[p->to_number<int64_t>()] = *backups;
    }
  }
  return out;
}

}  // namespace

void http_api::list_replication(responder reply) {
  auto view = actors_.view();
  const size_t factor = view->clustered() ? cfg_.cluster.replication_factor : 1;
  actors_.ask_actor<std::vector<std::string>>(
      actors_.registry(),
      caf::make_message(cluster::gather_atom::value,
                        caf::make_message(cluster::rinspect_atom::value)),
      admin_timeout, [reply, view, factor](caf::expected<std::vector<std::string>> answers) {
        const auto backups =
            answers ? backups_by_partition(*answers) : std::map<int64_t, json::value>{};
        const auto members = view->members();
        const size_t wanted = std::min(factor, std::max<size_t>(1, members.size()));
        json::array rows;
        int64_t under = 0;
        const auto parts = view->partitions();
        for (size_t p = 0; p < parts.size(); ++p) {
          const auto& r = parts[p];
          if (!r) continue;
          json::array replicas;
          size_t live = 0;
          for (const auto& ref : r->replicas) {
            replicas.push_back(json::string(ref.node));
            if (members.contains(ref.node) || !view->clustered()) ++live;
          }
          const bool short_of_copies = live < wanted;
          under += short_of_copies ? 1 : 0;
          json::array next_replicas;
          for (const auto& ref : r->next_replicas) next_replicas.push_back(json::string(ref.node));
          auto b = backups.find(static_cast<int64_t>(p));
          rows.push_back(json::object{{"partition", p},
                                      {"owner", r->owner},
                                      {"epoch", r->epoch},
                                      {"replicas", std::move(replicas)},
                                      {"next_replicas", std::move(next_replicas)},
                                      {"live_copies", live},
                                      {"under_replicated", short_of_copies},
                                      {"backups", b == backups.end() ? json::array{} : b->second}});
        }
        json::object out{{"replication_factor", factor},
                         {"under_replicated", under},
                         {"partitions", std::move(rows)}};
        reply(json_ok(200, json::serialize(out)));
      });
}

}  // namespace sb::net
