#include "actors/agent_pool.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <variant>

#include "actors/mailbox_backlog.hpp"
#include "actors/stream_names.hpp"
#include "cluster/registry.hpp"
#include "codec/frames.hpp"

namespace sb {

namespace {

using self_ptr = pool_actor::stateful_pointer<agent_pool_state>;
namespace json = boost::json;

chat::time_point now() {
  return std::chrono::steady_clock::now();
}

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

constexpr uint32_t owner_attempts = 8;
constexpr auto owner_retry_delay = std::chrono::milliseconds(250);

// Sends `msg` to the owner of `key`, found through the registry. Messages to one key keep
// their order: the registry answers resolves in order. A lookup that fails (the owner's
// partition is moving, or its node is down) is retried with growing delays for ~9 s, so an
// assignment is not lost to a handoff; the receivers ignore a repeated assignment.
void send_to_owner(self_ptr self, const std::string& key, caf::message msg, uint32_t attempt = 0) {
  self->request(self->state.registry, std::chrono::seconds(5), cluster::resolve_atom::value, key)
      // anon_send: a typed actor may send() only to typed ones; owners answer nothing here.
      .then([msg](caf::actor owner) { caf::anon_send(owner, msg); },
            [self, key, msg, attempt](caf::error&) {
              if (attempt < owner_attempts)
                self->delayed_send(self, owner_retry_delay * (attempt + 1), owner_retry_atom::value,
                                   key, msg, attempt + 1);
            });
}

void inbox_entry(self_ptr self, const std::string& agent, const char* kind,
                 const std::string& conv) {
  json::object data{{"conv", conv}, {"customer", self->state.conversations[conv].customer}};
  auto msg =
      caf::make_message(append_atom::value, append_request{kind, json::serialize(data), "", ""});
  // A request, so the inbox's answer is expected here (its content is not needed).
  self->request(self->state.registry, std::chrono::seconds(5), cluster::resolve_atom::value,
                inbox_stream(agent))
      .then(
          [self, msg](caf::actor inbox) {
            self->request(inbox, std::chrono::seconds(10), msg)
                .then([](append_result&) {}, [](caf::error&) {});
          },
          [](caf::error&) {});
}

template <class... Ts>
void tell_connections(self_ptr self, const std::string& agent, const Ts&... xs) {
  for (auto& conn : self->state.connections[agent]) self->send(conn, xs...);
}

void schedule_save(self_ptr self) {
  if (self->state.save_scheduled) return;
  self->state.save_scheduled = true;
  self->send(self, save_atom::value);
}

void apply(self_ptr self, const stream_deps& deps, const chat::assignment& a) {
  auto& c = self->state.conversations[a.conv];
  const double waited = std::chrono::duration<double>(now() - c.queued_at).count();
  self->state.average_wait_s = 0.8 * self->state.average_wait_s + 0.2 * waited;
  deps.metrics->observe_queue_wait(self->state.merchant, waited);
  deps.metrics->count_assignment(self->state.strategy);
  c.status = "in_progress";
  c.agent = a.agent;
  c.pushed_position = 0;
  send_to_owner(self, conv_stream(a.conv), caf::make_message(assign_atom::value, a.agent));
  inbox_entry(self, a.agent, "assigned", a.conv);
  tell_connections(self, a.agent, follow_atom::value, conv_stream(a.conv));
}

void apply_all(self_ptr self, const stream_deps& deps, const std::vector<chat::assignment>& as) {
  for (const auto& a : as) apply(self, deps, a);
}

// Takes a conversation away from `agent` (transfer, offline past grace, resolved).
void take_away(self_ptr self, const std::string& conv, const std::string& agent) {
  inbox_entry(self, agent, "unassigned", conv);
  tell_connections(self, agent, unfollow_atom::value, conv_stream(conv));
}

void requeue(self_ptr self, const std::string& conv, const std::string& agent) {
  auto& c = self->state.conversations[conv];
  c.status = "unassigned";
  c.agent.clear();
  c.queued_at = now();
  c.queued_ms = wall_ms();
  send_to_owner(self, conv_stream(conv), caf::make_message(assign_atom::value, std::string()));
  take_away(self, conv, agent);
}

// The queue as agents see it: {"waiting":[{"conv","customer","since"}]}, oldest first.
std::string waiting_json(self_ptr self) {
  json::array waiting;
  for (const auto& conv : self->state.router->queue()) {
    const auto& c = self->state.conversations[conv];
    waiting.push_back(
        json::object{{"conv", conv}, {"customer", c.customer}, {"since", c.queued_ms}});
  }
  return json::serialize(json::object{{"waiting", std::move(waiting)}});
}

void send_waiting(self_ptr self, const connection_actor& conn, const std::string& data) {
  auto frame = std::make_shared<const std::string>(codec::encode_event("waiting", "", data));
  self->send(conn, frame_batch{pool_key(self->state.merchant), 0, {frame}});
}

// Pushes the waiting list to every agent's connections when it changed.
void tell_waiting(self_ptr self) {
  auto data = waiting_json(self);
  if (data == self->state.waiting_sent) return;
  self->state.waiting_sent = data;
  for (const auto& [agent, conns] : self->state.connections)
    for (const auto& conn : conns) send_waiting(self, conn, data);
}

// Tells waiting customers their position when it changed; publishes the gauges.
void after_change(self_ptr self, const stream_deps& deps) {
  auto& st = self->state;
  // Waiting customers are told whether anyone is online at all (else they leave a message).
  uint32_t online = 0;
  for (const auto* a : st.router->agents())
    if (a->state == chat::presence::online) ++online;
  const bool online_changed = (online > 0) != (st.online_told > 0);
  st.online_told = online;
  uint32_t position = 0;
  for (const auto& conv : st.router->queue()) {
    ++position;
    auto& c = st.conversations[conv];
    if (c.pushed_position == position && !online_changed) continue;
    c.pushed_position = position;
    auto wait = static_cast<uint32_t>(std::ceil(st.average_wait_s * position));
    send_to_owner(self, conv_stream(conv),
                  caf::make_message(queue_atom::value, position, wait, online));
  }
  std::map<std::string, int64_t> by_status{{"unassigned", 0}, {"in_progress", 0}, {"resolved", 0}};
  for (const auto& [id, c] : st.conversations) ++by_status[c.status];
  for (const auto& [status, n] : by_status) deps.metrics->set_conversations(st.merchant, status, n);
  deps.metrics->set_queue_length(st.merchant, static_cast<int64_t>(st.router->queue().size()));
  tell_waiting(self);
  for (const auto* a : st.router->agents())
    deps.metrics->set_agent_utilisation(st.merchant, a->id,
                                        double(a->convs.size()) / double(a->max_concurrent));
  schedule_save(self);
}

std::string state_json(self_ptr self) {
  auto& st = self->state;
  json::array agents, convs, queue;
  for (const auto* a : st.router->agents())
    agents.push_back(
        json::object{{"id", a->id}, {"weight", a->weight}, {"max_concurrent", a->max_concurrent}});
  // Resolved ones too: their agents keep listing them after a restart.
  for (const auto& [id, c] : st.conversations)
    convs.push_back(json::object{{"id", id},
                                 {"customer", c.customer},
                                 {"status", c.status},
                                 {"agent", c.agent},
                                 {"resolved_n", c.resolved_n}});
  for (const auto& conv : st.router->queue()) queue.push_back(json::value(conv));
  return json::serialize(
      json::object{{"agents", agents}, {"conversations", convs}, {"queue", queue}});
}

// Live state for sbctl and /admin (inspect pool/<merchant>): agents with presence and load,
// the queue with each conversation's customer and waiting time.
std::string describe(self_ptr self) {
  auto& st = self->state;
  const auto t = now();
  json::array agents, queue;
  for (const auto* a : st.router->agents())
    agents.push_back(json::object{
        {"id", a->id},
        {"online", a->state == chat::presence::online},
        {"presence", a->state == chat::presence::online ? "online"
                     : a->state == chat::presence::away ? "away"
                                                        : "offline"},
        {"active", a->convs.size()},
        {"weight", a->weight},
        {"max_concurrent", a->max_concurrent},
        {"connections", st.connections.count(a->id) ? st.connections.at(a->id).size() : 0}});
  for (const auto& conv : st.router->queue()) {
    auto it = st.conversations.find(conv);
    json::object q{{"conv", conv}};
    if (it != st.conversations.end()) {
      q["customer"] = it->second.customer;
      q["waiting_ms"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(t - it->second.queued_at).count();
    }
    queue.push_back(std::move(q));
  }
  return json::serialize(json::object{{"stream", pool_key(st.merchant)},
                                      {"seq", 0},
                                      {"mailbox", mailbox_backlog(self)},
                                      {"strategy", st.strategy},
                                      {"principals", json::array{}},
                                      {"agents", agents},
                                      {"queue", queue}});
}

// Rebuilds the router from the stored state: agents come back offline, keeping their
// conversations until routing.offline_grace has passed without them reconnecting.
void restore(self_ptr self, const stream_deps& deps) {
  auto& st = self->state;
  auto stored = deps.store->state(pool_key(st.merchant));
  if (!stored) return;
  auto o = json::parse(*stored).as_object();
  const auto t = now();
  for (const auto& a : o.at("agents").as_array()) {
    const auto& ao = a.as_object();
    st.router->enrol(std::string(ao.at("id").as_string()),
                     static_cast<uint32_t>(ao.at("weight").to_number<int64_t>()),
                     static_cast<uint32_t>(ao.at("max_concurrent").to_number<int64_t>()), t);
  }
  for (const auto& c : o.at("conversations").as_array()) {
    const auto& co = c.as_object();
    std::string id(co.at("id").as_string());
    // Stored before the cap existed: no resolved_n, so the oldest.
    const auto* n = co.if_contains("resolved_n");
    const uint64_t resolved_n = n ? n->to_number<uint64_t>() : 0;
    st.resolved_count = std::max(st.resolved_count, resolved_n);
    st.conversations[id] = {std::string(co.at("customer").as_string()),
                            std::string(co.at("status").as_string()),
                            std::string(co.at("agent").as_string()),
                            t,
                            0,
                            wall_ms(),
                            resolved_n};
  }
  // Assignments: each agent alone online while its conversations are routed to it.
  for (auto& [id, c] : st.conversations) {
    if (c.status != "in_progress" || !st.router->enrolled(c.agent)) continue;
    st.router->set_presence(c.agent, chat::presence::online, t);
    st.router->route(id, t);
    st.router->set_presence(c.agent, chat::presence::offline, t);
  }
  for (const auto& q : o.at("queue").as_array()) st.router->route(std::string(q.as_string()), t);
}

// Routes a new or reopened conversation; the agent it went to, "" when queued.
std::string route(self_ptr self, const stream_deps& deps, const std::string& conv,
                  const std::string& customer) {
  auto& st = self->state;
  st.conversations[conv] = {customer, "unassigned", "", now(), 0, wall_ms(), 0};
  std::string agent;
  if (auto a = st.router->route(conv, now())) {
    agent = a->agent;
    apply(self, deps, *a);
  }
  after_change(self, deps);
  return agent;
}

std::string list_json(self_ptr self, const stream_deps& deps, const chat_principal& who,
                      const std::string& status) {
  json::array out;
  for (const auto& [id, c] : self->state.conversations) {
    if (!status.empty() && c.status != status) continue;
    if (who.role == "agent" &&
        !(c.status == "unassigned" || (c.status != "unassigned" && c.agent == who.sub)))
      continue;
    json::object o{{"id", id},
                   {"status", c.status},
                   {"customer", c.customer},
                   {"last_seq", deps.store->last_seq(conv_stream(id))}};
    o["agent"] = c.agent.empty() ? json::value(nullptr) : json::value(c.agent);
    out.push_back(std::move(o));
  }
  return json::serialize(json::object{{"conversations", std::move(out)}});
}

chat::strategy strategy_for(const config::settings& cfg, const std::string& merchant) {
  std::string name = cfg.routing.strategy;
  for (const auto& [m, s] : cfg.routing.strategies)
    if (m == merchant) name = s;
  return parse_routing_strategy(name).value_or(routing_strategy::weighted_least_load);
}

}  // namespace

void forget_oldest_resolved(std::map<std::string, pool_conversation>& conversations,
                            const std::string& agent, size_t keep) {
  std::vector<std::pair<uint64_t, std::string>> resolved;  // (resolved_n, id)
  for (const auto& [id, c] : conversations)
    if (c.status == "resolved" && c.agent == agent) resolved.emplace_back(c.resolved_n, id);
  if (resolved.size() <= keep) return;
  const auto cut = resolved.begin() + static_cast<std::ptrdiff_t>(resolved.size() - keep);
  std::nth_element(resolved.begin(), cut, resolved.end());
  for (auto it = resolved.begin(); it != cut; ++it) conversations.erase(it->second);
}

pool_actor::behavior_type agent_pool(pool_actor::stateful_pointer<agent_pool_state> self,
                                     std::string merchant, stream_deps deps, caf::actor registry) {
  auto& st = self->state;
  st.merchant = merchant;
  st.registry = std::move(registry);
  const auto strategy = strategy_for(*deps.cfg, merchant);
  st.strategy = to_string(strategy);
  st.router = std::make_unique<chat::router>(strategy);
  for (const auto& a : deps.cfg->chat.agents)
    if (a.merchant == merchant) st.router->enrol(a.id, a.weight, a.max_concurrent, now());
  restore(self, deps);
  if (!st.conversations.empty())
    self->delayed_send(self, deps.cfg->routing.offline_grace + std::chrono::milliseconds(50),
                       expire_atom::value);

  self->set_down_handler([self, deps](const caf::down_msg& msg) {
    auto& st = self->state;
    for (auto& [agent, conns] : st.connections) {
      auto it = std::find_if(conns.begin(), conns.end(),
                             [&](const connection_actor& c) { return c.address() == msg.source; });
      if (it == conns.end()) continue;
      conns.erase(it);
      if (conns.empty()) {
        st.router->set_presence(agent, chat::presence::offline, now());
        self->delayed_send(self, deps.cfg->routing.offline_grace + std::chrono::milliseconds(50),
                           expire_atom::value);
        after_change(self, deps);
      }
      return;
    }
  });
  return {
      [self](owner_retry_atom, const std::string& key, const caf::message& msg, uint32_t attempt) {
        send_to_owner(self, key, msg, attempt);
      },
      [self, deps](route_atom, const std::string& conv, const std::string& customer) {
        route(self, deps, conv, customer);
      },
      // The same as a request: answers the agent, "" when queued. (A separate signature: a
      // value answered to a plain send would reach the sender as an unexpected message.)
      [self, deps](route_atom, const std::string& conv, const std::string& customer, bool) {
        return route(self, deps, conv, customer);
      },
      [self, deps](released_atom, const std::string& conv) {
        auto& st = self->state;
        auto it = st.conversations.find(conv);
        if (it == st.conversations.end()) return;
        if (!it->second.agent.empty()) take_away(self, conv, it->second.agent);
        it->second.status = "resolved";
        it->second.resolved_n = ++st.resolved_count;
        const std::string agent = it->second.agent;
        apply_all(self, deps, st.router->release(conv, now()));
        forget_oldest_resolved(st.conversations, agent, resolved_kept_per_agent);
        after_change(self, deps);
      },
      [self, deps](transfer_atom, const std::string& conv, const std::string& from,
                   const std::string& to) -> caf::result<std::string> {
        auto& st = self->state;
        if (st.router->agent_of(conv) != from)
          return make_error(stream_errc::not_assigned, "the conversation is not assigned to you");
        auto result = st.router->transfer(conv, to, now());
        if (auto* err = std::get_if<std::string>(&result)) {
          auto code = *err == "no_such_agent"       ? stream_errc::no_such_agent
                      : *err == "agent_unavailable" ? stream_errc::agent_unavailable
                                                    : stream_errc::not_assigned;
          return make_error(code, "cannot transfer to " + (to.empty() ? "the queue" : to));
        }
        auto& moves = std::get<std::vector<chat::assignment>>(result);
        if (!moves.empty() && moves.front().conv == conv)
          take_away(self, conv, from);  // the first move assigns it to its new agent
        else
          requeue(self, conv, from);
        apply_all(self, deps, moves);
        after_change(self, deps);
        return std::string("ok");
      },
      [self, deps](join_atom, const std::string& agent, const caf::actor& from) {
        auto conn = as_connection(from);
        auto& st = self->state;
        if (!st.router->enrolled(agent) && deps.cfg->node.dev_mode)
          st.router->enrol(agent, 1, 5, now());
        std::vector<std::string> streams;
        if (!st.router->enrolled(agent)) return streams;
        self->monitor(conn);
        st.connections[agent].push_back(conn);
        const auto* info = st.router->agent(agent);
        if (info->state == chat::presence::offline)
          apply_all(self, deps, st.router->set_presence(agent, chat::presence::online, now()));
        for (const auto& conv : st.router->agent(agent)->convs)
          streams.push_back(conv_stream(conv));
        after_change(self, deps);
        send_waiting(self, conn, st.waiting_sent);  // set by after_change
        return streams;
      },
      [self, deps](presence_atom, const std::string& agent, const std::string& status) {
        auto& st = self->state;
        if (!st.router->enrolled(agent) || st.connections[agent].empty()) return;
        auto p = status == "away" ? chat::presence::away : chat::presence::online;
        apply_all(self, deps, st.router->set_presence(agent, p, now()));
        after_change(self, deps);
      },
      [self, deps](expire_atom) {
        auto& st = self->state;
        auto [requeued, moves] = st.router->expire_offline(deps.cfg->routing.offline_grace, now());
        for (const auto& r : requeued) requeue(self, r.conv, r.agent);
        apply_all(self, deps, moves);
        if (!requeued.empty() || !moves.empty()) after_change(self, deps);
      },
      [self, deps](enrol_atom, const std::string& agent, uint32_t weight,
                   uint32_t max_concurrent) -> caf::result<std::string> {
        auto& st = self->state;
        auto moves = st.router->enrol(agent, weight, max_concurrent, now());
        if (!moves)
          return make_error(stream_errc::invalid_field, "weight and max_concurrent must be >= 1");
        if (!st.connections[agent].empty())
          apply_all(self, deps, st.router->set_presence(agent, chat::presence::online, now()));
        apply_all(self, deps, *moves);
        after_change(self, deps);
        return json::serialize(json::object{{"merchant", st.merchant},
                                            {"agent", agent},
                                            {"weight", weight},
                                            {"max_concurrent", max_concurrent}});
      },
      [self, deps](take_atom, const std::string& agent,
                   const std::string& conv) -> caf::result<std::string> {
        auto& st = self->state;
        auto it = st.conversations.find(conv);
        if (it != st.conversations.end() && it->second.agent == agent &&
            it->second.status == "in_progress")
          return std::string("ok");  // taken already (a repeated take)
        auto result = st.router->take(conv, agent, now());
        if (auto* a = std::get_if<chat::assignment>(&result)) {
          apply(self, deps, *a);
          after_change(self, deps);
          return std::string("ok");
        }
        const auto& why = std::get<std::string>(result);
        // Not waiting here: another merchant's, assigned to someone else, or unknown alike.
        if (why == "not_queued" || why == "no_such_agent")
          return make_error(stream_errc::not_found, "no such conversation waiting");
        return make_error(stream_errc::agent_unavailable,
                          "you are offline or at capacity; resolve a conversation first");
      },
      [self, deps](list_atom, const chat_principal& who, const std::string& status) {
        return list_json(self, deps, who, status);
      },
      [self](inspect_atom) { return describe(self); },
      [self, deps](save_atom) {
        self->state.save_scheduled = false;
        storage::write_set set;
        set.put_state(pool_key(self->state.merchant), state_json(self));
        deps.commit->submit(std::move(set), {});
      },
  };
}

}  // namespace sb
