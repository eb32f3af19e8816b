// Which outbox deliveries are due: per recipient in conversation order, one in flight per
// recipient, the earliest due first. Every change costs O(log n), so a long queue (a channel
// down for a while) does not slow each delivery. Plain data, owned by the outbox actor.
#pragma once
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace sb {

class outbox_queue {
 public:
  // A pending delivery's place in its recipient's order.
  struct position {
    int64_t created_ms = 0;
    std::string stream;
    uint64_t seq = 0;
    std::string id;
    auto operator<=>(const position&) const = default;
  };

  // A pending delivery, first due at `due_ms`.
  void add(const std::string& recipient, const position& at, int64_t due_ms);
  // Delivered, given up or dropped: no longer pending.
  void remove(const std::string& recipient, const position& at);
  // A pending delivery is next due at `due_ms` (after a failed attempt).
  void set_due(const std::string& recipient, const position& at, int64_t due_ms);

  // The head of an idle recipient due at `now_ms` (earliest first); its recipient is busy
  // until release(). nullopt when nothing is due.
  std::optional<std::pair<std::string, position>> take_due(int64_t now_ms);
  void release(const std::string& recipient);

  // When the next idle recipient's head is due, if any.
  std::optional<int64_t> next_due() const;
  size_t pending() const { return pending_; }

 private:
  struct recipient_queue {
    std::map<position, int64_t> due;  // pending deliveries → due time, in order
    bool busy = false;
    std::optional<int64_t> listed;  // its entry in due_heads_, if any
  };
  // Lists the recipient's head in due_heads_ when it is idle and has one.
  void relist(const std::string& recipient, recipient_queue& q);

  std::unordered_map<std::string, recipient_queue> recipients_;
  std::set<std::pair<int64_t, std::string>> due_heads_;  // (due, recipient), idle ones only
  size_t pending_ = 0;
};

}  // namespace sb
