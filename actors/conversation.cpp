#include "actors/conversation.hpp"

#include <boost/json.hpp>
#include <optional>

#include "actors/owner_support.hpp"
#include "actors/pool_actor.hpp"
#include "actors/stream_names.hpp"
#include "channels/channel.hpp"
#include "channels/delivery.hpp"
#include "cluster/registry.hpp"
#include "codec/chat_text.hpp"
#include "codec/frames.hpp"

namespace sb {

namespace {

using self_ptr = caf::stateful_actor<conversation_state>*;
namespace json = boost::json;
using pool_retry_atom = caf::atom_constant<caf::atom("poolretry")>;
constexpr uint32_t pool_attempts = 5;
constexpr auto pool_retry_delay = std::chrono::seconds(1);

std::string meta_json(const conversation_meta& m) {
  json::object o{
      {"merchant", m.merchant}, {"customer", m.customer}, {"status", m.status}, {"agent", m.agent}};
  return json::serialize(o);
}

std::optional<conversation_meta> parse_meta(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto o = json::parse(*text).as_object();
  auto str = [&](const char* k) { return std::string(o.at(k).as_string()); };
  return conversation_meta{str("merchant"), str("customer"), str("status"), str("agent")};
}

std::string status_data(const conversation_meta& m) {
  json::object o{{"status", m.status}};
  o["agent"] = m.agent.empty() ? json::value(nullptr) : json::value(m.agent);
  return json::serialize(o);
}

// Appends a status entry carrying the new meta as owner state, so both land in one batch;
// `done` (if any) runs once it is durable.
void append_status(self_ptr self, durable_stream::append_callback done = {}) {
  auto& st = self->state;
  st.stream->append(append_request{"status", status_data(*st.meta), "", meta_json(*st.meta)},
                    std::move(done));
}

// Resolves the merchant's agent pool and hands it to `then` as its typed interface, so that
// every message sent to it is checked; a failed lookup goes to `fail`.
template <class Then, class Fail>
void with_pool(self_ptr self, Then then, Fail fail) {
  self->request(self->state.registry, std::chrono::seconds(5), cluster::resolve_atom::value,
                pool_key(self->state.meta->merchant))
      .then([then](caf::actor pool) mutable { then(as_pool(pool)); }, std::move(fail));
}

// Tells the merchant's agent pool; a failed lookup is retried, or the conversation would wait
// unrouted (or its agent stay busy) until something else touched it. The retry carries the
// message's elements after the attempt (the pool_retry_atom handlers below).
template <class... Ts>
void tell_pool(self_ptr self, uint32_t attempt, const Ts&... xs) {
  with_pool(
      self, [self, xs...](const pool_actor& pool) { self->send(pool, xs...); },
      [self, attempt, xs...](caf::error&) {
        if (attempt < pool_attempts)
          self->delayed_send(self, pool_retry_delay * (attempt + 1), pool_retry_atom::value,
                             attempt + 1, xs...);
      });
}

// Opens a new conversation or reopens a resolved one; true if it was (re)opened. The caller
// has it routed.
bool reopen(self_ptr self, const std::string& merchant, const std::string& customer) {
  auto& st = self->state;
  if (st.meta && st.meta->status != "resolved") return false;
  st.meta = conversation_meta{merchant, customer, "unassigned", ""};
  append_status(self);
  return true;
}

bool open(self_ptr self, const std::string& merchant, const std::string& customer) {
  if (!reopen(self, merchant, customer)) return false;
  tell_pool(self, 0, route_atom::value, self->state.id, customer);
  return true;
}

// The pool's decision: an agent, or "" for the queue. The pool also sends it as assign_atom;
// whichever arrives second changes nothing.
void apply_assignment(self_ptr self, const std::string& agent) {
  auto& st = self->state;
  if (!st.meta || st.meta->status == "resolved") return;
  if (st.meta->agent == agent && !agent.empty()) return;
  st.meta->agent = agent;
  st.meta->status = agent.empty() ? "unassigned" : "in_progress";
  if (!agent.empty()) st.queue_event = nullptr;
  append_status(self);
}

std::string status_json(self_ptr self, bool created);

// Routes a just-opened conversation and answers `rp` with its status once the pool decided, so
// the opener learns at once whether an agent took it.
void route_then_answer(self_ptr self, caf::response_promise rp) {
  const auto id = self->state.id, customer = self->state.meta->customer;
  with_pool(
      self,
      [self, rp, id, customer](const pool_actor& pool) mutable {
        self->request(pool, std::chrono::seconds(5), route_atom::value, id, customer, true)
            .then(
                [self, rp](const std::string& agent) mutable {
                  if (!agent.empty()) apply_assignment(self, agent);
                  rp.deliver(status_json(self, true));
                },
                // The pool may have routed it anyway: answer, but do not route twice.
                [self, rp](caf::error&) mutable { rp.deliver(status_json(self, true)); });
      },
      [self, rp, id, customer](caf::error&) mutable {
        self->delayed_send(self, pool_retry_delay, pool_retry_atom::value, uint32_t{1},
                           route_atom::value, id, customer);
        rp.deliver(status_json(self, true));
      });
}

std::string status_json(self_ptr self, bool created) {
  const auto& m = *self->state.meta;
  json::object o{{"id", self->state.id},
                 {"stream", conv_stream(self->state.id)},
                 {"status", m.status},
                 {"created", created}};
  return json::serialize(o);
}

// Messages with phone numbers masked, for agents.
std::string redact_message(const storage::stored_entry& e) {
  if (e.kind != "message") return {};
  auto o = json::parse(e.data).as_object();
  bool changed = false;
  // The text and the sender's display name (a customer may give a phone number as a name).
  for (const char* k : {"text", "name"}) {
    auto* v = o.if_contains(k);
    if (!v || !v->is_string()) continue;
    auto masked = codec::mask_phones(v->as_string());
    if (masked == std::string_view(v->as_string())) continue;
    (*v) = masked;
    changed = true;
  }
  return changed ? json::serialize(o) : std::string();
}

// Messages below `cursor` newest first, or above it oldest first when `forward`.
std::string history_json(self_ptr self, const chat_principal& who, uint64_t cursor, bool forward,
                         uint32_t limit, const stream_deps& deps) {
  const bool masked = who.role == "agent" && deps.cfg->privacy.mask_phone;
  const auto& stream = self->state.stream->name();
  json::array out;
  // Status entries share the seq space: read pages until `limit` messages or the end.
  while (out.size() < limit) {
    auto page = forward ? deps.store->read_after(stream, cursor, limit)
                        : deps.store->read_before(stream, cursor, limit);
    if (page.empty()) break;
    for (const auto& e : page) {
      cursor = e.seq;
      if (e.kind != "message" || out.size() >= limit) continue;
      auto data = json::parse(e.data).as_object();
      json::object m{{"seq", e.seq}, {"id", e.id}, {"ts", e.ts_ms}};
      for (const char* k :
           {"from", "name", "role", "text", "channel", "client_id", "type", "media"})
        if (auto* v = data.if_contains(k)) m[k] = *v;
      if (masked)
        for (const char* k : {"text", "name"})
          if (auto* v = m.if_contains(k); v && v->is_string())
            *v = codec::mask_phones(v->as_string());
      out.push_back(std::move(m));
    }
    if (page.size() < limit) break;
  }
  return json::serialize(json::object{{"messages", std::move(out)}});
}

// An agent's reply to a customer on WeChat or an app also goes out through that channel: the
// outbox record describing the delivery, or "" for web customers (they read the stream).
std::string outbound_delivery(const conversation_meta& meta, const std::string& conv,
                              const chat_principal& who, const std::string& text) {
  const auto channel = channels::channel_of_customer(meta.customer);
  if (who.role != "agent" || channel == channels::channel::web) return {};
  channels::outbound_message msg;
  msg.merchant = meta.merchant;
  msg.conv = conv;
  msg.recipient = channels::channel_user(meta.customer);
  msg.from = who.sub;
  msg.text = text;
  return channels::delivery_payload(channels::channel_name(channel), msg);
}

// Appends a message after the access and text checks; answers `rp`. `extra` is a JSON object
// of further fields (a WeChat message's type and media), or "".
void send_message(self_ptr self, const stream_deps& deps, const chat_principal& who,
                  const std::string& client_id, const std::string& text, const std::string& channel,
                  const std::string& extra, caf::response_promise rp) {
  auto& st = self->state;
  // A customer writing first (or after resolved) opens the conversation; its id is derived
  // from merchant and customer, so only that customer can get here. Opening waits until the
  // text is known to be acceptable: a refused message changes nothing.
  const bool own_customer = who.role == "customer" && conversation_id(who.mid, who.sub) == st.id;
  auto text_error = codec::check_chat_text(text, deps.cfg->chat.max_text);
  if (!own_customer && (!st.meta || !may_access(*st.meta, who)))
    return rp.deliver(make_error(stream_errc::not_found, "no such conversation"));
  if (who.role == "merchant")
    return rp.deliver(
        make_error(stream_errc::forbidden, "merchants do not write in conversations"));
  // An agent still reads the conversations it resolved, but writes only while they are open.
  if (who.role == "agent" && st.meta->status == "resolved")
    return rp.deliver(make_error(stream_errc::not_assigned, "the conversation is resolved"));
  if (text_error == "text_too_long")
    return rp.deliver(
        make_error(stream_errc::text_too_long,
                   "text is longer than " + std::to_string(deps.cfg->chat.max_text) + " bytes"));
  if (!text_error.empty())
    return rp.deliver(make_error(stream_errc::invalid_text,
                                 "text must be valid UTF-8 without control characters"));
  if (own_customer) open(self, who.mid, who.sub);
  json::object data{{"from", who.sub},
                    {"role", who.role},
                    {"text", text},
                    {"channel", channel},
                    {"client_id", client_id}};
  if (!extra.empty()) {
    auto fields = json::parse(extra);  // named: a temporary would die before the loop runs
    for (auto& [k, v] : fields.as_object())
      if (!data.contains(k)) data[k] = v;
  }
  deps.metrics->count_chat_message(channel);
  st.stream->append(append_request{"message", json::serialize(data), client_id, "",
                                   outbound_delivery(*st.meta, st.id, who, text)},
                    rp);
}

// Pushes the customer's queue position (and, from newer pools, how many agents are online: 0
// means nobody will answer soon, so the widget offers to leave a message).
void queue_event(self_ptr self, uint32_t position, uint32_t wait_s,
                 std::optional<uint32_t> online) {
  auto& st = self->state;
  json::object data{{"position", position}, {"estimated_wait_s", wait_s}};
  if (online) data["agents_online"] = *online;
  st.queue_event = std::make_shared<const std::string>(
      codec::encode_event("queue", st.id, json::serialize(data)));
  st.stream->broadcast(st.queue_event, "customer", "");
}

}  // namespace

bool may_access(const conversation_meta& meta, const chat_principal& who) {
  if (who.mid != meta.merchant) return false;
  if (who.role == "customer") return who.sub == meta.customer;
  if (who.role == "agent")
    // Its own stay visible once resolved: it lists them and acks their last entries.
    return meta.status == "unassigned" || (!meta.agent.empty() && meta.agent == who.sub);
  return who.role == "merchant";
}

caf::behavior conversation(caf::stateful_actor<conversation_state>* self, std::string conv_id,
                           stream_deps deps, caf::actor registry) {
  auto& st = self->state;
  st.id = conv_id;
  st.registry = std::move(registry);
  st.stream = std::make_unique<durable_stream>(self, conv_stream(conv_id), deps);
  st.meta = parse_meta(deps.store->state(st.stream->name()));
  if (deps.cfg->privacy.mask_phone) st.stream->set_redactor(redact_message);
  st.stream->set_on_subscribe(
      [self](const connection_actor& conn, const std::string&, const std::string& role) {
        if (role == "customer" && self->state.queue_event)
          self->send(conn, frame_batch{self->state.stream->name(), 0, {self->state.queue_event}});
      });
  auto not_found = [] { return make_error(stream_errc::not_found, "no such conversation"); };
  caf::message_handler own{
      [self](open_atom, const std::string& merchant, const std::string& customer) {
        auto rp = self->make_response_promise();
        if (!reopen(self, merchant, customer)) {
          rp.deliver(status_json(self, false));
          return rp;
        }
        route_then_answer(self, rp);
        return rp;
      },
      [self, deps](chat_send_atom, const chat_principal& who, const std::string& client_id,
                   const std::string& text, const std::string& channel) {
        auto rp = self->make_response_promise();
        send_message(self, deps, who, client_id, text, channel, "", rp);
        return rp;
      },
      [self, deps](chat_send_atom, const chat_principal& who, const std::string& client_id,
                   const std::string& text, const std::string& channel, const std::string& extra) {
        auto rp = self->make_response_promise();
        send_message(self, deps, who, client_id, text, channel, extra, rp);
        return rp;
      },
      [self](typing_atom, const chat_principal& who) {
        auto& st = self->state;
        if (!st.meta || !may_access(*st.meta, who) || who.role == "merchant") return;
        json::object data{{"from", who.sub}, {"role", who.role}};
        auto frame = std::make_shared<const std::string>(
            codec::encode_event("typing", st.id, json::serialize(data)));
        st.stream->broadcast(frame, "", who.sub);
      },
      [self, not_found](resolve_atom, const chat_principal& who) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.meta || !may_access(*st.meta, who)) return not_found();
        // The assigned agent resolves; the customer's leave ends the chat for both sides alike.
        const bool leaving = who.role == "customer" && st.meta->status != "resolved";
        if (!leaving && (who.role != "agent" || st.meta->agent != who.sub))
          return make_error(stream_errc::not_assigned, "only the assigned agent may resolve");
        st.meta->status = "resolved";
        st.queue_event = nullptr;
        auto rp = self->make_response_promise();
        // Answered once the resolved status is durable: "ok" means it survives a crash.
        append_status(self, [rp](caf::expected<append_result> r) mutable {
          if (r)
            rp.deliver(std::string("ok"));
          else
            rp.deliver(r.error());
        });
        tell_pool(self, 0, released_atom::value, st.id);
        return rp;
      },
      [self](transfer_atom, const chat_principal& who, const std::string& to) {
        auto rp = self->make_response_promise();
        auto& st = self->state;
        if (!st.meta || !may_access(*st.meta, who)) {
          rp.deliver(make_error(stream_errc::not_found, "no such conversation"));
          return rp;
        }
        if (who.role != "agent" || st.meta->agent != who.sub) {
          rp.deliver(make_error(stream_errc::not_assigned, "only the assigned agent may transfer"));
          return rp;
        }
        with_pool(
            self,
            [self, rp, who, to](const pool_actor& pool) mutable {
              self->request(pool, std::chrono::seconds(5), transfer_atom::value, self->state.id,
                            who.sub, to)
                  .then([rp](std::string& ok) mutable { rp.deliver(ok); },
                        [rp](caf::error& err) mutable { rp.deliver(err); });
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [self, deps, not_found](history_atom, const chat_principal& who, uint64_t cursor,
                              bool forward, uint32_t limit) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.meta || !may_access(*st.meta, who)) return not_found();
        if (!forward && cursor == 0) cursor = st.stream->last_seq() + 1;  // the newest
        return history_json(self, who, cursor, forward, limit, deps);
      },
      [self, deps, not_found](entries_atom, const chat_principal& who, uint64_t cursor,
                              bool forward, uint32_t limit) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.meta || !may_access(*st.meta, who)) return not_found();
        entry_redactor redact;
        if (who.role == "agent" && deps.cfg->privacy.mask_phone) redact = redact_message;
        return entries_json(*deps.store, st.stream->name(), who.sub, cursor, forward, limit,
                            redact);
      },
      [self](assign_atom, const std::string& agent) { apply_assignment(self, agent); },
      [self](pool_retry_atom, uint32_t attempt, route_atom, const std::string& conv,
             const std::string& customer) {
        if (self->state.meta) tell_pool(self, attempt, route_atom::value, conv, customer);
      },
      [self](pool_retry_atom, uint32_t attempt, released_atom, const std::string& conv) {
        if (self->state.meta) tell_pool(self, attempt, released_atom::value, conv);
      },
      [self](queue_atom, uint32_t position, uint32_t wait_s) {
        queue_event(self, position, wait_s, std::nullopt);
      },
      [self](queue_atom, uint32_t position, uint32_t wait_s, uint32_t online) {
        queue_event(self, position, wait_s, online);
      },
  };
  return owner_behavior(self, deps, std::move(own));
}

}  // namespace sb
