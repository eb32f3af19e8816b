#include "codec/rate_limiter.hpp"

#include <algorithm>
#include <vector>

namespace sb::codec {

rate_limiter::rate_limiter(double rate, double burst, size_t max_keys)
    : rate_(rate),
      // A bucket smaller than one token would refuse everything forever.
      burst_(std::max(burst, 1.0)),
      max_keys_per_shard_(std::max<size_t>(1, max_keys / shard_count)) {}

double rate_limiter::take(std::string_view key, double now_s) {
  if (rate_ <= 0) return 0;
  shard& s = shards_[key_hash{}(key) % shard_count];
  std::lock_guard lock(s.mutex);
  auto it = s.buckets.find(key);
  if (it == s.buckets.end()) {
    if (s.buckets.size() >= max_keys_per_shard_) evict(s, now_s);
    it = s.buckets.emplace(std::string(key), bucket{burst_, now_s}).first;
  }
  bucket& b = it->second;
  // A clock step backwards must not drain the bucket.
  const double elapsed = std::max(0.0, now_s - b.updated_s);
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.updated_s = std::max(b.updated_s, now_s);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return (1 - b.tokens) / rate_;
}

size_t rate_limiter::size() const {
  size_t n = 0;
  for (const shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.buckets.size();
  }
  return n;
}

// Frees an eighth of the shard at once so that eviction costs amortized O(1) per new key.
// Buckets that have refilled completely go first: a new bucket starts full, so forgetting them
// changes nothing. Only then the least recently used ones go, which forgives their debt.
void rate_limiter::evict(shard& s, double now_s) {
  std::erase_if(s.buckets, [&](const auto& entry) {
    const bucket& b = entry.second;
    return b.tokens + std::max(0.0, now_s - b.updated_s) * rate_ >= burst_;
  });
  const size_t target = max_keys_per_shard_ - std::max<size_t>(1, max_keys_per_shard_ / 8);
  if (s.buckets.size() <= target) return;
  // Erasing from an unordered_map leaves the other iterators valid.
  std::vector<decltype(s.buckets)::iterator> by_age;
  by_age.reserve(s.buckets.size());
  for (auto it = s.buckets.begin(); it != s.buckets.end(); ++it) by_age.push_back(it);
  const size_t drop = s.buckets.size() - target;
  std::nth_element(
      by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(drop - 1), by_age.end(),
      [](const auto& a, const auto& b) { return a->second.updated_s < b->second.updated_s; });
  for (size_t i = 0; i < drop; ++i) s.buckets.erase(by_age[i]);
}

}  // namespace sb::codec
