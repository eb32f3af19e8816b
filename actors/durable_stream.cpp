#include "actors/durable_stream.hpp"

#include <map>
#include <utility>

#include <algorithm>

#include "actors/entry_id.hpp"
#include "actors/mailbox_backlog.hpp"
#include "cluster/cluster_errors.hpp"
#include "codec/frames.hpp"

namespace sb {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

frame_ptr durable_stream::encode(const storage::stored_entry& e, bool redacted) const {
  if (redacted)
    if (auto data = redactor_(e); !data.empty())
      return std::make_shared<const std::string>(
          codec::encode_push(stream_, e.seq, e.id, e.ts_ms, e.kind, data));
  return std::make_shared<const std::string>(
      codec::encode_push(stream_, e.seq, e.id, e.ts_ms, e.kind, e.data));
}

durable_stream::durable_stream(caf::event_based_actor* self, std::string stream, stream_deps deps)
    : self_(self), stream_(std::move(stream)), deps_(deps) {
  durable_seq_ = assigned_seq_ = deps_.store->last_seq(stream_);
}

durable_stream::~durable_stream() {
  // An append in flight may be stored already (and moved with the partition), so this answer
  // is not one the bridge retries by itself: the client retries with its Idempotency-Key. The
  // owner's own callbacks are not called: its state is being destroyed.
  const auto stopped = cluster::make_cluster_error(
      cluster::cluster_errc::owner_unavailable,
      "the stream's owner stopped while this request was in flight; retry it (appends with the "
      "same Idempotency-Key)");
  for_each_waiter([&](waiter& w, const pending_append&) {
    if (auto* rp = std::get_if<caf::response_promise>(&w); rp && rp->pending())
      rp->deliver(stopped);
    else if (std::holds_alternative<caller_callback>(w))
      answer(w, stopped);
  });
  for (auto& poll : polls_)
    if (poll.rp.pending()) poll.rp.deliver(stopped);
}

caf::message_handler durable_stream::handlers() {
  return {
      [this](subscribe_atom, caf::actor conn, const std::string& principal, uint64_t resume,
             bool has_resume) {
        subscribe(std::move(conn), principal, resume, has_resume, "", nullptr);
      },
      [this](subscribe_atom, caf::actor conn, const std::string& principal, uint64_t resume,
             bool has_resume, const std::string& role) {
        subscribe(std::move(conn), principal, resume, has_resume, role, nullptr);
      },
      // From a connection on this node (connection.cpp): pushes go straight to its socket.
      [this](subscribe_atom, caf::actor conn, const std::string& principal, uint64_t resume,
             bool has_resume, const std::string& role, push_port_ptr& port) {
        subscribe(std::move(conn), principal, resume, has_resume, role, std::move(port));
      },
      [this](unsubscribe_atom, const caf::actor& conn) {
        auto it = subscribers_.find(conn.address());
        if (it == subscribers_.end()) return;
        // What was appended before the unsubscribe (e.g. the status that ended an agent's
        // assignment) is still delivered; the subscriber leaves once it has been.
        if (assigned_seq_ > durable_seq_) {
          it->second.leave_after = assigned_seq_;
          return;
        }
        self_->demonitor(conn);
        subscribers_.erase(it);
      },
      [this](ack_atom, const std::string& principal, uint64_t seq) { ack(principal, seq); },
      [this](poll_atom, const std::string& principal, uint64_t after, bool has_after,
             uint32_t timeout_ms) {
        auto rp = self_->make_response_promise();
        poll(principal, "", after, has_after, timeout_ms, rp);
        return rp;
      },
      [this](poll_atom, const std::string& principal, uint64_t after, bool has_after,
             uint32_t timeout_ms, const std::string& role) {
        auto rp = self_->make_response_promise();
        poll(principal, role, after, has_after, timeout_ms, rp);
        return rp;
      },
      [this](poll_expiry_atom, uint64_t token) {
        auto it = std::find_if(polls_.begin(), polls_.end(),
                               [&](const poll_waiter& w) { return w.token == token; });
        if (it == polls_.end()) return;
        it->rp.deliver(poll_result{stream_, it->after, {}});
        polls_.erase(it);
      },
      [this](flush_atom) { flush(); },
      [this](caller_expiry_atom) { expire_callers(); },
      [this](durable_atom, uint64_t first, uint64_t last, const std::string& error) {
        on_durable(first, last, error);
      },
      [this](tick_atom) {
        tick_scheduled_ = false;
        redeliver_overdue();
        schedule_tick();
      },
      [this](inspect_atom) { return describe(); },
  };
}

void durable_stream::answer(waiter& w, caf::expected<append_result> result) {
  if (auto* rp = std::get_if<caf::response_promise>(&w)) {
    if (result)
      rp->deliver(std::move(*result));
    else
      rp->deliver(result.error());
  } else if (auto* caller = std::get_if<caller_callback>(&w)) {
    if (caller->done) std::exchange(caller->done, nullptr)(std::move(result));
  } else if (auto& done = std::get<append_callback>(w)) {
    done(std::move(result));
  }
}

void durable_stream::append(append_request req, caf::response_promise rp) {
  append_for(std::move(req), std::move(rp));
}

void durable_stream::append(append_request req, append_callback done) {
  append_for(std::move(req), std::move(done));
}

void durable_stream::schedule_caller_expiry(clock::duration after) {
  caller_expiry_scheduled_ = true;
  self_->delayed_send(self_, after, caller_expiry_atom::value);
}

void durable_stream::expire_callers() {
  caller_expiry_scheduled_ = false;
  const auto now = clock::now();
  bool waiting = false;
  for_each_waiter([&](waiter& w, const pending_append& p) {
    auto* caller = std::get_if<caller_callback>(&w);
    if (!caller || !caller->done) return;
    if (now - p.received >= deps_.caller_timeout)
      answer(w, caf::make_error(caf::sec::request_timeout));
    else
      waiting = true;
  });
  // Checked again a quarter of the timeout later: answered within 1.25 × the timeout.
  if (waiting) schedule_caller_expiry(deps_.caller_timeout / 4);
}

void durable_stream::append_for(append_request req, waiter rp) {
  // A caller's callback gets request_timeout if the entry is not durable in time.
  if (std::holds_alternative<caller_callback>(rp) && !caller_expiry_scheduled_)
    schedule_caller_expiry(deps_.caller_timeout);
  if (failed_) {
    answer(rp, make_error(stream_errc::storage_failed, "storage failed; retry later"));
    return;
  }
  const std::string key = req.idempotency_key;  // a copy: req is moved below
  if (!key.empty()) {
    if (auto it = pending_keys_.find(key); it != pending_keys_.end()) {
      // The first append with this key is not durable yet: answer both when it is.
      for (auto* q : {&unflushed_, &in_flight_})
        for (auto& p : *q)
          if (p.seq == it->second) {
            deps_.metrics->orders_duplicate.fetch_add(1, std::memory_order_relaxed);
            p.duplicates.push_back(std::move(rp));
            return;
          }
    }
    if (auto hit = deps_.store->idempotency(stream_, key, wall_ms())) {
      deps_.metrics->orders_duplicate.fetch_add(1, std::memory_order_relaxed);
      answer(rp, append_result{stream_, hit->seq, hit->id, true});
      return;
    }
  }
  pending_append p{++assigned_seq_, std::move(req), {}, {}, nullptr, nullptr, {}, clock::now()};
  p.waiters.push_back(std::move(rp));
  if (!key.empty()) pending_keys_.emplace(key, p.seq);
  unflushed_.push_back(std::move(p));
  // Appends already in the mailbox join this flush: one write and one fan-out per wake-up.
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    self_->send(self_, flush_atom::value);
  }
}

void durable_stream::flush() {
  flush_scheduled_ = false;
  if (unflushed_.empty()) return;
  storage::write_set set;
  const auto now = wall_ms();
  const auto expires = now + std::chrono::milliseconds(deps_.cfg->storage.idempotency_ttl).count();
  for (auto& p : unflushed_) {
    storage::stored_entry e{p.seq,      make_entry_id(now), now,
                            p.req.kind, p.req.data,         p.req.idempotency_key};
    set.put_entry(stream_, e);
    if (!e.idempotency_key.empty())
      set.put_idempotency(stream_, e.idempotency_key, {e.seq, e.id}, expires);
    if (!p.req.owner_state.empty()) set.put_state(stream_, p.req.owner_state);
    if (!p.req.outbox.empty())
      set.put_outbox({.id = e.id,
                      .stream = stream_,
                      .seq = e.seq,
                      .created_ms = now,
                      .payload = p.req.outbox,
                      .next_attempt_ms = now});
    p.frame = encode(e, false);
    if (redactor_) {
      auto redacted = encode(e, true);
      if (*redacted != *p.frame) p.redacted = std::move(redacted);
    }
    p.id = std::move(e.id);
  }
  const uint64_t first = unflushed_.front().seq, last = unflushed_.back().seq;
  std::move(unflushed_.begin(), unflushed_.end(), std::back_inserter(in_flight_));
  unflushed_.clear();
  auto owner = caf::actor_cast<caf::actor>(self_);
  deps_.commit->submit(std::move(set), [owner, first, last](const std::string& error) {
    caf::anon_send(owner, durable_atom::value, first, last, error);
  });
}

void durable_stream::on_durable(uint64_t first, uint64_t last, const std::string& error) {
  if (!error.empty()) {
    fail_pending(error);
    return;
  }
  const auto now = clock::now();
  while (!in_flight_.empty() && in_flight_.front().seq <= last) {
    auto& p = in_flight_.front();
    for (auto& w : p.waiters) answer(w, append_result{stream_, p.seq, p.id, false});
    for (auto& w : p.duplicates) answer(w, append_result{stream_, p.seq, p.id, true});
    if (!p.req.idempotency_key.empty()) pending_keys_.erase(p.req.idempotency_key);
    deps_.metrics->push_latency.observe(std::chrono::duration<double>(now - p.received).count());
    if (!p.req.outbox.empty() && deps_.outbox)
      self_->send(deps_.outbox, outbox_atom::value, p.id, stream_, p.seq, wall_ms(),
                  std::move(p.req.outbox));
    tail_.push_back({p.seq, std::move(p.frame), std::move(p.redacted)});
    durable_seq_ = p.seq;
    in_flight_.pop_front();
  }
  while (tail_.size() > deps_.cfg->delivery.tail_cache) tail_.pop_front();
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    pump(it->second);
    if (it->second.leave_after && durable_seq_ >= it->second.leave_after) {
      self_->demonitor(it->second.conn.address());
      it = subscribers_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = polls_.begin(); it != polls_.end();) {
    if (it->after < durable_seq_) {
      answer_poll(*it);
      it = polls_.erase(it);
    } else {
      ++it;
    }
  }
  (void)first;
}

void durable_stream::fail_pending(const std::string& error) {
  // A failed synced write leaves seqs that may never exist: stop taking appends and let the
  // registry respawn this owner, which reloads the stream's last seq from storage.
  failed_ = true;
  auto err = make_error(stream_errc::storage_failed, "storage write failed: " + error);
  for (auto* q : {&in_flight_, &unflushed_})
    for (auto& p : *q) {
      for (auto& w : p.waiters) answer(w, err);
      for (auto& w : p.duplicates) answer(w, err);
    }
  in_flight_.clear();
  unflushed_.clear();
  pending_keys_.clear();
  self_->quit(err);
}

void durable_stream::subscribe(caf::actor conn, const std::string& principal, uint64_t resume,
                               bool has_resume, const std::string& role, push_port_ptr port) {
  const auto addr = conn.address();
  if (!subscribers_.count(addr)) self_->monitor(conn);
  auto& sub = subscribers_[addr];
  sub.conn = as_connection(conn);
  sub.port = std::move(port);
  sub.principal = principal;
  sub.role = role;
  sub.delivered = std::min(has_resume ? resume : acked(principal), durable_seq_);
  sub.explicit_resume = has_resume && sub.delivered < acked(principal);
  sub.leave_after = 0;
  sub.unacked_since = {};
  pump(sub);  // arms the redelivery tick if it sends anything
  if (on_subscribe_) on_subscribe_(sub.conn, principal, role);
}

void durable_stream::broadcast(const frame_ptr& frame, std::string_view role,
                               std::string_view except) {
  for (auto& [addr, sub] : subscribers_) {
    if ((!role.empty() && sub.role != role) || sub.principal == except) continue;
    deliver(sub, {frame}, sub.delivered);
  }
}

void durable_stream::deliver(subscriber& sub, std::vector<frame_ptr> frames, uint64_t last_seq) {
  if (!sub.port) {
    self_->send(sub.conn, frame_batch{stream_, last_seq, std::move(frames)});
    return;
  }
  // Recorded before the frames are queued: whoever sees them on the socket sees `sent` too.
  if (last_seq > sub.port->sent.load(std::memory_order_relaxed))
    sub.port->sent.store(last_seq, std::memory_order_release);
  // A socket already closed drops them; its connection's down message removes the subscriber.
  if (auto sink = sub.port->sink.lock()) sink->send(std::move(frames));
}

uint64_t durable_stream::acked(const std::string& principal) {
  auto it = acked_.find(principal);
  if (it == acked_.end())
    it = acked_.emplace(principal, deps_.store->cursor(stream_, principal)).first;
  return it->second;
}

void durable_stream::ack(const std::string& principal, uint64_t seq) {
  seq = std::min(seq, durable_seq_);
  auto& cursor = acked_[principal];
  if (cursor == 0) cursor = deps_.store->cursor(stream_, principal);
  if (seq <= cursor) return;
  deps_.metrics->entries_acked.fetch_add(seq - cursor, std::memory_order_relaxed);
  cursor = seq;
  storage::write_set set;
  set.put_cursor(stream_, principal, seq);
  // A cursor acknowledges nothing: it goes with the next round, unsynced if alone, and wakes
  // no writer (a lost cursor only repeats entries, which at-least-once allows).
  deps_.commit->submit_lazy(std::move(set));
  const auto now = clock::now();
  for (auto& [addr, sub] : subscribers_) {
    if (sub.principal != principal) continue;
    sub.delivered = std::max(sub.delivered, seq);
    sub.unacked_since = sub.delivered > seq ? now : clock::time_point{};
    pump(sub);  // the unacked window moved
  }
  schedule_tick();  // still unacked entries: their redelivery stays due
}

void durable_stream::pump(subscriber& sub) {
  const auto& limits = deps_.cfg->delivery;
  const uint64_t floor = acked(sub.principal);
  if (!sub.explicit_resume) sub.delivered = std::max(sub.delivered, floor);
  while (sub.delivered < durable_seq_) {
    const uint64_t unacked = sub.delivered > floor ? sub.delivered - floor : 0;
    if (unacked >= limits.max_unacked) break;  // wait for acks before sending more
    const size_t n = std::min<uint64_t>(
        {limits.replay_batch, limits.max_unacked - unacked, durable_seq_ - sub.delivered});
    auto frames = frames_after(sub.delivered, n, redacted_for(sub.role));
    if (frames.empty()) break;
    sub.delivered += frames.size();
    deps_.metrics->entries_pushed.fetch_add(frames.size(), std::memory_order_relaxed);
    if (sub.unacked_since == clock::time_point{}) {
      sub.unacked_since = clock::now();
      schedule_tick();  // redelivered after ack_timeout unless acked
    }
    deliver(sub, std::move(frames), sub.delivered);
  }
  if (sub.delivered >= floor) sub.explicit_resume = false;
}

std::vector<frame_ptr> durable_stream::frames_after(uint64_t after, size_t limit, bool redacted) {
  std::vector<frame_ptr> out;
  out.reserve(limit);
  if (!tail_.empty() && after + 1 >= tail_.front().seq) {
    for (size_t i = after + 1 - tail_.front().seq; i < tail_.size() && out.size() < limit; ++i)
      out.push_back(redacted && tail_[i].redacted ? tail_[i].redacted : tail_[i].frame);
    return out;
  }
  for (auto& e : deps_.store->read_after(stream_, after, limit)) out.push_back(encode(e, redacted));
  deps_.metrics->replayed.fetch_add(out.size(), std::memory_order_relaxed);
  return out;
}

void durable_stream::redeliver_overdue() {
  const auto now = clock::now();
  for (auto& [addr, sub] : subscribers_) {
    const uint64_t floor = acked(sub.principal);
    if (sub.delivered <= floor || sub.unacked_since == clock::time_point{}) continue;
    if (now - sub.unacked_since < deps_.cfg->delivery.ack_timeout) continue;
    deps_.metrics->redeliveries.fetch_add(sub.delivered - floor, std::memory_order_relaxed);
    sub.delivered = floor;
    sub.unacked_since = {};
    pump(sub);
  }
}

void durable_stream::schedule_tick() {
  // Only while something waits for an ack: 10,000 idle dashboards would otherwise cost 2,000
  // timer messages a second (one per stream every ack_timeout / 2).
  if (tick_scheduled_) return;
  if (std::none_of(subscribers_.begin(), subscribers_.end(),
                   [](const auto& s) { return s.second.unacked_since != clock::time_point{}; }))
    return;
  tick_scheduled_ = true;
  self_->delayed_send(self_, deps_.cfg->delivery.ack_timeout / 2, tick_atom::value);
}

void durable_stream::poll(const std::string& principal, const std::string& role, uint64_t after,
                          bool has_after, uint32_t timeout_ms, caf::response_promise rp) {
  if (has_after) ack(principal, after);
  poll_waiter w{next_poll_token_++, principal, role,
                std::min(has_after ? after : acked(principal), durable_seq_), std::move(rp)};
  if (w.after < durable_seq_ || timeout_ms == 0) {
    answer_poll(w);
    return;
  }
  self_->delayed_send(self_, std::chrono::milliseconds(timeout_ms), poll_expiry_atom::value,
                      w.token);
  polls_.push_back(std::move(w));
}

void durable_stream::answer_poll(poll_waiter& w) {
  // Storage may already hold entries whose durable notice is still in the mailbox: never
  // answer beyond durable_seq_, or the next poll's cursor would be clamped back and repeat them.
  auto frames = frames_after(
      w.after, std::min<uint64_t>(deps_.cfg->delivery.replay_batch, durable_seq_ - w.after),
      redacted_for(w.role));
  const uint64_t cursor = w.after + frames.size();
  w.rp.deliver(poll_result{stream_, cursor, std::move(frames)});
}

void durable_stream::on_down(const caf::down_msg& msg) {
  subscribers_.erase(msg.source);
}

void durable_stream::release_idle_memory() {
  unflushed_.release_if_empty();
  in_flight_.release_if_empty();
}

bool durable_stream::idle() const {
  return subscribers_.empty() && unflushed_.empty() && in_flight_.empty() && polls_.empty();
}

std::string durable_stream::describe() const {
  std::string out = "{\"stream\":" + codec::json_quote(stream_);
  out += ",\"seq\":" + std::to_string(durable_seq_);
  out += ",\"last_seq\":" + std::to_string(durable_seq_);
  out += ",\"in_flight\":" + std::to_string(in_flight_.size() + unflushed_.size());
  out += ",\"waiting_polls\":" + std::to_string(polls_.size());
  out += ",\"mailbox\":" + std::to_string(mailbox_backlog(self_));
  // Every principal with a cursor or a live subscription: acked, and how many entries it has
  // not acked yet (sbctl's per-principal view).
  std::map<std::string, uint64_t> principals;
  for (const auto& [principal, seq] : acked_) principals[principal] = seq;
  for (const auto& [addr, sub] : subscribers_) principals.emplace(sub.principal, 0);
  out += ",\"principals\":[";
  bool first = true;
  for (const auto& [principal, acked] : principals) {
    out += first ? "" : ",";
    first = false;
    out += "{\"principal\":" + codec::json_quote(principal) +
           ",\"acked\":" + std::to_string(acked) +
           ",\"unacked\":" + std::to_string(durable_seq_ > acked ? durable_seq_ - acked : 0) + "}";
  }
  out += "],\"subscribers\":[";
  first = true;
  for (const auto& [addr, sub] : subscribers_) {
    auto it = acked_.find(sub.principal);
    const uint64_t floor = it == acked_.end() ? 0 : it->second;
    out += first ? "" : ",";
    first = false;
    out +=
        "{\"principal\":" + codec::json_quote(sub.principal) +
        ",\"delivered\":" + std::to_string(sub.delivered) + ",\"acked\":" + std::to_string(floor) +
        ",\"unacked\":" + std::to_string(sub.delivered > floor ? sub.delivered - floor : 0) + "}";
  }
  return out + "]}";
}

}  // namespace sb
