// One WebSocket: the socket side of a connection actor. Reads text frames and hands them to
// the actor; implements socket_sink so the actor's frames are written in order, every frame
// queued since the last write in one writev (net/frame_gather.hpp), tried at once without
// waiting for the reactor. Buffers are released while idle, to keep idle connections small.
#include <boost/beast/core/buffers_suffix.hpp>
#include <deque>

#include "net/frame_gather.hpp"
#include "net/session_support.hpp"

namespace sb::net {

class websocket_session : public socket_sink,
                          public std::enable_shared_from_this<websocket_session> {
 public:
  websocket_session(beast::tcp_stream&& stream, server_context& ctx, ip_slots::slot slot)
      : ws_(std::move(stream)), ctx_(ctx), slot_(std::move(slot)) {
    ctx_.metrics.ws_connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~websocket_session() override {
    ctx_.metrics.ws_connections.fetch_sub(1, std::memory_order_relaxed);
    if (actor_) ctx_.actors.closed(actor_);
  }

  void start(http::request<http::string_body> req, codec::principal who) {
    {
      std::lock_guard lock(ctx_.sessions_mutex);
      ctx_.websockets.insert(weak_from_this());
    }
    actor_ = ctx_.actors.spawn_connection(weak_from_this(), std::move(who),
                                          ctx_.api.connection_dependencies());
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(ctx_.cfg.limits.max_frame);
    ws_.auto_fragment(false);
    // Beast answers a ping or a close itself, bypassing our hand-framed writes: if one of ours
    // is half-written then, the two would interleave on the wire. Drop the socket instead; the
    // client reconnects and resumes from its acks (at-least-once).
    ws_.control_callback([this](websocket::frame_type, beast::string_view) {
      if (!tail_in_flight_) return;
      beast::error_code ec;
      beast::get_lowest_layer(ws_).socket().close(ec);
    });
    ws_.async_accept(req,
                     beast::bind_front_handler(&websocket_session::on_accept, shared_from_this()));
  }

  void send(std::vector<std::shared_ptr<const std::string>> frames) override {
    asio::post(ws_.get_executor(),
               [self = shared_from_this(), frames = std::move(frames)]() mutable {
                 self->enqueue(std::move(frames));
               });
  }

  void close(uint16_t code) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code] { self->begin_close(code); });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return finish();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().non_blocking(true, ignored);
    read();
  }

  void read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec) {
      // Beast has already answered an oversized message with close code 1009.
      return finish();
    }
    if (!ws_.got_text()) {
      buffer_.clear();
      return begin_close(websocket::close_code::unknown_data);  // 1003
    }
    ctx_.actors.frame(actor_, beast::buffers_to_string(buffer_.data()));
    buffer_.clear();
    buffer_.shrink_to_fit();
    read();
  }

  void enqueue(std::vector<std::shared_ptr<const std::string>> frames) {
    if (closing_) return;
    for (auto& f : frames) {
      queued_bytes_ += f->size();
      queue_.push_back(std::move(f));
    }
    if (queued_bytes_ > ctx_.cfg.limits.max_outbound_bytes) {
      // A reader this far behind would grow memory without bound: drop it; it resumes later.
      queue_.clear();
      queued_bytes_ = 0;
      return begin_close(websocket::close_code::policy_error);
    }
    if (!writing_) write_next();
  }

  // Writes everything queued: each batch of frames first with one non-blocking writev; only a
  // batch the socket cannot take at once waits for the reactor.
  void write_next() {
    auto& socket = beast::get_lowest_layer(ws_).socket();
    while (!queue_.empty()) {
      const auto buffers = gather_.gather(queue_);
      beast::error_code ec;
      const size_t sent = socket.write_some(buffers, ec);
      if (ec && ec != asio::error::would_block) return fail_writes();
      if (sent < gather_.bytes()) {
        writing_ = true;
        tail_in_flight_ = true;
        beast::buffers_suffix<std::span<const asio::const_buffer>> rest(buffers);
        rest.consume(sent);
        return asio::async_write(socket, rest,
                                 [self = shared_from_this()](beast::error_code ec, size_t) {
                                   self->tail_in_flight_ = false;
                                   self->pop_written();
                                   if (ec) return self->fail_writes();
                                   self->write_next();
                                 });
      }
      pop_written();
    }
    writing_ = false;
    gather_.release();
    if (close_code_) do_close();
  }

  void pop_written() {
    for (size_t i = 0; i < gather_.frames(); ++i) {
      queued_bytes_ -= queue_.front()->size();
      queue_.pop_front();
    }
  }

  void fail_writes() {
    writing_ = false;
    closing_ = true;  // the socket is broken: no more writes, no close frame
    queue_.clear();
    queued_bytes_ = 0;
    gather_.release();
    finish();
  }

  void begin_close(uint16_t code) {
    if (close_code_) return;
    close_code_ = code;
    if (!writing_) do_close();
  }

  void do_close() {
    if (closing_) return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(*close_code_),
                    [self = shared_from_this()](beast::error_code) { self->finish(); });
  }

  void finish() {
    std::lock_guard lock(ctx_.sessions_mutex);
    ctx_.websockets.erase(weak_from_this());
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  server_context& ctx_;
  ip_slots::slot slot_;
  caf::actor actor_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  frame_gather gather_;
  bool writing_ = false;
  bool tail_in_flight_ = false;  // a hand-framed write is half on the wire
  bool closing_ = false;
  std::optional<uint16_t> close_code_;

  friend void close_all_websockets(server_context& ctx);
};

void start_websocket_session(beast::tcp_stream stream, http::request<http::string_body> req,
                             server_context& ctx, ip_slots::slot slot, codec::principal who) {
  auto session = std::make_shared<websocket_session>(std::move(stream), ctx, std::move(slot));
  session->start(std::move(req), std::move(who));
}

void close_all_websockets(server_context& ctx) {
  std::vector<std::shared_ptr<websocket_session>> open;
  {
    std::lock_guard lock(ctx.sessions_mutex);
    for (auto& weak : ctx.websockets)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->close(websocket::close_code::going_away);
}

}  // namespace sb::net
