// The one durable-stream mechanism every stream owner is built on (orders today, conversations
// and inboxes next): seq assignment, group-committed appends, fan-out to subscribed
// connections, per-principal cumulative acks, replay, redelivery after ack_timeout and
// long-poll waiters. It lives inside its owner actor and is only ever called on that actor's
// thread; it is not an actor itself, so each owner adds its own messages around it.
#pragma once
#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "actors/connection_actor.hpp"
#include "actors/interfaces.hpp"
#include "actors/lazy_deque.hpp"
#include "actors/push_port.hpp"
#include "codec/metrics.hpp"
#include "config/config.hpp"
#include "storage/group_commit.hpp"
#include "storage/stream_store.hpp"

namespace sb {

// What every stream owner needs; owned by main and outliving the actor system.
struct stream_deps {
  storage::stream_store* store = nullptr;
  storage::group_commit* commit = nullptr;
  const config::settings* cfg = nullptr;
  codec::metrics* metrics = nullptr;
  caf::actor outbox;  // takes (outbox_atom, id, stream, seq, created_ms, payload) once durable
  // The partitions this node serves, for node-wide background work (the outbox, the janitor);
  // empty = every partition (a node running alone).
  storage::stream_store::partition_filter serves;
  // How long an append answered by callback may wait to become durable (a replica set being
  // switched, a stalled disk) before it is answered request_timeout, as a CAF request would be;
  // the entry may still become durable later, so the client retries with its Idempotency-Key.
  std::chrono::milliseconds caller_timeout = std::chrono::seconds(10);
};

using flush_atom = caf::atom_constant<caf::atom("flush")>;
using caller_expiry_atom = caf::atom_constant<caf::atom("cexpiry")>;

class durable_stream {
 public:
  durable_stream(caf::event_based_actor* self, std::string stream, stream_deps deps);
  // Answers every requester still waiting (an append in flight, a long poll) when the owner
  // stops — sealed for a handoff, fenced by a takeover — instead of letting them time out.
  ~durable_stream();
  durable_stream(const durable_stream&) = delete;
  durable_stream& operator=(const durable_stream&) = delete;

  const std::string& name() const { return stream_; }
  uint64_t last_seq() const { return durable_seq_; }

  // The generic messages (subscribe, ack, poll, durable, flush, tick, inspect); the owner
  // combines them with its own: `return my_handlers.or_else(stream.handlers())`.
  caf::message_handler handlers();

  // Appends an entry. `rp` is answered with append_result once the entry is synced (or with
  // the first append's result for a repeated idempotency key), or with an error.
  void append(append_request req, caf::response_promise rp);
  // The same for the owner's own appends: `done` runs on the owner's thread once the entry is
  // durable (or failed), e.g. to answer a request with something other than append_result.
  using append_callback = append_done;
  void append(append_request req, append_callback done);

  // Who waits for an append: a requester (by request, or on this node by callback through
  // actors/local_append.hpp), or the owner itself. A caller's callback is answered like a
  // response promise: also with owner_unavailable when the owner stops with the append in
  // flight, and with request_timeout after deps.caller_timeout.
  struct caller_callback {
    append_callback done;
  };
  using waiter = std::variant<caf::response_promise, append_callback, caller_callback>;
  void append_for(append_request req, waiter w);
  // Answers a waiter now, e.g. a request the owner refuses before appending anything.
  static void answer(waiter& w, caf::expected<append_result> result);

  // Agents' view of an entry: returns the entry's data JSON as agents may see it, or "" when
  // it is the same as everyone's (e.g. no phone number to mask). Set once, before any append.
  void set_redactor(std::function<std::string(const storage::stored_entry&)> redactor) {
    redactor_ = std::move(redactor);
  }
  // Called after a connection subscribed (and got its replay): (conn, principal, role).
  void set_on_subscribe(
      std::function<void(const connection_actor&, const std::string&, const std::string&)> hook) {
    on_subscribe_ = std::move(hook);
  }
  // Sends an ephemeral frame (not stored, not acked) to every subscriber, or only to those of
  // `role`, except the connections of principal `except`.
  void broadcast(const frame_ptr& frame, std::string_view role, std::string_view except);

  // Forgets a subscriber whose actor went down; the owner's down handler calls it.
  void on_down(const caf::down_msg& msg);

  // No subscribers, no appends in flight, no waiting polls.
  bool idle() const;
  // Frees the append queues' storage while they are empty (called at the idle checks).
  void release_idle_memory();

  // Live state as JSON, for sbctl and /admin.
  std::string describe() const;

 private:
  using clock = std::chrono::steady_clock;
  struct subscriber {
    connection_actor conn;
    push_port_ptr port;  // set: a local connection's socket, written directly
    std::string principal;
    std::string role;
    uint64_t delivered = 0;
    // The client asked to resume below its principal's ack: replay from there once anyway.
    bool explicit_resume = false;
    uint64_t leave_after = 0;  // unsubscribed: remove once this seq is durable and sent // highest
                               // seq sent to this connection
    clock::time_point unacked_since{};  // when unacked entries were last sent; epoch if none
  };
  struct pending_append {
    uint64_t seq;
    append_request req;
    std::vector<waiter> waiters;     // the append itself
    std::vector<waiter> duplicates;  // later appends with the same key
    frame_ptr frame;
    frame_ptr redacted;  // agents' frame, null when the same
    std::string id;
    clock::time_point received;
  };
  struct poll_waiter {
    uint64_t token;
    std::string principal;
    std::string role;
    uint64_t after;
    caf::response_promise rp;
  };
  struct cached_entry {
    uint64_t seq;
    frame_ptr frame;
    frame_ptr redacted;
  };

  void subscribe(caf::actor conn, const std::string& principal, uint64_t resume, bool has_resume,
                 const std::string& role, push_port_ptr port);
  // Hands frames to the subscriber's socket: directly through its port, else to its actor.
  void deliver(subscriber& sub, std::vector<frame_ptr> frames, uint64_t last_seq);
  void ack(const std::string& principal, uint64_t seq);
  void poll(const std::string& principal, const std::string& role, uint64_t after, bool has_after,
            uint32_t timeout_ms, caf::response_promise rp);
  void flush();
  void on_durable(uint64_t first, uint64_t last, const std::string& error);
  void redeliver_overdue();
  void schedule_tick();

  uint64_t acked(const std::string& principal);
  // Sends what the subscriber lacks, within its unacked window.
  void pump(subscriber& sub);
  bool redacted_for(const std::string& role) const { return redactor_ && role == "agent"; }
  // Frames for seqs in (after, after + limit], from the tail cache or storage.
  std::vector<frame_ptr> frames_after(uint64_t after, size_t limit, bool redacted);
  frame_ptr encode(const storage::stored_entry& e, bool redacted) const;
  void answer_poll(poll_waiter& w);
  void fail_pending(const std::string& error);
  // Calls f(waiter, its append) for every waiter of an append not yet durable.
  template <typename F>
  void for_each_waiter(F f) {
    for (auto* q : {&in_flight_, &unflushed_})
      for (auto& p : *q)
        for (auto* waiting : {&p.waiters, &p.duplicates})
          for (auto& w : *waiting) f(w, p);
  }
  // Answers the callers waiting longer than deps.caller_timeout; one timer per owner.
  void expire_callers();
  void schedule_caller_expiry(std::chrono::steady_clock::duration after);

  caf::event_based_actor* self_;
  std::string stream_;
  stream_deps deps_;
  uint64_t assigned_seq_ = 0;  // last seq handed to an append
  uint64_t durable_seq_ = 0;   // last seq synced to disk
  bool flush_scheduled_ = false;
  bool tick_scheduled_ = false;
  bool caller_expiry_scheduled_ = false;
  bool failed_ = false;
  lazy_deque<pending_append> unflushed_;                    // appended, not yet submitted
  lazy_deque<pending_append> in_flight_;                    // submitted, not yet durable
  std::unordered_map<std::string, uint64_t> pending_keys_;  // idempotency key → seq
  lazy_deque<cached_entry> tail_;
  std::unordered_map<caf::actor_addr, subscriber> subscribers_;
  std::unordered_map<std::string, uint64_t> acked_;
  std::vector<poll_waiter> polls_;
  uint64_t next_poll_token_ = 1;
  std::function<std::string(const storage::stored_entry&)> redactor_;
  std::function<void(const connection_actor&, const std::string&, const std::string&)>
      on_subscribe_;
};

}  // namespace sb
