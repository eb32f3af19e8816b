// Process metrics, exposed at GET /metrics in the Prometheus text format. One instance is
// created by main and passed by reference to whoever records; every member is atomic, so any
// thread may record.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace sb::codec {

// A histogram with fixed bucket bounds in seconds.
class histogram {
 public:
  static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                 0.1,    0.2,   0.5,   1,     2,    5,    10};
  void observe(double seconds);
  void render(std::string& out, std::string_view name, std::string_view help) const;

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
  histogram push_latency;          // append accepted → frame handed to the socket
  histogram storage_write_latency;  // one group-commit round (synced WriteBatch)

  std::string render() const;
};

}  // namespace sb::codec
