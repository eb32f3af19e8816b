#include "actors/outbox_queue.hpp"

namespace sb {

void outbox_queue::relist(const std::string& recipient, recipient_queue& q) {
  if (q.listed) due_heads_.erase({*q.listed, recipient});
  q.listed.reset();
  if (q.busy) return;
  if (q.due.empty()) {
    recipients_.erase(recipient);  // `q` dangles from here on
    return;
  }
  q.listed = q.due.begin()->second;
  due_heads_.emplace(*q.listed, recipient);
}

void outbox_queue::add(const std::string& recipient, const position& at, int64_t due_ms) {
  auto& q = recipients_[recipient];
  if (q.due.emplace(at, due_ms).second) ++pending_;
  relist(recipient, q);
}

void outbox_queue::remove(const std::string& recipient, const position& at) {
  auto it = recipients_.find(recipient);
  if (it == recipients_.end()) return;
  pending_ -= it->second.due.erase(at);
  relist(recipient, it->second);
}

void outbox_queue::set_due(const std::string& recipient, const position& at, int64_t due_ms) {
  auto it = recipients_.find(recipient);
  if (it == recipients_.end()) return;
  if (auto d = it->second.due.find(at); d != it->second.due.end()) d->second = due_ms;
  relist(recipient, it->second);
}

std::optional<std::pair<std::string, outbox_queue::position>> outbox_queue::take_due(
    int64_t now_ms) {
  if (due_heads_.empty() || due_heads_.begin()->first > now_ms) return std::nullopt;
  const std::string recipient = due_heads_.begin()->second;
  auto& q = recipients_.at(recipient);
  q.busy = true;
  relist(recipient, q);
  return std::pair{recipient, q.due.begin()->first};
}

void outbox_queue::release(const std::string& recipient) {
  auto it = recipients_.find(recipient);
  if (it == recipients_.end()) return;
  it->second.busy = false;
  relist(recipient, it->second);
}

std::optional<int64_t> outbox_queue::next_due() const {
  if (due_heads_.empty()) return std::nullopt;
  return due_heads_.begin()->first;
}

}  // namespace sb
