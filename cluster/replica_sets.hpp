// Which nodes hold a partition's copies: its owner, then the next nodes in the partition's
// rendezvous order (docs/replication.md). Pure; safe from any thread.
#pragma once
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cluster/cluster_view.hpp"
#include "cluster/rendezvous.hpp"

namespace sb::cluster {

// `owner` first, then the best of `candidates` (node ids that may hold copies, e.g. the
// members not being drained) until there are `factor` copies; storage uuids from `members`.
inline std::vector<replica_ref> choose_replicas(uint16_t p, const std::string& owner,
                                                std::vector<std::string> candidates,
                                                const std::map<std::string, member_record>& members,
                                                size_t factor) {
  auto storage_of = [&](const std::string& node) {
    auto it = members.find(node);
    return it == members.end() ? std::string() : it->second.storage;
  };
  std::vector<replica_ref> out{{owner, storage_of(owner)}};
  for (const auto& node : rendezvous_order(std::move(candidates), p)) {
    if (out.size() >= factor) break;
    if (node != owner) out.push_back({node, storage_of(node)});
  }
  return out;
}

// "n1,n2,n3": the nodes of a list, for logs.
inline std::string joined_nodes(const std::vector<replica_ref>& refs) {
  std::string out;
  for (const auto& ref : refs) out += (out.empty() ? "" : ",") + ref.node;
  return out;
}

// Whether two lists name the same nodes in the same order (storage uuids aside).
inline bool same_nodes(const std::vector<replica_ref>& a, const std::vector<replica_ref>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const replica_ref& x, const replica_ref& y) { return x.node == y.node; });
}

}  // namespace sb::cluster
