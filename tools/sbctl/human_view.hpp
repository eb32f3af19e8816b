// The human form of each admin answer: tables with aligned columns for lists, `key: value` lines
// for the rest; fields sbctl does not know are shown too (only a node's cluster_address and an
// actor's stream are left out of their tables: see --json). Pure functions of the parsed JSON.
#pragma once
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace sb::sbctl {

// `s` with every control character (newlines included) replaced by '?': what a server sent
// must not move the operator's cursor or rewrite the terminal.
std::string printable(std::string_view s);

// GET /admin/nodes: ID ADDRESS STATE PARTITIONS CONNECTIONS OWNERS, the controller's id marked
// with '*', then the other fields (partition_count, controller, self).
std::string render_nodes(const boost::json::value& answer);

// GET /admin/actors: KIND ID NODE MAILBOX.
std::string render_actors(const boost::json::value& answer);

// GET /admin/actors/{kind}/{id} and GET /admin/streams/{stream}: scalars as `key: value`, then
// one table per list (principals, agents, queue, subscribers).
std::string render_actor(const boost::json::value& answer);

// GET /admin/replication: PARTITION OWNER EPOCH REPLICAS LIVE UNDER BACKUPS (each backup as
// "node mode lag N"), then replication_factor and the count of under-replicated partitions.
std::string render_replication(const boost::json::value& answer);

// POST /admin/nodes/{id}/drain: "draining <id>".
std::string render_drain(const boost::json::value& answer, const std::string& node_id);

}  // namespace sb::sbctl
