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

// Whether two lists name the same nodes in the same order (storage uuids aside).
inline bool same_nodes(const std::vector<replica_ref>& a, const std::vector<replica_ref>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const replica_ref& x, const replica_ref& y) { return x.node == y.node; });
}

// The copies the controller asks a serving partition's owner to switch to (its
// next_replicas), or {} for none. `eligible` may take copies now; `replaced` says a listed
// copy is on a node being drained or gone too long. Wanted: fewer copies than configured
// (a grown cluster), a replaced copy, or more copies than configured: a move keeps the old
// owner's copies listed until the new owner has its own, and those must stop voting then,
// or an old owner's death would stall the partition's writes.
template <typename Replaced>
std::vector<replica_ref> wanted_replicas(uint16_t p, const partition_record& r,
                                         const std::vector<std::string>& eligible,
                                         const std::map<std::string, member_record>& members,
                                         size_t factor, Replaced replaced) {
  const size_t want = std::min(factor, eligible.size());
  const bool replaced_copy = std::any_of(r.replicas.begin(), r.replicas.end(),
                                         [&](const replica_ref& x) { return replaced(x.node); });
  const bool too_few = r.replicas.size() < want;
  const bool too_many = r.replicas.size() > factor;
  if (!too_few && !too_many && !replaced_copy) return {};
  auto wanted = choose_replicas(p, r.owner, eligible, members, want);
  return same_nodes(wanted, r.replicas) ? std::vector<replica_ref>{} : wanted;
}

// "n1,n2,n3": the nodes of a list, for logs.
inline std::string joined_nodes(const std::vector<replica_ref>& refs) {
  std::string out;
  for (const auto& ref : refs) out += (out.empty() ? "" : ",") + ref.node;
  return out;
}

}  // namespace sb::cluster
