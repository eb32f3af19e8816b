// The routing core of one merchant's agent pool: which agent gets which conversation, and the
// FIFO queue of those waiting. Pure and single-threaded: the agent pool actor owns one router
// per merchant and calls it from its own thread only; time is always passed in.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "base/ids.hpp"

namespace sb::chat {

enum class presence { online, away, offline };
using strategy = routing_strategy;

using time_point = std::chrono::steady_clock::time_point;

struct agent_info {
  std::string id;
  uint32_t weight = 1;
  uint32_t max_concurrent = 5;
  presence state = presence::offline;
  std::vector<std::string> convs;  // assigned to it, in assignment order
  time_point idle_since{};         // last assignment, or when it came online
  time_point offline_since{};      // meaningful while state == offline
  uint64_t enrol_order = 0;
};

struct assignment {
  std::string conv;
  std::string agent;
  bool operator==(const assignment&) const = default;
};

// A conversation taken from an agent that stayed offline too long.
struct requeued {
  std::string conv;
  std::string agent;  // the agent it was taken from
  bool operator==(const requeued&) const = default;
};

// Candidates are online agents with free capacity (convs.size() < max_concurrent):
// - weighted_least_load: lowest convs.size() / weight, ties to the smallest idle_since, then
//   to the earliest enrolled;
// - round_robin: the first candidate in enrolment order after the agent last assigned, wrapping.
// Away and offline agents keep their conversations but get no new ones; lowering an agent's
// capacity below its load takes nothing away either.
//
// Invariant after every call: no queued conversation could be assigned to a candidate. Hence a
// new conversation is assigned at once whenever there is a candidate, and every event that
// frees capacity drains the queue from its head. The one exception to plain FIFO: a
// conversation that an agent sent back to the queue (transfer with no target) is not offered
// to that agent again while it waits, so that agent's freed slot goes to the next one in line.
//
// Results list assignments in the order they were made. Every assignment sets the agent's
// idle_since to `now`. Arguments must not refer into the router's own state (queue(),
// agent_info::convs): calls change it. Copy first.
class router {
 public:
  explicit router(strategy s);
  void set_strategy(strategy s);

  // Enrols a new agent (offline until set_presence) or updates an enrolled one, keeping its
  // conversations. nullopt when weight or max_concurrent is 0; otherwise the assignments
  // drained from the queue into raised capacity.
  std::optional<std::vector<assignment>> enrol(const std::string& agent, uint32_t weight,
                                               uint32_t max_concurrent, time_point now);
  bool enrolled(const std::string& agent) const;

  // Presence change of an enrolled agent (unknown agents are ignored). Coming online from away
  // or offline resets idle_since and drains the queue into the agent's capacity: returns those
  // assignments. Going offline records offline_since; its conversations stay with it until
  // expire_offline.
  std::vector<assignment> set_presence(const std::string& agent, presence p, time_point now);

  // A new or reopened conversation: assigned at once (returned) or queued at the back
  // (nullopt). A conversation already queued or assigned is left as it is (nullopt).
  std::optional<assignment> route(const std::string& conv, time_point now);

  // A resolved conversation: frees its agent's slot (or leaves the queue), then drains the
  // queue into free capacity and returns those assignments. Unknown conversations are ignored.
  std::vector<assignment> release(const std::string& conv, time_point now);

  // Moves an assigned conversation to agent `to`, which must be enrolled ("no_such_agent"),
  // online with free capacity and not the current agent ("agent_unavailable"). With `to` empty
  // the conversation goes to another candidate if there is one, else to the FRONT of the queue
  // (see the class comment). "not_assigned" when the conversation is not assigned. On success
  // returns the transfer's own assignment first (none when it was queued), then those drained
  // into the slot it freed.
  std::variant<std::vector<assignment>, std::string> transfer(const std::string& conv,
                                                              const std::string& to,
                                                              time_point now);

  // Agent `agent` takes a conversation waiting in the queue, out of FIFO order: "not_queued"
  // when it is not queued, "no_such_agent" when the agent is not enrolled, "agent_unavailable"
  // when it is offline or at capacity (away agents may take: that is how they pick work).
  // On success the assignment.
  std::variant<assignment, std::string> take(const std::string& conv, const std::string& agent,
                                             time_point now);

  // Agents offline for longer than `grace` lose their conversations: they go to the FRONT of
  // the queue, ahead of anything already queued, by agent in enrolment order and then in
  // assignment order. Returns what was requeued, then what drained to candidates.
  std::pair<std::vector<requeued>, std::vector<assignment>> expire_offline(
      std::chrono::milliseconds grace, time_point now);

  // 1-based position in the queue, 0 when not queued. Linear in the queue length.
  size_t position(const std::string& conv) const;
  const std::deque<std::string>& queue() const { return queue_; }
  std::optional<std::string> agent_of(const std::string& conv) const;
  // nullptr when not enrolled. Agents are never removed, so pointers stay valid for the
  // router's lifetime (their contents change with later calls).
  const agent_info* agent(const std::string& id) const;
  std::vector<const agent_info*> agents() const;  // in enrolment order

 private:
  agent_info* find(const std::string& id);
  bool candidate(const agent_info& a) const;
  // The strategy's choice among candidates other than `excluded` (may be null), or null.
  agent_info* pick(const std::string* excluded);
  agent_info* pick_least_load(const std::string* excluded);
  agent_info* pick_round_robin(const std::string* excluded);
  assignment assign(const std::string& conv, agent_info& a, time_point now);
  void unassign(const std::string& conv);  // conv must be assigned
  void enqueue_front(std::vector<std::string> convs);
  std::vector<assignment> drain(time_point now);

  strategy strategy_;
  std::deque<agent_info> agents_;  // in enrolment order; a deque so pointers stay valid
  std::unordered_map<std::string, size_t> index_;       // agent id → position in agents_
  std::unordered_map<std::string, std::string> owner_;  // assigned conv → agent id
  std::deque<std::string> queue_;
  // queued conv → the agent that sent it back to the queue ("" when none).
  std::unordered_map<std::string, std::string> queued_;
  std::optional<size_t> last_assigned_;  // position in agents_, for round_robin
};

}  // namespace sb::chat
