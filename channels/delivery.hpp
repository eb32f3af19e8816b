// What the outbox hands a channel to deliver, and what the channel answers. An outbound
// message is one agent reply in a conversation whose customer is on WeChat or an app.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::channels {

struct outbound_message {
  std::string id;  // the conversation entry's id: unique, the receiver's idempotency key
  std::string merchant;
  std::string conv;       // conversation id
  uint64_t seq = 0;       // the entry's seq in conv:<conv>
  int64_t ts_ms = 0;      // the entry's append time
  std::string recipient;  // the channel's user id: WeChat openid or app user
  std::string from;       // the agent who wrote it
  std::string text;       // as the agent wrote it (the customer's own channel: no masking)
};

enum class delivery_status {
  delivered,  // the channel accepted it: never send again
  retry,      // transient (network, 5xx, throttling, expired token after one refresh)
  permanent,  // the channel refused it for good (bad recipient, 4xx, bad credentials)
};

struct delivery_outcome {
  delivery_status status = delivery_status::retry;
  std::string error;  // one line for /admin/outbox and logs; never holds secrets or tokens
};

// What an outbox record stores about a delivery (its payload, JSON): the channel's name and the
// message without the entry's id, seq and time, which the record keeps itself.
std::string delivery_payload(std::string_view channel, const outbound_message& msg);

// The inverse: the channel's name and the message, completed with the entry's id, seq and
// time; nullopt when the payload is not such a document.
struct stored_delivery {
  std::string channel;
  outbound_message message;
};
std::optional<stored_delivery> read_delivery_payload(std::string_view payload, std::string id,
                                                     uint64_t seq, int64_t ts_ms);

}  // namespace sb::channels
