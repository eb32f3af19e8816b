#include "actors/connection.hpp"

#include <algorithm>

#include "actors/stream_names.hpp"
#include "cluster/registry.hpp"
#include "net/codec/frames.hpp"

namespace sb {

namespace {

using self_ptr = caf::stateful_actor<connection_state>*;

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

// Resolves the stream's owner and subscribes this connection, resuming after `resume`.
void subscribe(self_ptr self, const connection_deps& deps, const std::string& stream,
               uint64_t resume, bool has_resume) {
  self->request(deps.registry, std::chrono::seconds(5), cluster::resolve_atom::value, stream)
      .then(
          [self, stream, resume, has_resume](caf::actor owner) {
            self->monitor(owner);
            self->state.owners[stream] = owner;
            self->send(owner, subscribe_atom::value, caf::actor_cast<caf::actor>(self),
                       self->state.who.sub, resume, has_resume);
            if (auto it = self->state.early_acks.find(stream); it != self->state.early_acks.end()) {
              self->send(owner, ack_atom::value, self->state.who.sub, it->second);
              self->state.early_acks.erase(it);
            }
          },
          [self, stream](caf::error&) {
            send_error(self, "unavailable", "stream " + stream + " is unavailable", "hello");
            if (auto sink = self->state.sink.lock()) sink->close(1011);
          });
}

void on_hello(self_ptr self, const connection_deps& deps, const codec::client_frame& f) {
  auto& st = self->state;
  if (st.greeted) return send_error(self, "invalid_field", "hello was already received", "hello");
  st.streams = readable_streams(st.who);
  const auto& streams = st.streams;
  for (const auto& [stream, seq] : f.resume)
    if (std::find(streams.begin(), streams.end(), stream) == streams.end())
      return send_error(self, "unknown_stream", "resume names a stream you do not read: " + stream,
                        "hello");
  st.greeted = true;
  send_text(self, codec::encode_welcome(deps.cfg->node.id, st.who.sub, streams));
  for (const auto& stream : streams) {
    auto it = std::find_if(f.resume.begin(), f.resume.end(),
                           [&](const auto& r) { return r.first == stream; });
    const bool has_resume = it != f.resume.end();
    st.sent[stream] = has_resume ? it->second : 0;
    subscribe(self, deps, stream, has_resume ? it->second : 0, has_resume);
  }
}

void on_ack(self_ptr self, const codec::client_frame& f) {
  auto& st = self->state;
  if (std::find(st.streams.begin(), st.streams.end(), f.stream) == st.streams.end())
    return send_error(self, "unknown_stream", "not a stream of this connection: " + f.stream,
                      "ack");
  if (auto it = st.owners.find(f.stream); it != st.owners.end())
    self->send(it->second, ack_atom::value, st.who.sub, f.seq);
  else
    st.early_acks[f.stream] = std::max(st.early_acks[f.stream], f.seq);
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
  if (f.op == codec::client_op::ack) return on_ack(self, f);
  send_error(
      self, "forbidden",
      std::string("op ") + op_name(f.op) + " is not available to role " + self->state.who.role,
      op_name(f.op));
}

}  // namespace

caf::behavior connection(caf::stateful_actor<connection_state>* self,
                         std::weak_ptr<net::ws_sink> sink, codec::principal who,
                         connection_deps deps) {
  self->state.sink = std::move(sink);
  self->state.who = std::move(who);
  // An owner that stopped (idle, or failed storage) is found again; resume where we were.
  self->set_down_handler([self, deps](const caf::down_msg& msg) {
    for (auto& [stream, owner] : self->state.owners)
      if (owner.address() == msg.source) {
        auto stream_copy = stream;
        subscribe(self, deps, stream_copy, self->state.sent[stream_copy], true);
        return;
      }
  });
  return {
      [self, deps](frame_atom, const std::string& text) { on_frame(self, deps, text); },
      [self](frame_batch& batch) {
        auto sink = self->state.sink.lock();
        if (!sink) return self->quit();
        self->state.sent[batch.stream] = batch.last_seq;
        sink->send(std::move(batch.frames));
      },
      [self](closed_atom) { self->quit(); },
  };
}

}  // namespace sb
