// Rendezvous (highest-random-weight) placement: the target owner of a partition among a set of
// node ids. Pure and stable across builds (FNV-1a of the node id plus the partition, mixed by
// splitmix64: FNV-1a alone mixes short, similar ids like "n1", "n2" poorly); adding or removing
// a node moves only the partitions that node wins or held. Safe from any thread.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "base/partition.hpp"

namespace sb::cluster {

// The node of `nodes` that wins partition `p`, or "" when `nodes` is empty.
inline uint64_t rendezvous_score(const std::string& node, uint16_t p) {
  uint64_t z = fnv1a64(node) + 0x9e3779b97f4a7c15ull * (p + 1ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline std::string rendezvous_owner(const std::vector<std::string>& nodes, uint16_t p) {
  std::string best;
  uint64_t best_score = 0;
  for (const auto& node : nodes) {
    const uint64_t score = rendezvous_score(node, p);
    if (best.empty() || score > best_score || (score == best_score && node < best)) {
      best = node;
      best_score = score;
    }
  }
  return best;
}

// Every node of `nodes`, best first: the owner, then where its backups go.
inline std::vector<std::string> rendezvous_order(std::vector<std::string> nodes, uint16_t p) {
  std::sort(nodes.begin(), nodes.end(), [p](const std::string& a, const std::string& b) {
    const uint64_t sa = rendezvous_score(a, p), sb = rendezvous_score(b, p);
    return sa != sb ? sa > sb : a < b;
  });
  return nodes;
}

}  // namespace sb::cluster
