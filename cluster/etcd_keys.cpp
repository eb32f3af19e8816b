#include "cluster/etcd_keys.hpp"

#include <charconv>

#include <boost/json.hpp>

namespace sb::cluster::etcd_keys {

namespace json = boost::json;

std::string partition_count_key(const std::string& prefix) {
  return prefix + "/meta/partitions";
}
std::string member_key(const std::string& prefix, const std::string& node) {
  return prefix + "/members/" + node;
}
std::string partition_key(const std::string& prefix, uint16_t p) {
  return prefix + "/parts/" + std::to_string(p);
}
std::string drain_key(const std::string& prefix, const std::string& node) {
  return prefix + "/drain/" + node;
}
std::string controller_key(const std::string& prefix) {
  return prefix + "/controller";
}

std::string member_json(const member_record& m) {
  return json::serialize(
      json::object{{"id", m.id}, {"http", m.http}, {"cluster", m.cluster}, {"storage", m.storage}});
}

namespace {

std::optional<json::object> object_of(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

std::string string_field(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::optional<member_record> parse_member(const std::string& text) {
  auto o = object_of(text);
  if (!o) return std::nullopt;
  member_record m{string_field(*o, "id"), string_field(*o, "http"), string_field(*o, "cluster"),
                  string_field(*o, "storage")};
  if (m.id.empty()) return std::nullopt;
  return m;
}

std::string partition_json(const partition_record& r) {
  json::object o{{"owner", r.owner}, {"epoch", r.epoch}, {"state", r.state}};
  if (!r.to.empty()) o["to"] = r.to;
  auto refs = [](const std::vector<replica_ref>& list) {
    json::array out;
    for (const auto& x : list)
      out.push_back(json::object{{"node", x.node}, {"storage", x.storage}});
    return out;
  };
  o["replicas"] = refs(r.replicas);
  if (!r.next_replicas.empty()) o["next_replicas"] = refs(r.next_replicas);
  return json::serialize(o);
}

std::optional<partition_record> parse_partition(const std::string& text) {
  auto o = object_of(text);
  if (!o) return std::nullopt;
  partition_record r;
  r.owner = string_field(*o, "owner");
  r.state = string_field(*o, "state");
  r.to = string_field(*o, "to");
  if (auto* e = o->if_contains("epoch"); e && e->is_int64() && e->as_int64() > 0)
    r.epoch = static_cast<uint64_t>(e->as_int64());
  else if (e && e->is_uint64())
    r.epoch = e->as_uint64();
  if (r.owner.empty() || r.epoch == 0 ||
      (r.state != "serving" && r.state != "moving" && r.state != "recovering"))
    return std::nullopt;
  // A list of distinct nodes; false if malformed.
  auto parse_refs = [&](const char* name, std::vector<replica_ref>& out) {
    auto* list = o->if_contains(name);
    if (!list) return true;
    if (!list->is_array()) return false;
    for (const auto& x : list->as_array()) {
      if (!x.is_object()) return false;
      replica_ref ref{string_field(x.as_object(), "node"), string_field(x.as_object(), "storage")};
      if (ref.node.empty() || partition_record::lists(out, ref.node)) return false;
      out.push_back(std::move(ref));
    }
    return true;
  };
  if (!parse_refs("replicas", r.replicas) || !parse_refs("next_replicas", r.next_replicas))
    return std::nullopt;
  // A record from before replication (or a hand-written one): the owner is its only copy.
  if (r.replicas.empty()) r.replicas.push_back({r.owner, ""});
  return r;
}

parsed_key parse_key(const std::string& prefix, const std::string& key) {
  parsed_key out;
  if (!key.starts_with(prefix + "/")) return out;
  const std::string rest = key.substr(prefix.size() + 1);
  auto after = [&](std::string_view head) -> std::optional<std::string> {
    if (!rest.starts_with(head)) return std::nullopt;
    return rest.substr(head.size());
  };
  if (auto node = after("members/"); node && !node->empty()) {
    out.what = parsed_key::kind::member;
    out.node = *node;
  } else if (auto node = after("drain/"); node && !node->empty()) {
    out.what = parsed_key::kind::drain;
    out.node = *node;
  } else if (auto p = after("parts/")) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), value);
    // Canonical decimal only ("7", not "007"): one key per partition.
    if (ec == std::errc() && end == p->data() + p->size() && value < partition_count &&
        *p == std::to_string(value)) {
      out.what = parsed_key::kind::partition;
      out.partition = static_cast<uint16_t>(value);
    }
  } else if (rest == "controller") {
    out.what = parsed_key::kind::controller;
  }
  return out;
}

}  // namespace sb::cluster::etcd_keys
