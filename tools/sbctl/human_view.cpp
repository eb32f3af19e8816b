// The human views (human_view.hpp). Every list is shown through list_table(), which adds a column
// for any field it does not know; every other field through field_lines().
#include "tools/sbctl/human_view.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <string_view>
#include <vector>

#include "tools/sbctl/table.hpp"

namespace sb::sbctl {

namespace json = boost::json;

namespace {

struct column {
  std::string_view header;
  std::string_view key;
};

// One value as text: strings as they are, null or missing as "-", objects and arrays compact.
std::string text(const json::value* v) {
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return printable(v->get_string());
  return json::serialize(*v);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool rows_are_objects(const json::value& v) {
  if (!v.is_array()) return false;
  const auto& a = v.get_array();
  return std::all_of(a.begin(), a.end(), [](const json::value& e) { return e.is_object(); });
}

// `rows` (objects) under `columns`, then one column per other key found in any row, except the
// `omitted` keys. `decorate` may change a row's cells (e.g. to mark the controller).
template <class Decorate>
std::string list_table(const json::array& rows, const std::vector<column>& columns,
                       const std::vector<std::string_view>& omitted, Decorate decorate) {
  std::vector<std::string> keys, headers;
  for (const auto& c : columns) {
    keys.emplace_back(c.key);
    headers.emplace_back(c.header);
  }
  for (const auto& row : rows)
    for (const auto& field : row.get_object()) {
      const std::string_view key = field.key();
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      if (std::find(omitted.begin(), omitted.end(), key) != omitted.end()) continue;
      keys.emplace_back(key);
      headers.push_back(printable(upper(key)));
    }
  table t(headers);
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& key : keys) cells.push_back(text(row.get_object().if_contains(key)));
    decorate(row.get_object(), cells);
    t.add_row(std::move(cells));
  }
  return t.render();
}

std::string list_table(const json::array& rows, const std::vector<column>& columns,
                       const std::vector<std::string_view>& omitted = {}) {
  return list_table(rows, columns, omitted, [](const json::object&, std::vector<std::string>&) {});
}

// `key: value` for every field of `object` but the `skipped` ones: first those named in `order`,
// then the others as the server sent them.
std::string field_lines(const json::object& object, const std::vector<std::string_view>& order,
                        const std::vector<std::string_view>& skipped) {
  std::string out;
  auto line = [&](std::string_view key, const json::value& v) {
    out += printable(key) + ": " + text(&v) + '\n';
  };
  for (auto key : order)
    if (const auto* v = object.if_contains(key)) line(key, *v);
  for (const auto& field : object) {
    const std::string_view key = field.key();
    if (std::find(order.begin(), order.end(), key) != order.end()) continue;
    if (std::find(skipped.begin(), skipped.end(), key) != skipped.end()) continue;
    line(key, field.value());
  }
  return out;
}

// The answer's list under `key` when it is a list of objects, else nullptr.
const json::array* object_list(const json::object& answer, std::string_view key) {
  const auto* v = answer.if_contains(key);
  return v && rows_are_objects(*v) ? &v->get_array() : nullptr;
}

// A table of the list under `key`, then the answer's other fields after a blank line.
template <class Table>
std::string list_answer(const json::value& answer, std::string_view key,
                        const std::vector<std::string_view>& order, Table make_table) {
  if (!answer.is_object()) return json::serialize(answer) + '\n';
  const auto& object = answer.get_object();
  const auto* rows = object_list(object, key);
  if (rows == nullptr) return field_lines(object, order, {});
  auto out = make_table(*rows);
  auto rest = field_lines(object, order, {key});
  if (!rest.empty()) out += '\n' + rest;
  return out;
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out(s);
  std::replace_if(
      out.begin(), out.end(),
      [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
      },
      '?');
  return out;
}

std::string render_nodes(const json::value& answer) {
  std::string controller;
  if (answer.is_object())
    if (const auto* c = answer.get_object().if_contains("controller"); c && c->is_string())
      controller = c->get_string();
  return list_answer(
      answer, "nodes", {"partition_count", "controller", "self"}, [&](const json::array& rows) {
        return list_table(
            rows,
            {{"ID", "id"},
             {"ADDRESS", "address"},
             {"STATE", "state"},
             {"PARTITIONS", "partitions"},
             {"CONNECTIONS", "connections"},
             {"OWNERS", "owners"}},
            {"cluster_address"}, [&](const json::object& node, std::vector<std::string>& cells) {
              const auto* id = node.if_contains("id");
              if (!controller.empty() && id && id->is_string() && id->get_string() == controller)
                cells[0] += '*';
            });
      });
}

std::string render_actors(const json::value& answer) {
  return list_answer(answer, "actors", {}, [](const json::array& rows) {
    return list_table(rows,
                      {{"KIND", "kind"}, {"ID", "id"}, {"NODE", "node"}, {"MAILBOX", "mailbox"}},
                      {"stream"});
  });
}

std::string render_actor(const json::value& answer) {
  if (!answer.is_object()) return json::serialize(answer) + '\n';
  const auto& object = answer.get_object();
  struct list_view {
    std::string_view key;
    std::vector<column> columns;
  };
  const std::vector<list_view> lists{
      {"principals", {{"PRINCIPAL", "principal"}, {"ACKED", "acked"}, {"UNACKED", "unacked"}}},
      {"agents",
       {{"AGENT", "id"},
        {"ONLINE", "online"},
        {"ACTIVE", "active"},
        {"WEIGHT", "weight"},
        {"MAX", "max_concurrent"}}},
      {"queue", {{"CONV", "conv"}, {"CUSTOMER", "customer"}, {"SINCE_MS", "since_ms"}}},
      {"subscribers",
       {{"PRINCIPAL", "principal"},
        {"DELIVERED", "delivered"},
        {"ACKED", "acked"},
        {"UNACKED", "unacked"}}},
  };
  std::vector<std::string_view> tabled;
  for (const auto& l : lists)
    if (object_list(object, l.key)) tabled.push_back(l.key);
  auto out = field_lines(object,
                         {"kind", "id", "stream", "owner", "epoch", "partition", "seq", "mailbox",
                          "status", "agent", "customer", "principal", "node", "streams"},
                         tabled);
  for (const auto& l : lists)
    if (const auto* rows = object_list(object, l.key))
      out += '\n' + std::string(l.key) + ":\n" + list_table(*rows, l.columns);
  return out;
}

std::string render_replication(const json::value& answer) {
  // "n2 live lag 0, n3 probing lag 4" from the owner's view of its backups.
  auto backups_cell = [](const json::value* v) {
    if (!v || !rows_are_objects(*v) || v->get_array().empty()) return std::string("-");
    std::string out;
    for (const auto& b : v->get_array()) {
      const auto& o = b.get_object();
      if (!out.empty()) out += ", ";
      out += text(o.if_contains("node")) + ' ' + text(o.if_contains("mode")) + " lag " +
             text(o.if_contains("lag"));
      // A newcomer of a pending change: it follows, it does not count yet.
      if (const auto* voter = o.if_contains("voter");
          voter && voter->is_bool() && !voter->get_bool())
        out += " (joining)";
    }
    return out;
  };
  auto nodes_cell = [](const json::value* v) {
    if (!v || !v->is_array()) return text(v);
    std::string out;
    for (const auto& n : v->get_array()) out += (out.empty() ? "" : ",") + text(&n);
    return out;
  };
  return list_answer(answer, "partitions", {"replication_factor", "under_replicated"},
                     [&](const json::array& rows) {
                       return list_table(
                           rows,
                           {{"PARTITION", "partition"},
                            {"OWNER", "owner"},
                            {"EPOCH", "epoch"},
                            {"REPLICAS", "replicas"},
                            {"LIVE", "live_copies"},
                            {"UNDER", "under_replicated"},
                            {"BACKUPS", "backups"}},
                           {}, [&](const json::object& row, std::vector<std::string>& cells) {
                             cells[3] = nodes_cell(row.if_contains("replicas"));
                             cells[6] = backups_cell(row.if_contains("backups"));
                           });
                     });
}

std::string render_drain(const json::value& answer, const std::string& node_id) {
  std::string node = node_id, state = "draining";
  if (answer.is_object()) {
    const auto& object = answer.get_object();
    if (const auto* n = object.if_contains("node"); n && n->is_string()) node = n->get_string();
    if (const auto* s = object.if_contains("state"); s && s->is_string()) state = s->get_string();
  }
  return printable(state) + ' ' + printable(node) + '\n';
}

}  // namespace sb::sbctl
