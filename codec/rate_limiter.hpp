// Token buckets keyed by principal or client IP. Thread-safe (sharded mutexes); memory is
// bounded: at most `max_keys` buckets, idle full buckets are evicted first.
#pragma once
#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sb::codec {

class rate_limiter {
 public:
  // `rate` tokens per second refill, `burst` bucket size (at least 1). rate <= 0 disables
  // limiting. `max_keys` is split evenly over the shards, at least one bucket each.
  rate_limiter(double rate, double burst, size_t max_keys = 100000);
  // Takes one token. Returns 0 when allowed, else the seconds until a token is available
  // (the Retry-After value, >= 1 when rounded up by the caller).
  double take(std::string_view key, double now_s);
  // Buckets held now (for tests and metrics).
  size_t size() const;

 private:
  struct bucket {
    double tokens;
    double updated_s;
  };
  // Transparent, so that take() looks keys up without building a std::string.
  struct key_hash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, bucket, key_hash, std::equal_to<>> buckets;
  };
  static constexpr size_t shard_count = 16;
  void evict(shard& s, double now_s);
  double rate_;
  double burst_;
  size_t max_keys_per_shard_;
  std::array<shard, shard_count> shards_;
};

}  // namespace sb::codec
