#include "actors/outbox.hpp"

#include <algorithm>
#include <random>

#include <boost/json.hpp>

#include "actors/mailbox_backlog.hpp"
#include "actors/outbox_sender.hpp"
#include "actors/stream_names.hpp"
#include "channels/delivery.hpp"
#include "cluster/registry.hpp"

namespace sb {

namespace {

namespace json = boost::json;
using self_ptr = outbox_actor::stateful_pointer<outbox_state>;
using channels::delivery_status;
constexpr auto lookup_timeout = std::chrono::seconds(5);

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

outbox_item make_item(storage::outbox_record record) {
  outbox_item item{std::move(record), {}, {}, {}, {}};
  const auto& r = item.record;
  if (auto stored = channels::read_delivery_payload(r.payload, r.id, r.seq, r.created_ms)) {
    item.channel = stored->channel;
    item.merchant = stored->message.merchant;
    item.conv = stored->message.conv;
    item.recipient = item.channel + "\n" + item.merchant + "\n" + stored->message.recipient;
  }
  return item;
}

outbox_queue::position position_of(const outbox_item& item) {
  const auto& r = item.record;
  return {r.created_ms, r.stream, r.seq, r.id};
}

// retry_base · 2^(attempts-1), at most retry_max, plus up to 20% jitter so that deliveries
// that failed together do not all come back together.
int64_t backoff_ms(const config::settings& cfg, uint32_t attempts) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t base = cfg.outbox.retry_base.count(), cap = cfg.outbox.retry_max.count();
  int64_t delay = base;
  for (uint32_t i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  return delay + static_cast<int64_t>(rng() % static_cast<uint64_t>(delay / 5 + 1));
}

void update_gauges(self_ptr self, const stream_deps& deps) {
  const auto& st = self->state;
  deps.metrics->outbox_failed.store(static_cast<int64_t>(st.failed));
  deps.metrics->outbox_pending.store(static_cast<int64_t>(st.items.size() - st.failed));
}

// Takes a delivery into the state: pending ones join the queue.
void admit(self_ptr self, outbox_item item) {
  auto& st = self->state;
  auto id = item.record.id;
  auto [it, added] = st.items.emplace(std::move(id), std::move(item));
  if (!added) return;
  if (it->second.record.failed)
    ++st.failed;
  else
    st.queue.add(it->second.recipient, position_of(it->second), it->second.record.next_attempt_ms);
}

void persist(const stream_deps& deps, const storage::outbox_record& r) {
  storage::write_set set;
  set.put_outbox(r);
  deps.commit->submit(std::move(set), [](const std::string&) {});
}

void dispatch(self_ptr self, const stream_deps& deps);

void finish(self_ptr self, const stream_deps& deps, const std::string& id, caf::actor sender,
            delivery_status status, std::string error) {
  auto& st = self->state;
  st.idle_senders.push_back(std::move(sender));
  st.sending.erase(id);
  auto it = st.items.find(id);
  if (it == st.items.end()) return dispatch(self, deps);
  auto& item = it->second;
  auto& r = item.record;
  const auto recipient = item.recipient;
  ++r.attempts;
  const auto now = wall_ms();
  if (status == delivery_status::delivered) {
    deps.metrics->count_outbox_attempt(item.channel, "delivered");
    st.queue.remove(recipient, position_of(item));
    storage::write_set set;
    set.erase_outbox(r.stream, r.id);
    deps.commit->submit(std::move(set), [](const std::string&) {});
    st.items.erase(it);
  } else {
    r.last_error = std::move(error);
    const auto max_age = std::chrono::milliseconds(deps.cfg->outbox.max_age).count();
    const bool too_old = now - r.created_ms > max_age;
    if (status == delivery_status::permanent || too_old) {
      r.failed = true;
      ++st.failed;
      if (too_old && status != delivery_status::permanent) r.last_error += " (gave up: too old)";
      st.queue.remove(recipient, position_of(item));
      deps.metrics->count_outbox_attempt(item.channel, "failed");
    } else {
      r.next_attempt_ms = now + backoff_ms(*deps.cfg, r.attempts);
      st.queue.set_due(recipient, position_of(item), r.next_attempt_ms);
      deps.metrics->count_outbox_attempt(item.channel, "retry");
    }
    persist(deps, r);
  }
  st.queue.release(recipient);
  update_gauges(self, deps);
  dispatch(self, deps);
}

// Looks up the merchant's channel settings, then has an idle sender deliver.
void start(self_ptr self, const stream_deps& deps, outbox_item& item) {
  auto& st = self->state;
  st.sending.insert(item.record.id);
  auto sender = st.idle_senders.back();
  st.idle_senders.pop_back();
  const auto r = item.record;
  auto fail = [self, deps, id = r.id, sender](caf::error& err) {
    finish(self, deps, id, sender, delivery_status::retry,
           "internal: " + self->system().render(err));
  };
  const auto send_timeout = deps.cfg->outbox.http_timeout * 5;  // token, send, refresh, resend
  self->request(st.registry, lookup_timeout, cluster::resolve_atom::value,
                channels_stream(item.merchant))
      .then(
          [=](caf::actor settings_owner) {
            self->request(settings_owner, lookup_timeout, get_atom::value)
                .then(
                    [=](const std::string& settings) {
                      self->request(sender, send_timeout, deliver_atom::value, r.payload, r.id,
                                    r.seq, r.created_ms, settings)
                          .then(
                              [=](uint8_t status, std::string& error) {
                                finish(self, deps, r.id, sender,
                                       static_cast<delivery_status>(status), std::move(error));
                              },
                              fail);
                    },
                    fail);
          },
          fail);
}

void schedule(self_ptr self, int64_t at) {
  auto& st = self->state;
  if (st.timer_at && st.timer_at <= at) return;
  st.timer_at = at;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, at - wall_ms())),
                     tick_atom::value);
}

void dispatch(self_ptr self, const stream_deps& deps) {
  auto& st = self->state;
  if (!st.registry) return;
  const auto now = wall_ms();
  while (!st.idle_senders.empty()) {  // a finishing sender dispatches again
    auto due = st.queue.take_due(now);
    if (!due) break;
    start(self, deps, st.items.at(due->second.id));
  }
  if (auto next = st.queue.next_due(); next && *next > now) schedule(self, *next);
}

json::object describe(const outbox_item& item, bool in_flight) {
  const auto& r = item.record;
  json::object o{{"id", r.id},
                 {"channel", item.channel},
                 {"merchant", item.merchant},
                 {"conv", item.conv},
                 {"seq", r.seq},
                 {"created_ms", r.created_ms},
                 {"attempts", r.attempts},
                 {"last_error", r.last_error},
                 {"state", r.failed    ? "failed"
                           : in_flight ? "sending"
                                       : "pending"}};
  if (!r.failed) o["next_attempt_ms"] = r.next_attempt_ms;
  return o;
}

}  // namespace

outbox_actor::behavior_type outbox(outbox_actor::stateful_pointer<outbox_state> self,
                                   stream_deps deps, channels::wechat_token_cache* tokens) {
  auto& st = self->state;
  // Only the partitions this node serves: another node sends the rest (a clustered node
  // serves none yet and loads each partition as it acquires it).
  for (auto& record : deps.store->outbox(deps.serves)) admit(self, make_item(std::move(record)));
  for (size_t i = 0; i < deps.cfg->outbox.senders; ++i)
    st.idle_senders.push_back(
        self->spawn<caf::detached + caf::linked>(outbox_sender, deps.cfg, tokens));
  update_gauges(self, deps);
  return {
      [self, deps](cluster::registry_actor registry) {
        self->state.registry = std::move(registry);
        dispatch(self, deps);
      },
      [self, deps](outbox_atom, const std::string& id, const std::string& stream, uint64_t seq,
                   int64_t created_ms, const std::string& payload) {
        admit(self, make_item({id, stream, seq, created_ms, payload, 0, created_ms, "", false}));
        update_gauges(self, deps);
        dispatch(self, deps);
      },
      [self, deps](tick_atom) {
        self->state.timer_at = 0;
        dispatch(self, deps);
      },
      [self, deps](cluster::acquire_atom, uint16_t value) {
        const partition_id p{value};
        for (auto& record : deps.store->outbox([p](partition_id q) { return q == p; }))
          admit(self, make_item(std::move(record)));
        update_gauges(self, deps);
        dispatch(self, deps);
      },
      [self, deps](cluster::release_atom, uint16_t value) {
        const partition_id p{value};
        // The partition moved with its records: the new owner sends them. One in flight here
        // may still arrive (at-least-once); its result is then not written (finish ignores it).
        auto& st = self->state;
        for (auto it = st.items.begin(); it != st.items.end();) {
          if (partition_of(it->second.record.stream) != p) {
            ++it;
            continue;
          }
          if (it->second.record.failed)
            --st.failed;
          else
            st.queue.remove(it->second.recipient, position_of(it->second));
          if (st.sending.count(it->first)) st.queue.release(it->second.recipient);
          it = st.items.erase(it);
        }
        update_gauges(self, deps);
        dispatch(self, deps);
      },
      [self](list_atom, const std::string& merchant) {
        json::array pending, failed;
        for (const auto& [id, item] : self->state.items) {
          if (merchant != "*" && item.merchant != merchant) continue;
          (item.record.failed ? failed : pending)
              .push_back(describe(item, self->state.sending.count(id) > 0));
        }
        return json::serialize(json::object{{"pending", pending}, {"failed", failed}});
      },
      [self, deps](retry_atom, const std::string& id,
                   const std::string& merchant) -> caf::result<std::string> {
        auto& st = self->state;
        auto it = st.items.find(id);
        if (it == st.items.end() || (merchant != "*" && it->second.merchant != merchant))
          return make_error(stream_errc::not_found, "no such delivery");
        auto& r = it->second.record;
        if (!r.failed) return make_error(stream_errc::invalid_field, "only failed deliveries");
        r.failed = false;
        --st.failed;
        r.next_attempt_ms = wall_ms();
        r.created_ms = wall_ms();  // a fresh max_age: the operator decided to try again
        st.queue.add(it->second.recipient, position_of(it->second), r.next_attempt_ms);
        persist(deps, r);
        auto shown = json::serialize(describe(it->second, false));
        update_gauges(self, deps);
        dispatch(self, deps);
        return shown;
      },
      [self, deps](drop_atom, const std::string& id,
                   const std::string& merchant) -> caf::result<std::string> {
        auto& st = self->state;
        auto it = st.items.find(id);
        if (it == st.items.end() || (merchant != "*" && it->second.merchant != merchant))
          return make_error(stream_errc::not_found, "no such delivery");
        if (st.sending.count(id))
          return make_error(stream_errc::invalid_field, "the delivery is being sent; retry");
        auto shown = json::serialize(describe(it->second, false));
        storage::write_set set;
        set.erase_outbox(it->second.record.stream, id);
        deps.commit->submit(std::move(set), [](const std::string&) {});
        if (it->second.record.failed)
          --st.failed;
        else
          st.queue.remove(it->second.recipient, position_of(it->second));
        st.items.erase(it);
        update_gauges(self, deps);
        dispatch(self, deps);
        return shown;
      },
      [self](inspect_atom) {
        const auto& st = self->state;
        json::object o{{"items", st.items.size()},
                       {"pending", st.queue.pending()},
                       {"sending", st.sending.size()},
                       {"idle_senders", st.idle_senders.size()},
                       {"mailbox", mailbox_backlog(self)}};
        return json::serialize(o);
      },
  };
}

}  // namespace sb
