#include "actors/stream_entries.hpp"

#include <boost/json.hpp>

namespace sb {

namespace json = boost::json;

std::string entries_json(const storage::stream_store& store, const std::string& stream,
                         const std::string& principal, uint64_t cursor, bool forward,
                         uint32_t limit, const entry_redactor& redact) {
  const uint64_t last = store.last_seq(stream);
  if (!forward && cursor == 0) cursor = last + 1;
  auto page =
      forward ? store.read_after(stream, cursor, limit) : store.read_before(stream, cursor, limit);
  json::array out;
  for (const auto& e : page) {
    std::string redacted = redact ? redact(e) : std::string();
    json::value data = json::parse(redacted.empty() ? e.data : redacted);
    out.push_back(json::object{{"seq", e.seq},
                               {"id", e.id},
                               {"ts", e.ts_ms},
                               {"kind", e.kind},
                               {"data", std::move(data)}});
  }
  return json::serialize(json::object{
      {"entries", std::move(out)}, {"acked", store.cursor(stream, principal)}, {"last_seq", last}});
}

}  // namespace sb
