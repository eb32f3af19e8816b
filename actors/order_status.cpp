#include "actors/order_status.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace sb::order_status {

namespace json = boost::json;

namespace {

// An entry's order_id as the text the API uses: orders may give it as a string or a number.
std::string order_id_of(const json::object& data) {
  const auto* v = data.if_contains("order_id");
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

}  // namespace

std::string next(const std::string& current) {
  if (current == "new") return "accepted";
  if (current == "accepted") return "done";
  return {};
}

std::optional<std::string> find(const storage::stream_store& store, const std::string& stream,
                                const std::string& order_id, size_t window) {
  std::string latest;  // the newest status entry's status, "" until one is seen
  uint64_t before = store.last_seq(stream) + 1;
  for (size_t seen = 0; seen < window && before > 1;) {
    auto page = store.read_before(stream, before, std::min<size_t>(500, window - seen));
    if (page.empty()) break;
    for (const auto& e : page) {
      before = e.seq;
      ++seen;
      if (e.kind != "order" && e.kind != "order_status") continue;
      json::error_code ec;
      auto parsed = json::parse(e.data, ec);
      if (ec || !parsed.is_object() || order_id_of(parsed.get_object()) != order_id) continue;
      if (e.kind == "order") return latest.empty() ? std::string("new") : latest;
      if (latest.empty())
        if (const auto* s = parsed.get_object().if_contains("status"); s && s->is_string())
          latest = std::string(s->get_string());
    }
  }
  return std::nullopt;
}

}  // namespace sb::order_status
