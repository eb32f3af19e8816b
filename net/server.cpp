#include "net/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

#include "net/session_support.hpp"

namespace sb::net {

ip_slots::slot ip_slots::acquire(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto& n = counts_[ip];
  if (n >= per_ip_ || open_ >= total_) {
    if (n == 0) counts_.erase(ip);
    return {};
  }
  ++n;
  ++open_;
  return {this, ip};
}

void ip_slots::release(const std::string& ip) {
  std::lock_guard lock(mutex_);
  if (auto it = counts_.find(ip); it != counts_.end() && --it->second == 0) counts_.erase(it);
  --open_;
}

struct server::impl {
  server_context ctx;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::steady_timer sweep_timer;  // the one timer of every WebSocket (sweep_websockets)
  std::atomic<bool> stopped{false};

  impl(const config::settings& cfg, codec::metrics& metrics, bridge& actors)
      : ctx(cfg, metrics, actors),
        ioc(static_cast<int>(cfg.node.io_threads)),
        acceptor(ioc),
        sweep_timer(ioc) {}

  void sweep() {
    sweep_timer.expires_after(std::chrono::seconds(5));
    sweep_timer.async_wait([this](beast::error_code ec) {
      if (ec) return;
      sweep_websockets(ctx);
      sweep();
    });
  }

  // Each socket's handlers must not run concurrently. With one io thread the io_context itself
  // guarantees that; a strand would only add a lock and a queue to every hop onto the socket
  // (the CAF → asio posts of every push and every HTTP answer).
  asio::any_io_executor socket_executor() {
    if (ctx.cfg.node.io_threads == 1) return ioc.get_executor();
    return asio::make_strand(ioc);
  }

  void accept() {
    acceptor.async_accept(socket_executor(), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        beast::error_code ignored;
        auto ip = s.remote_endpoint(ignored).address().to_string();
        // Pushes are small frames that must leave at once; Nagle would hold one back until the
        // peer's delayed ACK (~40 ms) when the previous frame is still unacknowledged.
        s.set_option(tcp::no_delay(true), ignored);
        if (auto slot = ctx.slots.acquire(ip); slot.owner)
          start_http_session(std::move(s), ctx, std::move(slot));
        else
          s.close(ignored);  // over the connection limit for this IP or node
      }
      accept();
    });
  }
};

server::server(const config::settings& cfg, codec::metrics& metrics, bridge& actors)
    : impl_(std::make_unique<impl>(cfg, metrics, actors)) {}

server::~server() = default;

std::string server::listen() {
  const auto& node = impl_->ctx.cfg.node;
  beast::error_code ec;
  auto address = asio::ip::make_address(node.listen_host, ec);
  if (ec) return "cannot listen on " + node.listen_host + ": not an IP address";
  tcp::endpoint ep{address, node.listen_port};
  auto& a = impl_->acceptor;
  auto fail = [&](const char* what) {
    return std::string("cannot listen on ") + node.listen_host + ":" +
           std::to_string(node.listen_port) + ": " + what + ": " + ec.message();
  };
  if (a.open(ep.protocol(), ec); ec) return fail("open");
  if (a.set_option(asio::socket_base::reuse_address(true), ec); ec) return fail("set_option");
  if (a.bind(ep, ec); ec) return fail("bind");
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen");
  return "";
}

uint16_t server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void server::run() {
  impl_->accept();
  impl_->sweep();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->ctx.cfg.node.io_threads; ++i)
    threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void server::shutdown(std::chrono::milliseconds grace) {
  if (impl_->stopped.exchange(true)) return;
  impl_->ctx.stopping = true;
  impl_->ctx.api.set_stopping();
  asio::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    close_all_websockets(impl_->ctx);  // the sweep keeps running: it cuts stuck close handshakes
  });
  // Sessions finish their close handshakes and responses; whatever is left after the grace
  // period (idle keep-alive HTTP connections, unresponsive peers) is cut.
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(impl_->ctx.sessions_mutex);
      if (impl_->ctx.websockets.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->ioc.stop();
}

}  // namespace sb::net
