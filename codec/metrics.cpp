#include "codec/metrics.hpp"

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
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" histogram\n");
  render_series(out, name, "");
}

void histogram::render_series(std::string& out, std::string_view name,
                              std::string_view labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  const std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  char number[64];
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    if (i < bounds.size())
      std::snprintf(number, sizeof number, "%g", bounds[i]);
    else
      std::snprintf(number, sizeof number, "+Inf");
    out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"");
    out.append(number).append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  std::snprintf(number, sizeof number, "%.6f", sum_micros_.load() / 1e6);
  out.append(name).append("_sum").append(braces).append(" ").append(number).append("\n");
  out.append(name).append("_count").append(braces).append(" ");
  out.append(std::to_string(count_.load())).append("\n");
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

namespace {

// A label value with \, " and newlines escaped, as the exposition format requires.
std::string label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void labelled(std::string& out, std::string_view name, std::string_view type, std::string_view help,
              const std::map<std::string, double>& values) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  char number[64];
  for (const auto& [labels, v] : values) {
    std::snprintf(number, sizeof number, "%g", v);
    out.append(name).append("{").append(labels).append("} ").append(number).append("\n");
  }
}

}  // namespace

void metrics::count_chat_message(std::string_view channel) {
  auto& counter = channel == "app"      ? chat_messages_app
                  : channel == "wechat" ? chat_messages_wechat
                                        : chat_messages_web;
  counter.fetch_add(1, std::memory_order_relaxed);
}

void metrics::count_outbox_attempt(std::string_view channel, std::string_view result) {
  std::lock_guard lock(labelled_mutex_);
  outbox_attempts_[label("channel", channel) + "," + label("result", result)] += 1;
}

void metrics::count_channel_request(std::string_view channel, std::string_view result) {
  std::lock_guard lock(labelled_mutex_);
  channel_requests_[label("channel", channel) + "," + label("result", result)] += 1;
}

void metrics::count_assignment(std::string_view strategy) {
  std::lock_guard lock(labelled_mutex_);
  assignments_[label("strategy", strategy)] += 1;
}

void metrics::observe_queue_wait(const std::string& merchant, double seconds) {
  std::lock_guard lock(labelled_mutex_);
  auto& h = waits_[label("merchant", merchant)];
  if (!h) h = std::make_unique<histogram>();
  h->observe(seconds);
}

void metrics::set_conversations(const std::string& merchant, const std::string& status, int64_t n) {
  std::lock_guard lock(labelled_mutex_);
  conversations_[label("merchant", merchant) + "," + label("status", status)] = double(n);
}

void metrics::set_queue_length(const std::string& merchant, int64_t n) {
  std::lock_guard lock(labelled_mutex_);
  queue_length_[label("merchant", merchant)] = double(n);
}

void metrics::set_agent_utilisation(const std::string& merchant, const std::string& agent,
                                    double ratio) {
  std::lock_guard lock(labelled_mutex_);
  utilisation_[label("merchant", merchant) + "," + label("agent", agent)] = ratio;
}

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
  scalar(out, "sb_stream_actors", "gauge", "Live stream owner actors on this node.", stream_actors);
  push_latency.render(out, "sb_push_latency_seconds",
                      "From an append's arrival to its frame being queued on each socket.");
  storage_write_latency.render(out, "sb_storage_write_seconds",
                               "Duration of one synced group-commit write.");
  out.append("# HELP sb_chat_messages_total Chat messages stored, by channel.\n");
  out.append("# TYPE sb_chat_messages_total counter\n");
  for (auto [channel, counter] :
       {std::pair{"web", &chat_messages_web}, std::pair{"app", &chat_messages_app},
        std::pair{"wechat", &chat_messages_wechat}})
    out.append("sb_chat_messages_total{channel=\"")
        .append(channel)
        .append("\"} ")
        .append(std::to_string(counter->load(std::memory_order_relaxed)))
        .append("\n");
  scalar(out, "sb_outbox_pending", "gauge", "Outbound deliveries waiting for their channel.",
         outbox_pending);
  scalar(out, "sb_outbox_failed", "gauge", "Outbound deliveries given up (see /admin/outbox).",
         outbox_failed);
  scalar(out, "sb_wechat_token_fetches_total", "counter", "WeChat access tokens fetched.",
         wechat_token_fetches);
  scalar(out, "sb_cluster_partitions_served", "gauge", "Partitions this node serves.",
         cluster_partitions_served);
  scalar(out, "sb_cluster_peers", "gauge", "Other nodes this node's middleman reaches.",
         cluster_peers);
  scalar(out, "sb_cluster_handoffs_total", "counter", "Partitions handed over to another node.",
         cluster_handoffs);
  scalar(out, "sb_cluster_handoff_failures_total", "counter",
         "Partition handoffs that failed and were put back.", cluster_handoff_failures);
  handoff_duration.render(out, "sb_cluster_handoff_seconds",
                          "One partition's handoff: seal, copy and commit.");
  scalar(out, "sb_cluster_takeovers_total", "counter",
         "Partitions this node's controller moved from a lost owner to a replica.",
         cluster_takeovers);
  takeover_duration.render(out, "sb_cluster_takeover_seconds",
                           "One partition's takeover: seal the replicas, commit the new owner.");
  scalar(out, "sb_replication_copies_total", "counter",
         "Full partition copies sent to backups that could not be caught up round by round.",
         replication_copies);
  scalar(out, "sb_replication_waiting_rounds", "gauge",
         "Group-commit rounds waiting for a backup's sync (replication lag, in rounds).",
         replication_waiting);
  std::lock_guard lock(labelled_mutex_);
  labelled(out, "sb_outbox_attempts_total", "counter",
           "Outbound delivery attempts, by channel and result.", outbox_attempts_);
  labelled(out, "sb_channel_requests_total", "counter",
           "Inbound channel requests (WeChat callbacks, app messages), by channel and result.",
           channel_requests_);
  labelled(out, "sb_chat_assignments_total", "counter", "Conversations assigned, by strategy.",
           assignments_);
  labelled(out, "sb_chat_conversations", "gauge", "Conversations by merchant and status.",
           conversations_);
  labelled(out, "sb_chat_queue_length", "gauge", "Conversations waiting for an agent.",
           queue_length_);
  labelled(out, "sb_chat_agent_utilisation", "gauge",
           "Assigned conversations over max_concurrent, per agent.", utilisation_);
  out.append("# HELP sb_chat_queue_wait_seconds Time from queued to assigned, per merchant.\n");
  out.append("# TYPE sb_chat_queue_wait_seconds histogram\n");
  for (const auto& [labels, h] : waits_)
    h->render_series(out, "sb_chat_queue_wait_seconds", labels);
  return out;
}

}  // namespace sb::codec
