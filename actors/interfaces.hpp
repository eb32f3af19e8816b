// The messages actors exchange, declared once. Senders and receivers include this header;
// `register_message_types` must run on every node's config before the actor_system exists.
// Typed CAF interfaces, checked by the compiler, exist for the agent pool
// (actors/pool_actor.hpp), the connection (actors/connection_actor.hpp), the outbox
// (actors/outbox_actor.hpp) and the registry (cluster/registry_actor.hpp); stream owners are
// still plain caf::actor. Handles in messages stay caf::actor (typed ones are not announced).
//
// Stream owner (every actor built on durable_stream through owner_support.hpp: merchant
// (orders:<m>), conversation (conv:<id>) and inbox (inbox:<sub>)):
//   (append_atom, append_request)                      -> append_result  once durable
//   (subscribe_atom, caf::actor conn, principal, uint64_t resume, bool has_resume)
//        replays after `resume` (or the principal's ack) to conn as frame_batch, then live
//   (ack_atom, principal, uint64_t seq)                 cumulative ack
//   (poll_atom, principal, uint64_t after, bool has_after, uint32_t timeout_ms) -> poll_result
//   (inspect_atom)                                      -> std::string (JSON)
//   (subscribe_atom, conn, principal, resume, has_resume, std::string role)  same, with the
//        subscriber's role (agents get the redacted view where the owner redacts)
//   (unsubscribe_atom, caf::actor conn)                 stop pushing to conn
//   (subscribe_atom, conn, principal, resume, has_resume, role, push_port_ptr)  same, from a
//        connection on this node: pushes go to the socket itself (actors/push_port.hpp)
//   (idle_atom, bool was_idle)                          to itself every owner_idle_stop: stops
//        when idle at two checks in a row
//   (entries_atom, who, cursor, forward, limit)         -> std::string JSON page of history
//        (actors/stream_entries.hpp); the caller checked access, except for conversations,
//        which check it themselves
// Conversation actor (conv:<id>), besides the stream messages; `who` is a chat_principal:
//   (open_atom, merchant, customer)                     -> std::string status JSON
//   {"id",…,"created"} (chat_send_atom, who, client_id, text, channel)     -> append_result
//   (chat_send_atom, who, client_id, text, channel, extra_json)  same, with extra fields
//   (typing_atom, who)                                  ephemeral event to the other side
//   (resolve_atom, who) / (transfer_atom, who, to)      -> std::string "ok"
//   (history_atom, who, cursor, forward, limit)         -> std::string JSON (cursor 0 and
//        !forward: the newest)
//   (assign_atom, agent)                                from the pool ("" = back to the queue)
//   (queue_atom, position, estimated_wait_s)            from the pool: push a queue event
//   (queue_atom, position, estimated_wait_s, online)    the same with the online agent count
// Agent pool (pool:<merchant>; actors/pool_actor.hpp also lists its messages to itself):
//   (route_atom, conv, customer)                        route a new or reopened conversation
//   (route_atom, conv, customer, true)                  the same -> std::string the agent it
//        went to, "" when queued
//   (released_atom, conv)                               resolved
//   (transfer_atom, conv, from_agent, to)               -> std::string "ok"
//   (join_atom, agent, caf::actor conn)                 -> std::vector<std::string> conv streams
//   (presence_atom, agent, status)
//   (enrol_atom, agent, weight, max_concurrent)         -> std::string JSON
//   (list_atom, who, status)                            -> std::string JSON
//   (take_atom, agent, conv)                            -> std::string "ok": the agent takes a
//        queued conversation (not_found when not waiting here, agent_unavailable when full)
//   Agents' connections get the waiting list as a "waiting" event whenever it changes.
// Connection actor (actors/connection_actor.hpp also lists its messages to itself):
//   (follow_atom, stream) / (unfollow_atom, stream)     from the pool: start/stop reading
//   (frame_atom, std::string text)                      a text frame from the socket
//   (closed_atom)                                       the socket closed
//   frame_batch                                         frames for the socket (from owners, and
//        the waiting list from the pool)
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

namespace sb {

using append_atom = caf::atom_constant<caf::atom("append")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;
using poll_expiry_atom = caf::atom_constant<caf::atom("pollexp")>;
using durable_atom = caf::atom_constant<caf::atom("durable")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using inspect_atom = caf::atom_constant<caf::atom("inspect")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;
using open_atom = caf::atom_constant<caf::atom("open")>;
using chat_send_atom = caf::atom_constant<caf::atom("chatsend")>;
using typing_atom = caf::atom_constant<caf::atom("typing")>;
using resolve_atom = caf::atom_constant<caf::atom("chatres")>;
using transfer_atom = caf::atom_constant<caf::atom("transfer")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using assign_atom = caf::atom_constant<caf::atom("assign")>;
using queue_atom = caf::atom_constant<caf::atom("queue")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using released_atom = caf::atom_constant<caf::atom("released")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using presence_atom = caf::atom_constant<caf::atom("presence")>;
using enrol_atom = caf::atom_constant<caf::atom("enrol")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using take_atom = caf::atom_constant<caf::atom("take")>;
using entries_atom = caf::atom_constant<caf::atom("entries")>;
using follow_atom = caf::atom_constant<caf::atom("follow")>;
using unfollow_atom = caf::atom_constant<caf::atom("unfollow")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using outbox_atom = caf::atom_constant<caf::atom("outbox")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using configure_atom = caf::atom_constant<caf::atom("configure")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;

// An encoded server frame, shared by every connection it goes to (encoded once per entry).
using frame_ptr = std::shared_ptr<const std::string>;

struct append_request {
  std::string kind;             // "order", "message", …
  std::string data;             // JSON document
  std::string idempotency_key;  // empty if none
  std::string owner_state;      // JSON stored as the owner's state in the same batch, if any
  // JSON of an outbound delivery of this entry (actors/outbox.hpp), recorded in the same batch
  // and handed to the outbox once durable; empty if none.
  std::string outbox;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_request& x) {
  return f(caf::meta::type_name("sb::append_request"), x.kind, x.data, x.idempotency_key,
           x.owner_state, x.outbox);
}

// Who asks a chat actor: the token's claims that access rules need.
struct chat_principal {
  std::string sub;
  std::string role;
  std::string mid;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_principal& x) {
  return f(caf::meta::type_name("sb::chat_principal"), x.sub, x.role, x.mid);
}

struct append_result {
  std::string stream;
  uint64_t seq = 0;
  std::string id;
  bool duplicate = false;  // answered from an Idempotency-Key
};

// Called on the owner's thread once an append is durable, or with why it is not.
using append_done = std::function<void(caf::expected<append_result>)>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_result& x) {
  return f(caf::meta::type_name("sb::append_result"), x.stream, x.seq, x.id, x.duplicate);
}

// The wire form of a frame list: each frame's bytes as one string, the layout of a
// std::vector<std::string>. Saving reads the shared strings in place; loading gives every frame
// its own buffer. Frames are never null. Locally CAF passes messages without serializing them,
// so a batch sent to a local actor still shares its frames.
struct frames_on_wire {
  std::vector<frame_ptr>& frames;
};

// What a saving inspector sees of frames_on_wire: a sequence of strings (CAF saves iterables
// as sequences).
struct frame_bytes_view {
  struct iterator {
    std::vector<frame_ptr>::const_iterator pos;
    const std::string& operator*() const { return **pos; }
    iterator& operator++() {
      ++pos;
      return *this;
    }
    iterator operator++(int) { return {pos++}; }
    bool operator==(const iterator&) const = default;
  };
  const std::vector<frame_ptr>& frames;
  size_t size() const { return frames.size(); }
  iterator begin() const { return {frames.begin()}; }
  iterator end() const { return {frames.end()}; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, frames_on_wire& x) {
  if constexpr (Inspector::writes_state) {
    std::vector<std::string> bytes;
    return f(bytes, caf::meta::load_callback([&]() -> caf::error {
               x.frames.clear();
               x.frames.reserve(bytes.size());
               for (auto& b : bytes)
                 x.frames.push_back(std::make_shared<const std::string>(std::move(b)));
               return caf::none;
             }));
  } else {
    frame_bytes_view view{x.frames};
    return f(view);
  }
}

// Frames for one connection from one stream.
struct frame_batch {
  std::string stream;
  uint64_t last_seq = 0;  // seq of the last frame
  std::vector<frame_ptr> frames;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, frame_batch& x) {
  frames_on_wire frames{x.frames};
  return f(caf::meta::type_name("sb::frame_batch"), x.stream, x.last_seq, frames);
}

struct poll_result {
  std::string stream;
  uint64_t cursor = 0;  // seq of the last entry returned (or the poll's start when none)
  std::vector<frame_ptr> frames;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, poll_result& x) {
  frames_on_wire frames{x.frames};
  return f(caf::meta::type_name("sb::poll_result"), x.stream, x.cursor, frames);
}

// Errors of stream owners, category "sb_stream".
enum class stream_errc : uint8_t {
  storage_failed = 1,
  poll_busy = 2,
  not_found = 10,  // missing, or not visible to the principal (never tells which)
  forbidden = 11,  // visible, but the role may not do this
  text_too_long = 12,
  invalid_text = 13,
  no_such_agent = 14,
  agent_unavailable = 15,
  not_assigned = 16,
  invalid_field = 17,
};
// The stable code string of an error made by make_error(stream_errc…), e.g. "not_found".
std::string error_code(const caf::error& err);
// The message given to make_error, or a generic one.
std::string error_message(const caf::error& err);
caf::error make_error(stream_errc code, std::string message);

// Registers every custom type that appears in a message between actors, so that it can cross
// nodes (tests/unit/actors_wire_test.cpp round-trips each message shape).
void register_message_types(caf::actor_system_config& cfg);

}  // namespace sb
