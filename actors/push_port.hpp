// A connection's socket, handed to a stream owner on the same node so the owner writes pushes
// to it directly instead of sending each batch through the connection actor (one actor hop and
// one mailbox enqueue less per push; the fan-out to many tabs pays most). The owner records the
// last seq it wrote, so the connection resubscribes after a move or an owner restart from
// exactly there: no gap, no duplicate. Never sent to another node.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>

#include <caf/all.hpp>

#include "actors/socket_sink.hpp"

namespace sb {

struct push_port {
  explicit push_port(std::weak_ptr<socket_sink> s, uint64_t already_sent)
      : sink(std::move(s)), sent(already_sent) {}
  std::weak_ptr<socket_sink> sink;
  std::atomic<uint64_t> sent;  // written by the owner, read by the connection
};

using push_port_ptr = std::shared_ptr<push_port>;

}  // namespace sb

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::push_port_ptr)
