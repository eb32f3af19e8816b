// Process metrics, exposed at GET /metrics in the Prometheus text format. One instance is
// created by main and passed by reference to whoever records; every member is atomic, so any
// thread may record.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace sb::codec {

// A histogram with fixed bucket bounds in seconds.
class histogram {
 public:
  static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                 0.1,    0.2,   0.5,   1,     2,    5,    10};
  void observe(double seconds);
  void render(std::string& out, std::string_view name, std::string_view help) const;
  // The bucket, sum and count lines only, with extra labels ("merchant=\"m1\"") or none.
  void render_series(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

struct metrics {
  std::atomic<int64_t> ws_connections{0};
  std::atomic<int64_t> http_connections{0};
  std::atomic<uint64_t> orders_received{0};
  std::atomic<uint64_t> orders_duplicate{0};
  std::atomic<uint64_t> entries_pushed{0};
  std::atomic<uint64_t> entries_acked{0};
  std::atomic<uint64_t> redeliveries{0};
  std::atomic<uint64_t> replayed{0};
  std::atomic<uint64_t> rate_limited{0};
  std::atomic<uint64_t> rejected_requests{0};
  std::atomic<uint64_t> storage_rounds{0};
  std::atomic<uint64_t> storage_sets{0};
  std::atomic<int64_t> stream_actors{0};
  std::atomic<uint64_t> chat_messages_web{0};
  std::atomic<uint64_t> chat_messages_app{0};
  std::atomic<uint64_t> chat_messages_wechat{0};
  std::atomic<int64_t> outbox_pending{0};  // deliveries waiting for their channel
  std::atomic<int64_t> outbox_failed{0};   // deliveries given up, kept for operators
  std::atomic<uint64_t> wechat_token_fetches{0};
  std::atomic<int64_t> cluster_partitions_served{0};  // partitions this node serves
  std::atomic<int64_t> cluster_peers{0};              // other nodes the middleman reaches
  std::atomic<uint64_t> cluster_handoffs{0};          // partitions moved away from this node
  std::atomic<uint64_t> cluster_handoff_failures{0};  // moves that failed and were put back
  std::atomic<uint64_t> cluster_takeovers{0};   // partitions this node's controller failed over
  std::atomic<uint64_t> replication_copies{0};  // full partition copies sent to backups
  std::atomic<int64_t> replication_waiting{0};  // rounds waiting for a backup's sync
  histogram push_latency;                       // append accepted → frame handed to the socket
  histogram storage_write_latency;              // one group-commit round (synced WriteBatch)
  histogram handoff_duration;                   // one partition's handoff: seal → copy → commit
  histogram takeover_duration;                  // one partition's takeover: seal → commit

  // Chat metrics labelled by merchant, agent or strategy (thread-safe).
  void count_chat_message(std::string_view channel);
  void count_assignment(std::string_view strategy);
  void observe_queue_wait(const std::string& merchant, double seconds);
  void set_conversations(const std::string& merchant, const std::string& status, int64_t n);
  void set_queue_length(const std::string& merchant, int64_t n);
  void set_agent_utilisation(const std::string& merchant, const std::string& agent, double ratio);
  // Outbound delivery attempts by channel and result ("delivered", "retry", "failed").
  void count_outbox_attempt(std::string_view channel, std::string_view result);
  // Inbound channel requests by channel and result ("accepted", "duplicate", "bad_signature"…).
  void count_channel_request(std::string_view channel, std::string_view result);

  std::string render() const;

 private:
  mutable std::mutex labelled_mutex_;
  std::map<std::string, double> assignments_;                // {strategy="…"}
  std::map<std::string, double> conversations_;              // {merchant="…",status="…"}
  std::map<std::string, double> queue_length_;               // {merchant="…"}
  std::map<std::string, double> utilisation_;                // {merchant="…",agent="…"}
  std::map<std::string, double> outbox_attempts_;            // {channel="…",result="…"}
  std::map<std::string, double> channel_requests_;           // {channel="…",result="…"}
  std::map<std::string, std::unique_ptr<histogram>> waits_;  // {merchant="…"}
};

}  // namespace sb::codec
