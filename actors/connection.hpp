// The connection actor: one per WebSocket. Parses the client's frames, subscribes to the
// streams its principal reads (found through the registry), forwards owners' frame batches
// to the socket and the client's acks to the owners. Talks to its socket only through the
// weak socket_sink handle; the socket talks to it only by (frame_atom, text) and (closed_atom).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/connection_actor.hpp"
#include "actors/interfaces.hpp"
#include "actors/pool_actor.hpp"
#include "actors/push_port.hpp"
#include "actors/socket_sink.hpp"
#include "codec/jwt.hpp"
#include "codec/metrics.hpp"
#include "codec/rate_limiter.hpp"
#include "config/config.hpp"

namespace sb {

struct connection_deps {
  caf::actor registry;
  const config::settings* cfg = nullptr;
  codec::metrics* metrics = nullptr;
  codec::rate_limiter* principal_limiter = nullptr;  // shared by every connection, thread-safe
};

// What a connection knows of one stream it reads. A connection reads one stream or a few: a
// vector searched in order costs less per idle socket than maps keyed by stream.
struct stream_link {
  std::string stream;
  caf::actor owner;          // once resolved
  uint64_t sent = 0;         // last seq sent to the socket through this actor
  push_port_ptr port;        // a local owner writes to the socket itself (push_port.hpp)
  uint64_t early_ack = 0;    // acked before the owner was found
  bool unavailable = false;  // its owner cannot be reached right now (one error frame sent)
  // An owner left because its node stopped answering: what it still sends is not forwarded
  // (the next owner resumes from `sent`, and a stale push must not move `sent` past it).
  caf::actor_addr abandoned;
};

// Agents' and customers' state, made on first use: a merchant dashboard never needs it.
struct chat_state {
  pool_actor pool;                         // agents: the pool they joined (monitored)
  bool pool_unavailable = false;           // agents: an error frame went out for this outage
  std::function<void()> start_after_join;  // agents: starts the streams once joined
  std::set<std::string> released;          // agents: conversations unfollowed (acks still fine)
  // conv → when a typing event was last relayed (they are throttled, not refused)
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_typing;
};

struct connection_state {
  connection_deps deps;
  std::weak_ptr<socket_sink> sink;
  codec::principal who;
  bool greeted = false;
  std::vector<std::string> streams;  // what the principal reads
  std::vector<stream_link> links;    // per stream read, once subscribing
  std::unique_ptr<chat_state> chat;
  static inline const char* name = "sb.connection";
};

// The interface: actors/connection_actor.hpp.
connection_actor::behavior_type connection(
    connection_actor::stateful_pointer<connection_state> self, std::weak_ptr<socket_sink> sink,
    codec::principal who, connection_deps deps);

}  // namespace sb
