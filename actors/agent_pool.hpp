// The agent pool actor: one per merchant ("pool:<merchant>" in the registry). Owns the
// merchant's routing (actors/routing.hpp): enrolled agents, their presence (from their
// connections and the presence op), the FIFO queue and who handles which conversation. Every
// decision goes out as a status entry on the conversation, an entry on the agent's inbox and a
// follow/unfollow to the agent's connections; its state is stored so a restart keeps the work.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/connection_actor.hpp"
#include "actors/durable_stream.hpp"
#include "actors/pool_actor.hpp"
#include "actors/routing.hpp"

namespace sb {

struct pool_conversation {
  std::string customer;
  std::string status;  // unassigned | in_progress | resolved
  std::string agent;
  chat::time_point queued_at{};
  uint32_t pushed_position = 0;  // last queue position told to the customer
  int64_t queued_ms = 0;         // wall clock (ms UTC) of queued_at, shown to agents
  uint64_t resolved_n = 0;       // order of resolution (higher: newer), for the cap below
};

// Resolved conversations kept per agent (and for those resolved while queued): listing and
// storing every one ever resolved would grow the pool's state without bound.
constexpr size_t resolved_kept_per_agent = 200;

// Forgets `agent`'s oldest resolved conversations beyond `keep` ("" = resolved unassigned).
void forget_oldest_resolved(std::map<std::string, pool_conversation>& conversations,
                            const std::string& agent, size_t keep);

struct agent_pool_state {
  std::string merchant;
  std::string strategy;
  std::unique_ptr<chat::router> router;
  std::map<std::string, pool_conversation> conversations;
  std::unordered_map<std::string, std::vector<connection_actor>> connections;  // agent → sockets
  caf::actor registry;
  std::string waiting_sent;     // the last waiting list told to agents (JSON)
  uint32_t online_told = 0;     // online agents when waiting customers were last told
  double average_wait_s = 60;   // of recent assignments, for queue estimates
  uint64_t resolved_count = 0;  // the last resolved_n given
  bool save_scheduled = false;
  static inline const char* name = "sb.agent_pool";
};

// The interface: actors/pool_actor.hpp.
pool_actor::behavior_type agent_pool(pool_actor::stateful_pointer<agent_pool_state> self,
                                     std::string merchant, stream_deps deps, caf::actor registry);

}  // namespace sb
