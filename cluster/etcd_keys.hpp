// The etcd keys of one cluster (docs/cluster.md) and the JSON of their values. Pure functions;
// safe from any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "cluster/cluster_view.hpp"

namespace sb::cluster::etcd_keys {

// <prefix>/meta/partitions = "256": fixed for the life of a cluster, checked on join.
std::string partition_count_key(const std::string& prefix);
// <prefix>/members/<node> = {"id","http","cluster","storage"}, under the node's lease.
std::string member_key(const std::string& prefix, const std::string& node);
// <prefix>/parts/<p> = {"owner","epoch","state","to","replicas":[{"node","storage"}]}: changed
// only by an explicit move (join, drain, takeover).
std::string partition_key(const std::string& prefix, uint16_t p);
// <prefix>/drain/<node> = "1": the controller moves every partition off that node.
std::string drain_key(const std::string& prefix, const std::string& node);
// <prefix>/controller = node id, under the controller's lease.
std::string controller_key(const std::string& prefix);

std::string member_json(const member_record& m);
std::optional<member_record> parse_member(const std::string& json);
std::string partition_json(const partition_record& r);
std::optional<partition_record> parse_partition(const std::string& json);

// What a key under the prefix names.
struct parsed_key {
  enum class kind { member, partition, drain, controller, other } what = kind::other;
  std::string node;
  uint16_t partition = 0;
};
parsed_key parse_key(const std::string& prefix, const std::string& key);

}  // namespace sb::cluster::etcd_keys
