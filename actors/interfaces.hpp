// The messages actors exchange, declared once. Senders and receivers include this header;
// `register_message_types` must run on every node's config before the actor_system exists.
//
// Stream owner (any actor built on durable_stream: the merchant actor today):
//   (append_atom, append_request)                      -> append_result  once durable
//   (subscribe_atom, caf::actor conn, principal, uint64_t resume, bool has_resume)
//        replays after `resume` (or the principal's ack) to conn as frame_batch, then live
//   (ack_atom, principal, uint64_t seq)                 cumulative ack
//   (poll_atom, principal, uint64_t after, bool has_after, uint32_t timeout_ms) -> poll_result
//   (inspect_atom)                                      -> std::string (JSON)
// Connection actor:
//   (frame_atom, std::string text)                      a text frame from the socket
//   (closed_atom)                                       the socket closed
//   frame_batch                                         frames for the socket (from owners)
#pragma once
#include <cstdint>
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

// An encoded server frame, shared by every connection it goes to (encoded once per entry).
using frame_ptr = std::shared_ptr<const std::string>;

struct append_request {
  std::string kind;             // "order", "message", …
  std::string data;             // JSON document
  std::string idempotency_key;  // empty if none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_request& x) {
  return f(caf::meta::type_name("sb::append_request"), x.kind, x.data, x.idempotency_key);
}

struct append_result {
  std::string stream;
  uint64_t seq = 0;
  std::string id;
  bool duplicate = false;  // answered from an Idempotency-Key
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_result& x) {
  return f(caf::meta::type_name("sb::append_result"), x.stream, x.seq, x.id, x.duplicate);
}

// Frames for one connection from one stream. Local only today: the cluster step gives
// frames a wire form (schema/) before batches cross nodes.
struct frame_batch {
  std::string stream;
  uint64_t last_seq = 0;  // seq of the last frame
  std::vector<frame_ptr> frames;
};

struct poll_result {
  std::string stream;
  uint64_t cursor = 0;  // seq of the last entry returned (or the poll's start when none)
  std::vector<frame_ptr> frames;
};

// Errors of stream owners, category "sb_stream".
enum class stream_errc : uint8_t { storage_failed = 1, poll_busy = 2 };
caf::error make_error(stream_errc code, std::string message);

void register_message_types(caf::actor_system_config& cfg);

}  // namespace sb

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::frame_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::poll_result)
