// One WebSocket: the socket side of a connection actor, on the bare socket (the handshake is
// net/ws_handshake.hpp; no Beast websocket::stream, whose buffers and timer stay per socket).
// Reads whatever the socket has into a buffer shared by the thread's sockets (the frame reader
// keeps only incomplete frames), hands text messages to the actor, and writes every frame — the
// actor's, and its own pongs, pings and close frames — through one queue, coalesced into one
// writev per wake-up (frame_gather.hpp), so a control frame never lands inside a half-written
// one. An idle session holds no buffers and no timer: sweep_websockets, on one timer per server,
// pings and drops silent peers.
#include <array>
#include <boost/asio/bind_allocator.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <span>

#include "net/frame_gather.hpp"
#include "net/session_support.hpp"
#include "net/ws_frame_reader.hpp"

namespace sb::net {

namespace {

// What Beast's suggested server timeouts did, now for all sockets on one timer: a ping after
// half the idle timeout of silence, the socket dropped after all of it; a close handshake the
// peer does not finish is cut.
constexpr uint32_t ping_after_s = 150;
constexpr uint32_t drop_after_s = 300;
constexpr uint32_t close_timeout_s = 10;
// Reads per wake-up before yielding to the thread's other sockets.
constexpr int reads_per_wake = 4;
// A write queue keeps at most this capacity while empty (an idle socket holds next to nothing).
constexpr size_t idle_queue_capacity = 4;

uint32_t now_s() {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::shared_ptr<const std::string> close_payload(uint16_t code) {
  if (code == 1005) return std::make_shared<const std::string>();  // "no status": empty
  return std::make_shared<const std::string>(
      std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)});
}

}  // namespace

class websocket_session : public socket_sink,
                          public std::enable_shared_from_this<websocket_session> {
 public:
  websocket_session(tcp::socket&& socket, std::string response, server_context& ctx,
                    ip_slots::slot slot)
      : socket_(std::move(socket)),
        reader_(ctx.cfg.limits.max_frame),
        ctx_(ctx),
        slot_(std::move(slot)),
        heard_(now_s()) {
    ctx_.metrics.ws_connections.fetch_add(1, std::memory_order_relaxed);
    queue_.push_back({std::make_shared<const std::string>(std::move(response)), 0});
  }

  ~websocket_session() override {
    ctx_.metrics.ws_connections.fetch_sub(1, std::memory_order_relaxed);
    if (actor_) ctx_.actors.closed(actor_);
  }

  // Writes the handshake's response and starts reading; runs on the socket's strand.
  void start(codec::principal who) {
    {
      std::lock_guard lock(ctx_.sessions_mutex);
      ctx_.websockets.insert(weak_from_this());
    }
    actor_ = ctx_.actors.spawn_connection(weak_from_this(), std::move(who),
                                          ctx_.api.connection_dependencies());
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);
    write_next();
    wait_readable();
  }

  void send(std::vector<std::shared_ptr<const std::string>> frames) override {
    asio::post(socket_.get_executor(),
               [self = shared_from_this(), frames = std::move(frames)]() mutable {
                 self->enqueue(std::move(frames));
               });
  }

  void close(uint16_t code) override {
    asio::post(socket_.get_executor(),
               [self = shared_from_this(), code] { self->begin_close(code); });
  }

  // Called by sweep_websockets (any thread): what a silent or closing peer needs, if anything.
  enum class idle_action { none, ping, drop };
  idle_action idle_check(uint32_t now) const {
    const uint32_t closing = closing_since_.load(std::memory_order_relaxed);
    if (closing && now - closing >= close_timeout_s) return idle_action::drop;
    const uint32_t silent = now - heard_.load(std::memory_order_relaxed);
    if (silent >= drop_after_s) return idle_action::drop;
    if (silent >= ping_after_s && !pinged_.load(std::memory_order_relaxed))
      return idle_action::ping;
    return idle_action::none;
  }

  void on_idle(idle_action what) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), what] {
      if (what == idle_action::drop) return self->finish();
      if (self->pinged_.exchange(true) || self->close_code_) return;
      self->push_control(0x9, std::make_shared<const std::string>());
    });
  }

 private:
  // The wait an idle socket keeps pending, allocated at its own size: asio's per-thread recycling
  // allocator would hand it a block as large as a recent op of the HTTP session (~540 B).
  void wait_readable() {
    socket_.async_wait(
        tcp::socket::wait_read,
        asio::bind_allocator(
            std::allocator<void>(),
            beast::bind_front_handler(&websocket_session::on_readable, shared_from_this())));
  }

  // Reads what the socket has into the thread's buffer and parses it; incomplete frames are
  // copied by the reader. Once a close is under way, what the peer sends is discarded until it
  // closes its side.
  void on_readable(beast::error_code ec) {
    if (ec) return finish();
    thread_local std::array<char, 64 * 1024> buffer;
    for (int i = 0; i < reads_per_wake; ++i) {
      const size_t n = socket_.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) return finish();  // the peer is gone (or closed its side after a close)
      heard_.store(now_s(), std::memory_order_relaxed);
      pinged_.store(false, std::memory_order_relaxed);
      if (!close_code_ && !reader_.done())
        reader_.feed({buffer.data(), n},
                     [this](ws_frame_reader::event&& ev) { on_event(std::move(ev)); });
      if (n < buffer.size()) break;
    }
    wait_readable();
  }

  void on_event(ws_frame_reader::event&& ev) {
    using kind = ws_frame_reader::kind;
    switch (ev.what) {
      case kind::text:
        return ctx_.actors.frame(actor_, std::move(ev.data));
      case kind::ping:
        return push_control(0xa, std::make_shared<const std::string>(std::move(ev.data)));
      case kind::pong:
        return;
      case kind::close:  // answered with the peer's code, after what is queued
        return begin_close(ev.code);
      case kind::fail:  // Beast's answers: 1002 protocol, 1003 binary, 1007 UTF-8, 1009 size
        return begin_close(ev.code);
    }
  }

  void enqueue(std::vector<std::shared_ptr<const std::string>> frames) {
    if (close_code_) return;
    for (auto& f : frames) {
      queued_bytes_ += f->size();
      queue_.push_back({std::move(f), 0x1});
    }
    if (queued_bytes_ > ctx_.cfg.limits.max_outbound_bytes) {
      // A reader this far behind would grow memory without bound: drop it; it resumes later.
      // (A batch half on the wire stays: it is still being written.)
      const size_t keep = head_ + (writing_ ? tail_->frames() : 0);
      for (size_t i = keep; i < queue_.size(); ++i)
        if (queue_[i].opcode == 0x1) queued_bytes_ -= queue_[i].payload->size();
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(keep), queue_.end());
      return begin_close(websocket::close_code::policy_error);
    }
    if (!writing_) write_next();
  }

  void push_control(unsigned char opcode, std::shared_ptr<const std::string> payload) {
    queue_.push_back({std::move(payload), opcode});
    if (!writing_) write_next();
  }

  // Writes everything queued: each batch of frames first with one non-blocking writev; only a
  // batch the socket cannot take at once waits for the reactor (nothing else writes meanwhile).
  // A batch is gathered in the thread's frame_gather (no allocation per write); only a batch
  // that must wait for the reactor moves into the session (tail_), its buffers unmoved.
  void write_next() {
    thread_local frame_gather shared;
    while (head_ < queue_.size()) {
      const auto buffers = shared.gather(std::span<const out_frame>(queue_).subspan(head_));
      beast::error_code ec;
      const size_t sent = socket_.write_some(buffers, ec);
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again)
        return fail_writes();
      if (sent < shared.bytes()) {
        writing_ = true;
        tail_ = std::make_unique<frame_gather>(std::exchange(shared, frame_gather{}));
        beast::buffers_suffix<std::span<const asio::const_buffer>> rest(buffers);
        rest.consume(sent);
        return asio::async_write(socket_, rest,
                                 [self = shared_from_this()](beast::error_code ec, size_t) {
                                   self->writing_ = false;
                                   if (ec) return self->fail_writes();
                                   self->pop_written(std::exchange(self->tail_, {})->frames());
                                   self->write_next();
                                 });
      }
      pop_written(shared.frames());
    }
    if (close_written_) {
      // Our close frame is out: half-close, and read until the peer closes too.
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  void pop_written(size_t frames) {
    for (size_t i = 0; i < frames; ++i) {
      auto& f = queue_[head_++];
      if (f.opcode == 0x1) queued_bytes_ -= f.payload->size();
      if (f.opcode == 0x8) close_written_ = true;
    }
    if (head_ == queue_.size()) {
      head_ = 0;
      if (queue_.capacity() > idle_queue_capacity)
        queue_ = {};
      else
        queue_.clear();
    }
  }

  void fail_writes() {
    queue_ = {};
    head_ = 0;
    queued_bytes_ = 0;
    tail_.reset();
    finish();
  }

  void begin_close(uint16_t code) {
    if (close_code_) return;
    close_code_ = code;
    closing_since_.store(now_s(), std::memory_order_relaxed);
    push_control(0x8, close_payload(code));
  }

  // Closes the socket (ending every pending operation) and forgets the session; the actor
  // learns it when the last handler lets go of the session.
  void finish() {
    beast::error_code ignored;
    socket_.close(ignored);
    std::lock_guard lock(ctx_.sessions_mutex);
    ctx_.websockets.erase(weak_from_this());
  }

  tcp::socket socket_;
  ws_frame_reader reader_;
  server_context& ctx_;
  ip_slots::slot slot_;
  connection_actor actor_;
  std::vector<out_frame> queue_;  // frames from head_ on are not written yet
  size_t head_ = 0;
  size_t queued_bytes_ = 0;             // of text frames
  std::unique_ptr<frame_gather> tail_;  // a batch half on the wire
  bool writing_ = false;                // a batch is half on the wire, waiting for the reactor
  bool close_written_ = false;
  std::optional<uint16_t> close_code_;
  std::atomic<uint32_t> heard_{0};          // now_s() when the peer last sent anything
  std::atomic<uint32_t> closing_since_{0};  // now_s() when our close began, 0 before
  std::atomic<bool> pinged_{false};         // a ping went out since the peer was last heard
};

void start_websocket_session(tcp::socket socket, std::string response, server_context& ctx,
                             ip_slots::slot slot, codec::principal who) {
  auto session = std::make_shared<websocket_session>(std::move(socket), std::move(response), ctx,
                                                     std::move(slot));
  session->start(std::move(who));
}

namespace {

std::vector<std::shared_ptr<websocket_session>> open_websockets(server_context& ctx) {
  std::vector<std::shared_ptr<websocket_session>> open;
  std::lock_guard lock(ctx.sessions_mutex);
  open.reserve(ctx.websockets.size());
  for (auto& weak : ctx.websockets)
    if (auto s = weak.lock()) open.push_back(std::move(s));
  return open;
}

}  // namespace

void close_all_websockets(server_context& ctx) {
  for (auto& s : open_websockets(ctx)) s->close(websocket::close_code::going_away);
}

void sweep_websockets(server_context& ctx) {
  const uint32_t now = now_s();
  for (auto& s : open_websockets(ctx))
    if (auto what = s->idle_check(now); what != websocket_session::idle_action::none)
      s->on_idle(what);
}

}  // namespace sb::net
