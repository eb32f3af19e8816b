// The outbox: the node's durable queue of deliveries to make outside Switchboard (agents'
// replies to WeChat and app customers). A delivery is recorded in the same RocksDB batch as the
// conversation entry it delivers (durable_stream), handed here once durable, and reloaded on
// start, so nothing is lost on a crash. Each one is retried with exponential backoff until its
// channel accepts it (then its record is deleted), refuses it for good, or it is older than
// outbox.max_age (then it is kept as failed, for operators). Per recipient, deliveries go in
// order, one at a time. The HTTP calls themselves run in outbox_sender threads.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/durable_stream.hpp"
#include "actors/outbox_actor.hpp"
#include "actors/outbox_queue.hpp"
#include "channels/wechat_outbound.hpp"
#include "cluster/registry_actor.hpp"

namespace sb {

struct outbox_item {
  storage::outbox_record record;
  std::string channel;
  std::string merchant;
  std::string recipient;  // "<channel>\n<merchant>\n<user>": deliveries to one user go in order
  std::string conv;
};

struct outbox_state {
  std::map<std::string, outbox_item> items;  // by entry id, pending and failed
  outbox_queue queue;                        // the pending ones, by recipient and due time
  std::set<std::string> sending;             // ids of the deliveries in flight
  size_t failed = 0;
  std::vector<caf::actor> idle_senders;
  cluster::registry_actor registry;
  int64_t timer_at = 0;  // wall ms of the next scheduled tick, 0 if none
  static inline const char* name = "sb.outbox";
};

// Messages:
//   (cluster::registry_actor registry)                      once, from main: where channel
//        settings owners are found; deliveries wait for it
//   (outbox_atom, id, stream, seq, created_ms, payload)     a new durable delivery
//   (list_atom, merchant)                                   -> std::string JSON of pending and
//        failed deliveries ("*" = every merchant), for GET /admin/outbox
//   (retry_atom, id, merchant) / (drop_atom, id, merchant)  -> std::string JSON of the delivery
//        a failed delivery is tried again now / any delivery not in flight is deleted;
//        merchant "*" or the delivery's merchant, else not_found (like a missing id)
//   (inspect_atom)                                          -> std::string JSON summary
//   (cluster::acquire_atom, uint16_t p) / (release_atom, p)  this node started / stopped
//        serving partition p: load its deliveries / forget them (the new owner sends them)
// The interface: actors/outbox_actor.hpp.
outbox_actor::behavior_type outbox(outbox_actor::stateful_pointer<outbox_state> self,
                                   stream_deps deps, channels::wechat_token_cache* tokens);

}  // namespace sb
