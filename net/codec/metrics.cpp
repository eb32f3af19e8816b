#include "net/codec/metrics.hpp"

#include <cstdio>

namespace sb::codec {

void histogram::observe(double seconds) {
  size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void histogram::render(std::string& out, std::string_view name, std::string_view help) const {
  char line[256];
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" histogram\n");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    if (i < bounds.size())
      std::snprintf(line, sizeof line, "%.*s_bucket{le=\"%g\"} %llu\n", int(name.size()),
                    name.data(), bounds[i], static_cast<unsigned long long>(cumulative));
    else
      std::snprintf(line, sizeof line, "%.*s_bucket{le=\"+Inf\"} %llu\n", int(name.size()),
                    name.data(), static_cast<unsigned long long>(cumulative));
    out.append(line);
  }
  std::snprintf(line, sizeof line, "%.*s_sum %.6f\n%.*s_count %llu\n", int(name.size()),
                name.data(), sum_micros_.load() / 1e6, int(name.size()), name.data(),
                static_cast<unsigned long long>(count_.load()));
  out.append(line);
}

namespace {
template <class T>
void scalar(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::atomic<T>& v) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(std::to_string(v.load(std::memory_order_relaxed)));
  out.append("\n");
}
}  // namespace

std::string metrics::render() const {
  std::string out;
  out.reserve(4096);
  scalar(out, "sb_ws_connections", "gauge", "Open WebSocket connections.", ws_connections);
  scalar(out, "sb_http_connections", "gauge", "Open HTTP connections.", http_connections);
  scalar(out, "sb_orders_received_total", "counter", "Orders accepted (202).", orders_received);
  scalar(out, "sb_orders_duplicate_total", "counter", "Orders answered from an Idempotency-Key.",
         orders_duplicate);
  scalar(out, "sb_entries_pushed_total", "counter", "Stream entries pushed to connections.",
         entries_pushed);
  scalar(out, "sb_entries_acked_total", "counter", "Entries newly acked by principals.",
         entries_acked);
  scalar(out, "sb_redeliveries_total", "counter", "Entries pushed again after ack_timeout.",
         redeliveries);
  scalar(out, "sb_replayed_total", "counter", "Entries replayed on hello or poll.", replayed);
  scalar(out, "sb_rate_limited_total", "counter", "Requests and frames refused by rate limits.",
         rate_limited);
  scalar(out, "sb_rejected_requests_total", "counter", "Requests answered with a 4xx error.",
         rejected_requests);
  scalar(out, "sb_storage_rounds_total", "counter", "Synced RocksDB writes (group commits).",
         storage_rounds);
  scalar(out, "sb_storage_sets_total", "counter", "Write sets committed.", storage_sets);
  scalar(out, "sb_stream_actors", "gauge", "Live stream owner actors on this node.",
         stream_actors);
  push_latency.render(out, "sb_push_latency_seconds",
                      "From an append's arrival to its frame being queued on each socket.");
  storage_write_latency.render(out, "sb_storage_write_seconds",
                               "Duration of one synced group-commit write.");
  return out;
}

}  // namespace sb::codec
