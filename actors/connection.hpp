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

#include "actors/interfaces.hpp"
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

struct connection_state {
  std::weak_ptr<socket_sink> sink;
  codec::principal who;
  bool greeted = false;
  std::vector<std::string> streams;                      // what the principal reads
  std::unordered_map<std::string, caf::actor> owners;    // stream → owner, once resolved
  std::unordered_map<std::string, uint64_t> early_acks;  // acks sent before the owner was found
  std::unordered_map<std::string, uint64_t> sent;        // stream → last seq sent to the socket
  std::set<std::string> unavailable;       // streams whose owner cannot be reached right now
  caf::actor pool;                         // agents: the pool they joined (monitored)
  bool pool_unavailable = false;           // agents: an error frame went out for this outage
  std::function<void()> start_after_join;  // agents: starts the streams once joined
  std::set<std::string> released;          // agents: conversations unfollowed (acks still fine)
  // conv → when a typing event was last relayed (they are throttled, not refused)
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_typing;
  static inline const char* name = "sb.connection";
};

caf::behavior connection(caf::stateful_actor<connection_state>* self,
                         std::weak_ptr<socket_sink> sink, codec::principal who,
                         connection_deps deps);

}  // namespace sb
