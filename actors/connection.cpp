#include "actors/connection.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "actors/stream_names.hpp"
#include "cluster/registry.hpp"
#include "codec/frames.hpp"

namespace sb {

namespace {

using self_ptr = connection_actor::stateful_pointer<connection_state>;
namespace json = boost::json;
constexpr auto request_timeout = std::chrono::seconds(10);
constexpr auto resubscribe_delay = std::chrono::milliseconds(250);
// Typing events are relayed at most this often per conversation and connection.
constexpr auto typing_interval = std::chrono::milliseconds(1000);

const char* op_name(codec::client_op op) {
  switch (op) {
    case codec::client_op::hello:
      return "hello";
    case codec::client_op::ack:
      return "ack";
    case codec::client_op::send:
      return "send";
    case codec::client_op::typing:
      return "typing";
    case codec::client_op::resolve:
      return "resolve";
    case codec::client_op::transfer:
      return "transfer";
    case codec::client_op::take:
      return "take";
    case codec::client_op::leave:
      return "leave";
    case codec::client_op::presence:
      return "presence";
  }
  return "";
}

void send_text(self_ptr self, std::string text) {
  if (auto sink = self->state.sink.lock())
    sink->send({std::make_shared<const std::string>(std::move(text))});
}

void send_error(self_ptr self, std::string_view code, std::string_view message,
                std::string_view ref) {
  send_text(self, codec::encode_error_frame(code, message, ref));
}

chat_principal chat_who(self_ptr self) {
  const auto& p = self->state.who;
  return {p.sub, p.role, p.mid};
}

bool reads(self_ptr self, const std::string& stream) {
  const auto& streams = self->state.streams;
  return std::find(streams.begin(), streams.end(), stream) != streams.end();
}

stream_link* find_link(self_ptr self, const std::string& stream) {
  auto& links = self->state.links;
  auto it = std::find_if(links.begin(), links.end(), [&](auto& l) { return l.stream == stream; });
  return it == links.end() ? nullptr : &*it;
}

stream_link& link(self_ptr self, const std::string& stream) {
  if (auto* l = find_link(self, stream)) return *l;
  return self->state.links.emplace_back(stream_link{stream});
}

chat_state& chat(self_ptr self) {
  auto& c = self->state.chat;
  if (!c) c = std::make_unique<chat_state>();
  return *c;
}

// Resolves the owner of `key` and hands it to `then`; an unreachable owner is an error frame,
// or goes to `on_fail` when one is given.
template <class F>
void with_owner(self_ptr self, const connection_deps& deps, const std::string& key,
                std::string_view ref, F then,
                std::function<void(const caf::error&)> on_fail = nullptr) {
  self->request(deps.registry, std::chrono::seconds(5), cluster::resolve_atom::value, key)
      .then([then](caf::actor owner) mutable { then(std::move(owner)); },
            [self, key, ref = std::string(ref), on_fail](caf::error& err) {
              if (on_fail) return on_fail(err);
              send_error(self, error_code(err), key + " is unavailable; retry", ref);
            });
}

// with_owner for the merchant's agent pool, handed to `then` as its typed interface so that
// every message sent to it is checked.
template <class F>
void with_pool(self_ptr self, const connection_deps& deps, std::string_view ref, F then,
               std::function<void(const caf::error&)> on_fail = nullptr) {
  with_owner(
      self, deps, pool_key(self->state.who.mid), ref,
      [then](caf::actor pool) mutable { then(as_pool(pool)); }, std::move(on_fail));
}

// Order streams whose owner runs on this node write to the socket themselves (push_port.hpp).
// Chat streams keep the path through this actor: their owners' other frames to the connection
// (queue events) must stay in order with the pushes.
bool writes_directly(self_ptr self, const std::string& stream, const caf::actor& owner) {
  return owner.node() == self->node() && stream.starts_with(orders_stream(""));
}

// The last seq this connection's socket got of the stream, by either path.
uint64_t sent_of(const stream_link& l) {
  return l.port ? std::max(l.sent, l.port->sent.load(std::memory_order_acquire)) : l.sent;
}

// Resolves the stream's owner and subscribes this connection, resuming after `resume`. An owner
// that cannot be found now (its node is down, its partition is moving) is an error frame and
// a retry later: the socket stays open and the stream resumes where it stopped.
void subscribe(self_ptr self, const connection_deps& deps, const std::string& stream,
               uint64_t resume, bool has_resume) {
  self->request(deps.registry, std::chrono::seconds(5), cluster::resolve_atom::value, stream)
      .then(
          [self, stream, resume, has_resume](caf::actor owner) {
            auto& st = self->state;
            if (!reads(self, stream)) return;  // unfollowed meanwhile
            auto& l = link(self, stream);
            l.unavailable = false;
            if (l.abandoned == owner.address()) l.abandoned = caf::actor_addr{};  // it recovered
            self->monitor(owner);
            l.owner = owner;
            auto me = caf::actor_cast<caf::actor>(self);
            // anon_send to owners: a typed actor may send() only to typed ones, and owners
            // answer none of these.
            if (writes_directly(self, stream, owner)) {
              l.port = std::make_shared<push_port>(st.sink, std::max(l.sent, resume));
              caf::anon_send(owner, subscribe_atom::value, me, st.who.sub, resume, has_resume,
                             st.who.role, l.port);
            } else {
              l.port = nullptr;
              caf::anon_send(owner, subscribe_atom::value, me, st.who.sub, resume, has_resume,
                             st.who.role);
            }
            if (l.early_ack)
              caf::anon_send(owner, ack_atom::value, st.who.sub, std::exchange(l.early_ack, 0));
          },
          [self, stream](caf::error& err) {
            if (!reads(self, stream)) return;
            // One error frame per outage, not one per retry.
            if (!std::exchange(link(self, stream).unavailable, true))
              send_error(self, error_code(err), "stream " + stream + " is unavailable; retrying",
                         "hello");
            self->delayed_send(self, resubscribe_delay, resubscribe_atom::value, stream);
          });
}

// Joins the agent's pool (following the conversations it assigns) and monitors it: a pool that
// moves to another node or restarts is joined again, so the agent never looks offline. The
// first join starts the connection's streams (state.start_after_join).
void join_pool(self_ptr self, const connection_deps& deps) {
  // One error frame per outage, then a quiet retry every second.
  auto retry = [self](const caf::error& err) {
    if (!chat(self).pool_unavailable)
      send_error(self, error_code(err), "the agent pool is unavailable; retrying", "hello");
    chat(self).pool_unavailable = true;
    self->delayed_send(self, resubscribe_delay * 4, rejoin_atom::value);
  };
  with_pool(
      self, deps, "hello",
      [self, deps, retry](const pool_actor& pool) {
        self->request(pool, request_timeout, join_atom::value, self->state.who.sub,
                      caf::actor_cast<caf::actor>(self))
            .then(
                [self, deps, pool](std::vector<std::string>& convs) {
                  auto& st = self->state;
                  auto& ch = chat(self);
                  self->monitor(pool);
                  ch.pool = pool;
                  ch.pool_unavailable = false;
                  const bool started = !ch.start_after_join;
                  for (auto& c : convs)
                    if (!reads(self, c)) {
                      st.streams.push_back(c);
                      if (started) subscribe(self, deps, c, 0, false);
                    }
                  if (auto start = std::move(ch.start_after_join)) {
                    ch.start_after_join = nullptr;
                    start();
                  }
                },
                [retry](caf::error& err) { retry(err); });
      },
      retry);
}

// Forgets the link's owner (down, or left behind on a silent node) and subscribes again,
// resuming after the last seq the socket got.
void subscribe_again(self_ptr self, const connection_deps& deps, stream_link& l) {
  l.owner = nullptr;
  l.sent = sent_of(l);
  subscribe(self, deps, l.stream, l.sent, true);
}

// Ends the connection. Its monitors on owners and on the pool go first: CAF 0.17 keeps a dead
// monitor's entry on the monitored actor, and that entry's weak reference keeps the dead
// connection actor's memory block (~1.2 KB) until the monitored actor itself stops: for every
// connection ever made, on a merchant's owner that stays busy and on a pool.
void end_connection(self_ptr self) {
  auto& st = self->state;
  for (const auto& l : st.links)
    if (l.owner) self->demonitor(l.owner);
  if (st.chat && st.chat->pool) self->demonitor(st.chat->pool.address());
  self->quit();
}

// A peer node stopped answering pings (cluster/peer_probe.hpp): its owners may be hung or cut
// off, and their down_msg would come only when the middleman drops the node (5 s). Leave them
// now and subscribe again: the registry answers owner_unavailable (retried every 250 ms) until
// a takeover serves the stream elsewhere, or the same owner if the node recovers first.
void leave_owners_on(self_ptr self, const connection_deps& deps, const caf::node_id& node) {
  auto& st = self->state;
  if (st.chat && st.chat->pool && st.chat->pool.node() == node) {
    self->demonitor(st.chat->pool.address());
    st.chat->pool = nullptr;
    join_pool(self, deps);
  }
  for (auto& l : st.links)
    if (l.owner && l.owner.node() == node) {
      self->demonitor(l.owner);
      l.abandoned = l.owner.address();
      subscribe_again(self, deps, l);
    }
}

void start_streams(self_ptr self, const connection_deps& deps, const codec::client_frame& f) {
  auto& st = self->state;
  send_text(self, codec::encode_welcome(deps.cfg->node.id, st.who.sub, st.streams));
  for (const auto& stream : st.streams) {
    auto it = std::find_if(f.resume.begin(), f.resume.end(),
                           [&](const auto& r) { return r.first == stream; });
    const bool has_resume = it != f.resume.end();
    link(self, stream).sent = has_resume ? it->second : 0;
    subscribe(self, deps, stream, has_resume ? it->second : 0, has_resume);
  }
}

void on_hello(self_ptr self, const connection_deps& deps, const codec::client_frame& f) {
  auto& st = self->state;
  if (st.greeted) return send_error(self, "invalid_field", "hello was already received", "hello");
  st.greeted = true;
  st.streams = readable_streams(st.who);
  if (st.who.role != "agent") {
    for (const auto& [stream, seq] : f.resume)
      if (!reads(self, stream))
        return send_error(self, "forbidden", "resume names a stream you do not read: " + stream,
                          "hello");
    return start_streams(self, deps, f);
  }
  // Agents also read the conversations assigned to them: the pool knows which, and from now on
  // tells this connection about new ones (follow) and lost ones (unfollow).
  chat(self).start_after_join = [self, deps, f] { start_streams(self, deps, f); };
  join_pool(self, deps);
}

void on_ack(self_ptr self, const connection_deps& deps, const codec::client_frame& f) {
  auto& st = self->state;
  // A conversation the agent just resolved or handed on: its last entries are still acked.
  if (st.chat && st.chat->released.contains(f.stream))
    return with_owner(self, deps, f.stream, "ack", [self, f](caf::actor owner) {
      caf::anon_send(owner, ack_atom::value, self->state.who.sub, f.seq);
    });
  if (!reads(self, f.stream))
    return send_error(self, "forbidden", "not a stream you read: " + f.stream, "ack");
  auto& l = link(self, f.stream);
  if (l.owner)
    caf::anon_send(l.owner, ack_atom::value, st.who.sub, f.seq);
  else
    l.early_ack = std::max(l.early_ack, f.seq);
}

// The `extra` fields of a sent message: {"name": ...} when the sender gave one, else "" (none).
std::string display_name_field(const std::string& name) {
  return name.empty() ? std::string() : json::serialize(json::object{{"name", name}});
}

// send, resolve, transfer: a request to the conversation; errors come back as error frames.
void conversation_op(self_ptr self, const connection_deps& deps, const codec::client_frame& f) {
  const std::string ref = op_name(f.op);
  with_owner(self, deps, conv_stream(f.conv), ref, [self, f, ref](caf::actor conv) {
    auto on_error = [self, ref](caf::error& err) {
      send_error(self, error_code(err), error_message(err), ref);
    };
    auto who = chat_who(self);
    if (f.op == codec::client_op::send)
      // A display name travels as an extra field of the stored message (docs/PROTOCOL.md).
      self->request(conv, request_timeout, chat_send_atom::value, who, f.id, f.text,
                    std::string("web"), display_name_field(f.name))
          .then([self,
                 f](append_result& r) { send_text(self, codec::encode_sent(f.id, f.conv, r.seq)); },
                on_error);
    else if (f.op == codec::client_op::resolve || f.op == codec::client_op::leave)
      self->request(conv, request_timeout, resolve_atom::value, who)
          .then([](std::string&) {}, on_error);
    else
      self->request(conv, request_timeout, transfer_atom::value, who, f.to)
          .then([](std::string&) {}, on_error);
  });
}

// An agent takes a queued conversation from its pool; the pool's follow brings the stream.
void on_take(self_ptr self, const connection_deps& deps, const codec::client_frame& f) {
  with_pool(self, deps, "take", [self, f](const pool_actor& pool) {
    self->request(pool, request_timeout, take_atom::value, self->state.who.sub, f.conv)
        .then([](std::string&) {},
              [self](caf::error& err) {
                send_error(self, error_code(err), error_message(err), "take");
              });
  });
}

void on_typing(self_ptr self, const connection_deps& deps, const codec::client_frame& f) {
  auto& last = chat(self).last_typing[f.conv];
  const auto now = std::chrono::steady_clock::now();
  if (now - last < typing_interval) return;  // ephemeral: extra ones are dropped, not refused
  last = now;
  with_owner(self, deps, conv_stream(f.conv), "typing",
             [self](caf::actor conv) { caf::anon_send(conv, typing_atom::value, chat_who(self)); });
  (void)f;
}

void on_frame(self_ptr self, const connection_deps& deps, const std::string& text) {
  using namespace std::chrono;
  const double now_s = duration<double>(steady_clock::now().time_since_epoch()).count();
  if (deps.principal_limiter->take(self->state.who.sub, now_s) > 0) {
    deps.metrics->rate_limited.fetch_add(1, std::memory_order_relaxed);
    return send_error(self, "rate_limited", "too many frames; slow down", "");
  }
  codec::json_limits limits{deps.cfg->limits.max_frame, deps.cfg->limits.max_json_depth};
  auto parsed = codec::parse_client_frame(text, limits);
  if (auto* err = std::get_if<codec::protocol_error>(&parsed))
    return send_error(self, err->code, err->message, err->ref);
  const auto& f = std::get<codec::client_frame>(parsed);
  if (f.op == codec::client_op::hello) return on_hello(self, deps, f);
  if (!self->state.greeted)
    return send_error(self, "hello_required", "the first frame must be hello", op_name(f.op));
  const auto& role = self->state.who.role;
  switch (f.op) {
    case codec::client_op::ack:
      return on_ack(self, deps, f);
    case codec::client_op::send:
    case codec::client_op::typing:
      if (role != "customer" && role != "agent") break;
      return f.op == codec::client_op::send ? conversation_op(self, deps, f)
                                            : on_typing(self, deps, f);
    case codec::client_op::resolve:
    case codec::client_op::transfer:
      if (role != "agent") break;
      return conversation_op(self, deps, f);
    case codec::client_op::leave:
      if (role != "customer") break;
      return conversation_op(self, deps, f);
    case codec::client_op::take:
      if (role != "agent") break;
      return on_take(self, deps, f);
    case codec::client_op::presence:
      if (role != "agent") break;
      return with_pool(self, deps, "presence", [self, status = f.status](const pool_actor& pool) {
        self->send(pool, presence_atom::value, self->state.who.sub, status);
      });
    case codec::client_op::hello:
      break;
  }
  send_error(self, "forbidden",
             std::string("op ") + op_name(f.op) + " is not available to role " + role,
             op_name(f.op));
}

}  // namespace

connection_actor::behavior_type connection(
    connection_actor::stateful_pointer<connection_state> self, std::weak_ptr<socket_sink> sink,
    codec::principal who, connection_deps deps) {
  self->state.sink = std::move(sink);
  self->state.who = std::move(who);
  // Kept once in the state: captured by each handler, they would cost ~200 B per connection.
  self->state.deps = std::move(deps);
  // An owner that stopped (idle, or failed storage) is found again; resume where we were.
  // Until the new owner is found, acks wait in early_acks instead of going to the dead one.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.chat && st.chat->pool && st.chat->pool.address() == msg.source) {
      st.chat->pool = nullptr;
      return join_pool(self, st.deps);
    }
    for (auto& l : st.links)
      if (l.owner && l.owner.address() == msg.source) return subscribe_again(self, st.deps, l);
  });
  return {
      [self](frame_atom, const std::string& text) { on_frame(self, self->state.deps, text); },
      [self](frame_batch& batch) {
        auto sink = self->state.sink.lock();
        if (!sink) return end_connection(self);
        auto& l = link(self, batch.stream);
        if (l.abandoned && l.abandoned == self->current_sender()) return;
        l.sent = std::max(l.sent, batch.last_seq);
        sink->send(std::move(batch.frames));
      },
      [self](follow_atom, const std::string& stream) {
        if (self->state.chat) self->state.chat->released.erase(stream);
        if (reads(self, stream)) return;
        self->state.streams.push_back(stream);
        subscribe(self, self->state.deps, stream, 0, false);
      },
      [self](unfollow_atom, const std::string& stream) {
        auto& st = self->state;
        if (reads(self, stream) && chat(self).released.size() < 1000)
          chat(self).released.insert(stream);
        st.streams.erase(std::remove(st.streams.begin(), st.streams.end(), stream),
                         st.streams.end());
        if (auto* l = find_link(self, stream); l && l->owner) {
          self->demonitor(l->owner);
          caf::anon_send(l->owner, unsubscribe_atom::value, caf::actor_cast<caf::actor>(self));
        }
        std::erase_if(st.links, [&](const auto& l) { return l.stream == stream; });
      },
      [self](resubscribe_atom, const std::string& stream) {
        if (!reads(self, stream)) return;
        auto& l = link(self, stream);
        if (l.owner) return;
        l.sent = sent_of(l);
        subscribe(self, self->state.deps, stream, l.sent, l.sent > 0);
      },
      [self](rejoin_atom) {
        if (!self->state.chat || !self->state.chat->pool) join_pool(self, self->state.deps);
      },
      [self](cluster::peer_lost_atom, const caf::node_id& node) {
        leave_owners_on(self, self->state.deps, node);
      },
      [self](closed_atom) { end_connection(self); },
  };
}

}  // namespace sb
