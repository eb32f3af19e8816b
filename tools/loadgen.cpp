// loadgen: Switchboard's benchmark client (bench/README.md explains the scenarios).
// Opens N merchant-dashboard WebSockets, posts orders over HTTP keep-alive at a fixed rate and
// measures connect rate, 202 latency, deliveries and end-to-end latency (the order's `sent_ns`,
// CLOCK_REALTIME, against the clock at push arrival on the same machine). One io_context per
// worker thread; every connection lives on exactly one of them, so a connection's handlers never
// run concurrently and need no strand. The main thread only orchestrates and reads atomics.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// ---------------------------------------------------------------------------------------------
// Options

struct options {
  std::string url = "http://127.0.0.1:8080";
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string target = "switchboard";  // switchboard | peer
  std::string token_mode = "dev";      // dev: mint JWTs with POST /api/dev/token
  std::string service_key = "dev-service-key";
  std::string merchant_prefix = "m";
  size_t connections = 0;
  size_t merchants = 10;
  double rate = 0;        // orders/s; 0 with --duration means no orders
  size_t http_conns = 0;  // 0: chosen from the rate
  double duration = 0;
  size_t preload = 0;  // orders posted (unpaced) before any WebSocket connects: replay test
  bool ack = false;
  bool connect_only = false;
  double hold = 0;
  int server_pid = 0;
  size_t threads = 1;
  size_t connect_window = 256;  // handshakes in flight at once
  double connect_timeout = 120;
  double drain = 5;  // seconds to wait for outstanding pushes after the last order
  bool sub_per_conn = false;
  bool progress = false;
  bool chat = false;  // chat scenario: customers and agents of merchant m1
  size_t customers = 0;
  size_t agents = 0;
  bool peer() const { return target == "peer"; }
};

[[noreturn]] void usage(const std::string& why) {
  if (!why.empty()) std::cerr << "loadgen: " << why << "\n";
  std::cerr <<
      R"(usage: loadgen [flags]
  --url http://HOST:PORT      server (default http://127.0.0.1:8080)
  --target switchboard|peer   peer = bench/peer_ws_server.js (no auth, no hello, no acks)
  --connections N             WebSocket dashboards; connection i watches merchant m<i % M>
  --merchants M               merchants (default 10)
  --rate R --duration S       post R orders/s (random merchant) for S seconds
  --http-conns K              keep-alive HTTP connections for posting (default max(64, R/50))
  --preload N                 post N orders before connecting, then time the replay
  --ack                       ack every push (cumulative, one ack per wake-up)
  --token-mode dev            mint JWTs with POST /api/dev/token (one per merchant: bench-m<m>)
  --sub-per-conn              one principal per connection (bench-m<m>-<i>) instead
  --service-key KEY           bearer key for POST /api/orders (default dev-service-key)
  --connect-only --hold S     open the connections, hold them S seconds, close
  --server-pid P              read the server's VmRSS before/after connecting
  --threads T                 io threads (default 1)
  --connect-window W          handshakes in flight (default 256)
  --drain S                   wait for late pushes after the last order (default 5)
  --merchant-prefix P         merchant ids are P0..P<M-1> (default m)
  --progress                  print a line per second while posting
  --chat --customers C --agents A --rate R --duration S
                              chat: A agents (agent<i>) and C customers (cust<i>) of merchant
                              m1; R messages/s, customer and assigned agent in turn
)";
  std::exit(2);
}

options parse_options(int argc, char** argv) {
  options o;
  auto number = [&](const std::string& flag, const char* v) {
    char* end = nullptr;
    double d = std::strtod(v, &end);
    if (end == v || *end != '\0' || d < 0) usage("bad value for " + flag);
    return d;
  };
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(f + " needs a value");
      return argv[++i];
    };
    if (f == "--url")
      o.url = value();
    else if (f == "--target")
      o.target = value();
    else if (f == "--token-mode")
      o.token_mode = value();
    else if (f == "--service-key")
      o.service_key = value();
    else if (f == "--merchant-prefix")
      o.merchant_prefix = value();
    else if (f == "--connections")
      o.connections = size_t(number(f, value()));
    else if (f == "--merchants")
      o.merchants = size_t(number(f, value()));
    else if (f == "--rate")
      o.rate = number(f, value());
    else if (f == "--http-conns")
      o.http_conns = size_t(number(f, value()));
    else if (f == "--duration")
      o.duration = number(f, value());
    else if (f == "--preload")
      o.preload = size_t(number(f, value()));
    else if (f == "--hold")
      o.hold = number(f, value());
    else if (f == "--server-pid")
      o.server_pid = int(number(f, value()));
    else if (f == "--threads")
      o.threads = size_t(number(f, value()));
    else if (f == "--connect-window")
      o.connect_window = size_t(number(f, value()));
    else if (f == "--connect-timeout")
      o.connect_timeout = number(f, value());
    else if (f == "--drain")
      o.drain = number(f, value());
    else if (f == "--ack")
      o.ack = true;
    else if (f == "--connect-only")
      o.connect_only = true;
    else if (f == "--sub-per-conn")
      o.sub_per_conn = true;
    else if (f == "--progress")
      o.progress = true;
    else if (f == "--chat")
      o.chat = true;
    else if (f == "--customers")
      o.customers = size_t(number(f, value()));
    else if (f == "--agents")
      o.agents = size_t(number(f, value()));
    else if (f == "--help" || f == "-h")
      usage("");
    else
      usage("unknown flag " + f);
  }
  constexpr std::string_view scheme = "http://";
  if (!o.url.starts_with(scheme)) usage("--url must start with http://");
  std::string hp = o.url.substr(scheme.size());
  if (auto slash = hp.find('/'); slash != std::string::npos) hp.resize(slash);
  auto colon = hp.rfind(':');
  o.host = colon == std::string::npos ? hp : hp.substr(0, colon);
  o.port = colon == std::string::npos ? "80" : hp.substr(colon + 1);
  if (o.target != "switchboard" && o.target != "peer") usage("--target is switchboard or peer");
  if (o.token_mode != "dev") usage("--token-mode supports only dev");
  if (o.merchants == 0 || o.threads == 0 || o.connect_window == 0) usage("zero is not allowed");
  if (o.chat && (o.peer() || o.customers == 0 || o.agents == 0 || o.rate <= 0))
    usage("--chat needs --target switchboard, --customers, --agents and --rate");
  if (o.http_conns == 0) o.http_conns = std::max<size_t>(64, size_t(o.rate / 50));
  return o;
}

// ---------------------------------------------------------------------------------------------
// Shared state and per-thread statistics

// Counters are atomics so the main thread can watch progress; the sample vectors and the error
// map belong to the worker thread and are read only after it has been joined.
struct stats {
  std::atomic<uint64_t> connected{0}, connect_failed{0}, dropped{0};
  std::atomic<uint64_t> pushes{0}, duplicates{0}, gaps{0}, acks{0}, caught_up{0};
  std::atomic<uint64_t> posted{0}, accepted{0}, rejected{0}, http_errors{0};
  std::atomic<int64_t> last_push_ns{0};
  std::vector<int64_t> connect_ns, post_ns, e2e_ns, replay_ns;
  std::map<std::string, uint64_t> errors;
};

struct shared {
  options opt;
  tcp::endpoint endpoint;
  std::vector<std::string> merchant_tokens;      // index = merchant (empty for peer)
  std::vector<std::string> conn_tokens;          // index = connection (--sub-per-conn)
  std::vector<std::atomic<uint64_t>> conns_of;   // established connections per merchant
  std::vector<std::atomic<int64_t>> max_seq_of;  // highest seq answered per merchant
  std::atomic<bool> measuring{false};            // record e2e latencies
  std::atomic<bool> stop_posting{false};
  std::atomic<int64_t> budget{0};  // orders the posters may still send
  std::atomic<uint64_t> expected{0};
  std::atomic<size_t> posters_running{0};
  std::atomic<size_t> ws_open{0};
  steady::time_point connect_start;

  explicit shared(options o)
      : opt(std::move(o)), conns_of(opt.merchants), max_seq_of(opt.merchants) {}
  std::string merchant(size_t m) const { return opt.merchant_prefix + std::to_string(m); }
};

struct worker {
  net::io_context ioc{1};
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(ioc);
  stats st;
  std::thread thread;
};

// Value of "key": (an unsigned integer) in compact or spaced JSON text, or -1. The frames this
// scans are ours (order bodies without these keys) or the server's flat envelope.
int64_t scan_int(std::string_view text, std::string_view quoted_key) {
  auto pos = text.find(quoted_key);
  if (pos == std::string_view::npos) return -1;
  pos += quoted_key.size();
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == ':')) ++pos;
  int64_t v = -1;
  auto [p, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), v);
  return ec == std::errc() ? v : -1;
}

std::string_view scan_str(std::string_view text, std::string_view quoted_key) {
  auto pos = text.find(quoted_key);
  if (pos == std::string_view::npos) return {};
  pos = text.find('"', pos + quoted_key.size());
  if (pos == std::string_view::npos) return {};
  auto end = text.find('"', pos + 1);
  if (end == std::string_view::npos) return {};
  return text.substr(pos + 1, end - pos - 1);
}

void count_error(stats& st, std::string what) {
  ++st.errors[std::move(what)];
}

bool expected_close(const error_code& ec) {
  return ec == websocket::error::closed || ec == net::error::operation_aborted;
}

// ---------------------------------------------------------------------------------------------
// One WebSocket dashboard connection

class ws_client : public std::enable_shared_from_this<ws_client> {
 public:
  ws_client(worker& w, shared& sh, size_t index, std::function<void()> on_settled)
      : w_(w),
        sh_(sh),
        index_(index),
        merchant_(index % sh.opt.merchants),
        stream_("orders:" + sh.merchant(merchant_)),
        ws_(w.ioc),
        on_settled_(std::move(on_settled)),
        catch_up_seq_(sh.opt.preload > 0 ? sh.max_seq_of[merchant_].load() : 0) {}

  void start() {
    t0_ = steady::now();
    ws_.next_layer().async_connect(
        sh_.endpoint, beast::bind_front_handler(&ws_client::on_connect, shared_from_this()));
  }

  void close() {
    closing_ = true;
    if (!open_ || writing_) return;  // a pending ack write closes when it completes
    do_close();
  }

 private:
  void on_connect(error_code ec) {
    if (ec) return fail("connect", ec);
    ws_.next_layer().set_option(tcp::no_delay(true), ec);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(http::field::user_agent, "sb-loadgen"); }));
    std::string path;
    if (sh_.opt.peer()) {
      path = "/ws?merchant=" + sh_.merchant(merchant_);
    } else {
      const auto& token =
          sh_.opt.sub_per_conn ? sh_.conn_tokens[index_] : sh_.merchant_tokens[merchant_];
      path = "/ws?token=" + token;
    }
    ws_.async_handshake(res_, sh_.opt.host + ":" + sh_.opt.port, path,
                        beast::bind_front_handler(&ws_client::on_handshake, shared_from_this()));
  }

  void on_handshake(error_code ec) {
    if (ec) {
      if (res_.result_int() != 0 && res_.result() != http::status::switching_protocols)
        return fail("handshake http " + std::to_string(res_.result_int()), {});
      return fail("handshake", ec);
    }
    res_ = {};
    open_ = true;
    ++sh_.ws_open;
    if (sh_.opt.peer()) {
      established();
      return read();
    }
    out_ = R"({"op":"hello"})";
    writing_ = true;
    ws_.async_write(net::buffer(out_),
                    beast::bind_front_handler(&ws_client::on_write, shared_from_this()));
    read();
  }

  void established() {
    established_ = true;
    w_.st.connect_ns.push_back(std::chrono::nanoseconds(steady::now() - t0_).count());
    ++sh_.conns_of[merchant_];
    ++w_.st.connected;
    if (sh_.opt.preload > 0 && catch_up_seq_ == 0) ++w_.st.caught_up;  // nothing to replay
    settle();
  }

  void settle() {
    if (settled_) return;
    settled_ = true;
    if (on_settled_) on_settled_();
    on_settled_ = nullptr;
  }

  void read() {
    ws_.async_read(buf_, beast::bind_front_handler(&ws_client::on_read, shared_from_this()));
  }

  void on_read(error_code ec, size_t) {
    if (ec) {
      open_ = false;
      --sh_.ws_open;
      if (closing_ && expected_close(ec)) return;
      if (ec == websocket::error::closed)
        return fail("closed by server code " + std::to_string(ws_.reason().code), {});
      return fail("read", ec);
    }
    auto data = buf_.cdata();
    handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buf_.consume(buf_.size());
    maybe_ack();
    read();
  }

  void handle(std::string_view frame) {
    auto op = scan_str(frame, R"("op")");
    if (op == "push") return on_push(frame);
    if (op == "welcome") {
      if (!established_) established();
      return;
    }
    if (op == "error")
      return count_error(w_.st, "error frame " + std::string(scan_str(frame, R"("code")")));
    count_error(w_.st, "unexpected frame op '" + std::string(op) + "'");
  }

  void on_push(std::string_view frame) {
    const int64_t now = realtime_ns();
    const int64_t seq = scan_int(frame, R"("seq")");
    if (seq <= last_seq_) {
      ++w_.st.duplicates;
      return;
    }
    // The first push may start anywhere (after the principal's last ack); later ones must not
    // skip a seq.
    if (last_seq_ > 0 && seq > last_seq_ + 1) w_.st.gaps += uint64_t(seq - last_seq_ - 1);
    last_seq_ = seq;
    ++w_.st.pushes;
    w_.st.last_push_ns.store(now, std::memory_order_relaxed);
    if (sh_.measuring.load(std::memory_order_relaxed)) {
      const int64_t sent = scan_int(frame, R"("sent_ns")");
      if (sent > 0) w_.st.e2e_ns.push_back(now - sent);
    }
    if (catch_up_seq_ > 0 && seq >= catch_up_seq_) {
      catch_up_seq_ = 0;
      w_.st.replay_ns.push_back(
          std::chrono::nanoseconds(steady::now() - sh_.connect_start).count());
      ++w_.st.caught_up;
    }
  }

  void maybe_ack() {
    if (!sh_.opt.ack || writing_ || closing_ || last_seq_ <= acked_seq_) return;
    acked_seq_ = last_seq_;
    out_ = R"({"op":"ack","stream":")" + stream_ + R"(","seq":)" + std::to_string(acked_seq_) + "}";
    writing_ = true;
    ++w_.st.acks;
    ws_.async_write(net::buffer(out_),
                    beast::bind_front_handler(&ws_client::on_write, shared_from_this()));
  }

  void on_write(error_code ec, size_t) {
    writing_ = false;
    if (ec) {
      if (!expected_close(ec)) count_error(w_.st, "write: " + ec.message());
      return;
    }
    if (closing_) {
      if (open_) do_close();
      return;
    }
    maybe_ack();
  }

  void do_close() {
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](error_code) {});
  }

  void fail(const std::string& what, error_code ec) {
    count_error(w_.st, ec ? what + ": " + ec.message() : what);
    if (established_) {
      ++w_.st.dropped;
      --sh_.conns_of[merchant_];
    } else {
      ++w_.st.connect_failed;
    }
    settle();
  }

  worker& w_;
  shared& sh_;
  size_t index_;
  size_t merchant_;
  std::string stream_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
  websocket::response_type res_;
  std::string out_;
  std::function<void()> on_settled_;
  int64_t catch_up_seq_;  // replay: caught up once this seq arrived (0: not replaying)
  steady::time_point t0_;
  int64_t last_seq_ = 0, acked_seq_ = 0;
  bool open_ = false, writing_ = false, closing_ = false, established_ = false, settled_ = false;
};

// Starts a worker's share of the connections, at most `window` handshakes at a time.
class connector : public std::enable_shared_from_this<connector> {
 public:
  connector(worker& w, shared& sh, std::vector<size_t> indices, size_t window)
      : w_(w), sh_(sh), indices_(std::move(indices)), window_(window) {}

  void start() {
    for (size_t i = 0; i < window_; ++i) next();
  }

  std::vector<std::shared_ptr<ws_client>> clients;

 private:
  void next() {
    if (pos_ >= indices_.size()) return;
    auto self = shared_from_this();
    auto c = std::make_shared<ws_client>(
        w_, sh_, indices_[pos_++], [self] { net::post(self->w_.ioc, [self] { self->next(); }); });
    clients.push_back(c);
    c->start();
  }

  worker& w_;
  shared& sh_;
  std::vector<size_t> indices_;
  size_t window_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// HTTP order poster: one keep-alive connection, one request in flight, paced by a timer.

class poster : public std::enable_shared_from_this<poster> {
 public:
  poster(worker& w, shared& sh, size_t index, double interval_s, bool record)
      : w_(w),
        sh_(sh),
        index_(index),
        interval_(std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(interval_s))),
        record_(record),
        stream_(w.ioc),
        timer_(w.ioc),
        rng_{0x9E3779B97F4A7C15ull ^ (index + 1) * 0xBF58476D1CE4E5B9ull} {
    req_.method(http::verb::post);
    req_.target("/api/orders");
    req_.set(http::field::host, sh.opt.host + ":" + sh.opt.port);
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::authorization, "Bearer " + sh.opt.service_key);
    req_.keep_alive(true);
  }

  void start() {
    // Stagger the posters over one interval so their requests do not arrive in bursts.
    next_ = steady::now() + interval_ * index_ / std::max<size_t>(1, sh_.opt.http_conns);
    connect();
  }

 private:
  void connect() {
    buf_.clear();
    stream_.async_connect(sh_.endpoint,
                          beast::bind_front_handler(&poster::on_connect, shared_from_this()));
  }

  void on_connect(error_code ec) {
    if (ec) return retry("post connect", ec);
    stream_.set_option(tcp::no_delay(true), ec);
    schedule();
  }

  void schedule() {
    if (sh_.stop_posting.load() || sh_.budget.fetch_sub(1) <= 0) return finish();
    auto now = steady::now();
    if (next_ < now - std::chrono::seconds(1)) next_ = now;  // far behind: do not burst
    timer_.expires_at(next_);
    next_ += interval_;
    timer_.async_wait(beast::bind_front_handler(&poster::send, shared_from_this()));
  }

  void send(error_code) {
    const size_t m = size_t(rng_() % sh_.opt.merchants);
    merchant_ = m;
    const int64_t sent = realtime_ns();
    req_.body() =
        R"({"merchant":")" + sh_.merchant(m) + R"(","order_id":"o)" + std::to_string(index_) + "-" +
        std::to_string(++count_) + R"(","sent_ns":)" + std::to_string(sent) +
        R"(,"total":128.5,"currency":"CNY","items":[{"sku":"A-1001","qty":2},{"sku":"B-7","qty":1}],"table":"12"})";
    req_.prepare_payload();
    t0_ = steady::now();
    ++w_.st.posted;
    http::async_write(stream_, req_,
                      beast::bind_front_handler(&poster::on_write, shared_from_this()));
  }

  void on_write(error_code ec, size_t) {
    if (ec) return retry("post write", ec);
    res_ = {};
    http::async_read(stream_, buf_, res_,
                     beast::bind_front_handler(&poster::on_read, shared_from_this()));
  }

  void on_read(error_code ec, size_t) {
    if (ec) return retry("post read", ec);
    if (res_.result() == http::status::accepted) {
      ++w_.st.accepted;
      if (record_) w_.st.post_ns.push_back(std::chrono::nanoseconds(steady::now() - t0_).count());
      sh_.expected += sh_.conns_of[merchant_].load();
      const int64_t seq = scan_int(res_.body(), R"("seq")");
      auto& max = sh_.max_seq_of[merchant_];
      for (int64_t cur = max.load(); seq > cur && !max.compare_exchange_weak(cur, seq);) {
      }
    } else {
      ++w_.st.rejected;
      count_error(w_.st, "POST /api/orders " + std::to_string(res_.result_int()) + " " +
                             std::string(scan_str(res_.body(), R"("error")")));
    }
    if (!res_.keep_alive()) {
      stream_.close();
      return connect();
    }
    schedule();
  }

  void retry(const std::string& what, error_code ec) {
    ++w_.st.http_errors;
    count_error(w_.st, what + ": " + ec.message());
    error_code ignored;
    stream_.close(ignored);
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([self = shared_from_this()](error_code) {
      if (self->sh_.stop_posting.load()) return self->finish();
      self->connect();
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    stream_.close(ignored);
    --sh_.posters_running;
  }

  worker& w_;
  shared& sh_;
  size_t index_;
  steady::duration interval_;
  bool record_;
  tcp::socket stream_;
  net::steady_timer timer_;
  struct xorshift {
    uint64_t s;
    uint64_t operator()() {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      return s;
    }
  } rng_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  steady::time_point next_, t0_;
  size_t merchant_ = 0;
  uint64_t count_ = 0;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------
// Chat scenario (--chat): agents and customers of merchant m1 on WebSockets. Every chat client
// lives on worker 0, so the conversation -> agent map and the pacer need no locking.

struct chat_state {
  std::atomic<uint64_t> sent{0}, acked{0}, delivered{0}, expected{0}, established{0}, failed{0};
  std::atomic<uint64_t> no_agent{0}, assigned{0};
  std::atomic<int64_t> last_delivery_ns{0};
  std::atomic<size_t> open{0};
  std::atomic<bool> measuring{false};
  std::vector<int64_t> to_agent_ns, to_customer_ns;  // worker 0; read after it is joined
};

class chat_client : public std::enable_shared_from_this<chat_client> {
 public:
  chat_client(worker& w, shared& sh, chat_state& cs, bool agent, size_t index, std::string token,
              std::string conv)
      : w_(w),
        sh_(sh),
        cs_(cs),
        agent_(agent),
        index_(index),
        token_(std::move(token)),
        conv_(std::move(conv)),
        ws_(w.ioc) {}

  // Called for every "assigned" entry an agent sees: conversation -> agent.
  std::function<void(const std::string& conv, size_t agent)> on_assigned;

  const std::string& conv() const { return conv_; }

  void start() {
    ws_.next_layer().async_connect(
        sh_.endpoint, beast::bind_front_handler(&chat_client::on_connect, shared_from_this()));
  }

  void send(const std::string& conv) {
    if (!open_ || closing_) return;
    const int64_t sent = realtime_ns();
    if (cs_.measuring.load(std::memory_order_relaxed)) pending_[count_ + 1] = sent;
    queue(R"({"op":"send","conv":")" + conv + R"(","id":")" + (agent_ ? "a" : "c") +
          std::to_string(index_) + "-" + std::to_string(++count_) + R"(","text":"t )" +
          std::to_string(sent) + R"("})");
    ++cs_.sent;
    ++cs_.expected;
  }

  void close() {
    closing_ = true;
    if (!open_ || writing_) return;
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](error_code) {});
  }

 private:
  void on_connect(error_code ec) {
    if (ec) return fail("chat connect", ec);
    ws_.next_layer().set_option(tcp::no_delay(true), ec);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.async_handshake(res_, sh_.opt.host + ":" + sh_.opt.port, "/ws?token=" + token_,
                        beast::bind_front_handler(&chat_client::on_handshake, shared_from_this()));
  }

  void on_handshake(error_code ec) {
    if (ec) {
      if (res_.result_int() != 0 && res_.result() != http::status::switching_protocols)
        return fail("chat handshake http " + std::to_string(res_.result_int()), {});
      return fail("chat handshake", ec);
    }
    open_ = true;
    ++cs_.open;
    queue(R"({"op":"hello"})");
    read();
  }

  void read() {
    ws_.async_read(buf_, beast::bind_front_handler(&chat_client::on_read, shared_from_this()));
  }

  void on_read(error_code ec, size_t) {
    if (ec) {
      open_ = false;
      --cs_.open;
      if (closing_ && expected_close(ec)) return;
      if (ec == websocket::error::closed)
        return fail("chat closed by server code " + std::to_string(ws_.reason().code), {});
      return fail("chat read", ec);
    }
    auto data = buf_.cdata();
    handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buf_.consume(buf_.size());
    read();
  }

  void handle(std::string_view frame) {
    auto op = scan_str(frame, R"("op")");
    if (op == "push") return on_push(frame);
    if (op == "sent") {
      ++cs_.acked;
      // Our ids are <a|c><index>-<n>: time from send to durable.
      const auto id = scan_str(frame, R"("id")");
      uint64_t n = 0;
      if (auto dash = id.find('-'); dash != std::string_view::npos)
        std::from_chars(id.data() + dash + 1, id.data() + id.size(), n);
      if (auto it = pending_.find(n); it != pending_.end()) {
        w_.st.post_ns.push_back(realtime_ns() - it->second);
        pending_.erase(it);
      }
      return;
    }
    if (op == "welcome") {
      if (!established_) {
        established_ = true;
        ++cs_.established;
      }
      return;
    }
    if (op == "event") return;  // queue positions, typing
    if (op == "error")
      return count_error(w_.st, "chat error frame " + std::string(scan_str(frame, R"("code")")));
    count_error(w_.st, "chat unexpected frame op '" + std::string(op) + "'");
  }

  void on_push(std::string_view frame) {
    const int64_t now = realtime_ns();
    const std::string stream(scan_str(frame, R"("stream")"));
    const int64_t seq = scan_int(frame, R"("seq")");
    int64_t& last = last_seq_[stream];
    if (seq <= last) {
      ++w_.st.duplicates;
      return;
    }
    last = seq;
    queue(R"({"op":"ack","stream":")" + stream + R"(","seq":)" + std::to_string(seq) + "}");
    const auto kind = scan_str(frame, R"("kind")");
    if (kind == "assigned") {
      if (agent_ && on_assigned) on_assigned(std::string(scan_str(frame, R"("conv")")), index_);
      return;
    }
    if (kind != "message") return;
    // Both sides read the conversation: only the other side's messages count.
    if (scan_str(frame, R"("role")") == (agent_ ? "agent" : "customer")) return;
    const auto text = scan_str(frame, R"("text")");
    int64_t sent = -1;
    if (text.starts_with("t ")) std::from_chars(text.data() + 2, text.data() + text.size(), sent);
    if (sent <= 0) return count_error(w_.st, "chat message without sent_ns");
    ++cs_.delivered;
    cs_.last_delivery_ns.store(now, std::memory_order_relaxed);
    if (cs_.measuring.load(std::memory_order_relaxed)) {
      w_.st.e2e_ns.push_back(now - sent);
      (agent_ ? cs_.to_agent_ns : cs_.to_customer_ns).push_back(now - sent);
    }
  }

  void queue(std::string frame) {
    outq_.push_back(std::move(frame));
    if (!writing_) write_next();
  }

  void write_next() {
    if (outq_.empty() || !open_) return;
    out_ = std::move(outq_.front());
    outq_.erase(outq_.begin());
    writing_ = true;
    ws_.async_write(net::buffer(out_),
                    beast::bind_front_handler(&chat_client::on_write, shared_from_this()));
  }

  void on_write(error_code ec, size_t) {
    writing_ = false;
    if (ec) {
      if (!expected_close(ec)) count_error(w_.st, "chat write: " + ec.message());
      return;
    }
    if (closing_) {
      if (open_)
        ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](error_code) {});
      return;
    }
    write_next();
  }

  void fail(const std::string& what, error_code ec) {
    count_error(w_.st, ec ? what + ": " + ec.message() : what);
    if (established_)
      ++w_.st.dropped;
    else
      ++cs_.failed;
  }

  worker& w_;
  shared& sh_;
  chat_state& cs_;
  bool agent_;
  size_t index_;
  std::string token_, conv_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
  websocket::response_type res_;
  std::string out_;
  std::vector<std::string> outq_;
  std::map<std::string, int64_t> last_seq_;  // per stream: de-duplication and acks
  std::map<uint64_t, int64_t> pending_;      // send number -> sent_ns, until its `sent`
  uint64_t count_ = 0;
  bool open_ = false, writing_ = false, closing_ = false, established_ = false;
};

// Paces the chat: tick k (R ticks/s) picks a random customer on even k, which sends on its
// conversation; on odd k the agent assigned to that conversation replies.
class chat_pacer : public std::enable_shared_from_this<chat_pacer> {
 public:
  chat_pacer(worker& w, shared& sh, std::vector<std::shared_ptr<chat_client>>& customers,
             std::vector<std::shared_ptr<chat_client>>& agents,
             std::map<std::string, size_t>& agent_of, chat_state& cs, double rate)
      : sh_(sh),
        customers_(customers),
        agents_(agents),
        agent_of_(agent_of),
        cs_(cs),
        interval_(std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(1.0 / rate))),
        timer_(w.ioc) {}

  void start() {
    next_ = steady::now();
    schedule();
  }

 private:
  void schedule() {
    if (sh_.stop_posting.load()) return;
    auto now = steady::now();
    if (next_ < now - std::chrono::seconds(1)) next_ = now;  // far behind: do not burst
    timer_.expires_at(next_);
    next_ += interval_;
    timer_.async_wait([self = shared_from_this()](error_code) { self->tick(); });
  }

  void tick() {
    if (sh_.stop_posting.load() || customers_.empty()) return;
    if (tick_++ % 2 == 0) {
      current_ = size_t(rng_() % customers_.size());
      customers_[current_]->send(customers_[current_]->conv());
    } else {
      const auto& conv = customers_[current_]->conv();
      auto it = agent_of_.find(conv);
      if (it == agent_of_.end())
        ++cs_.no_agent;
      else
        agents_[it->second]->send(conv);
    }
    schedule();
  }

  shared& sh_;
  std::vector<std::shared_ptr<chat_client>>& customers_;
  std::vector<std::shared_ptr<chat_client>>& agents_;
  std::map<std::string, size_t>& agent_of_;
  chat_state& cs_;
  steady::duration interval_;
  net::steady_timer timer_;
  steady::time_point next_;
  uint64_t tick_ = 0;
  size_t current_ = 0;
  uint64_t rng_state_ = 0x9E3779B97F4A7C15ull;
  uint64_t rng_() {
    rng_state_ ^= rng_state_ << 13;
    rng_state_ ^= rng_state_ >> 7;
    rng_state_ ^= rng_state_ << 17;
    return rng_state_;
  }
};

// ---------------------------------------------------------------------------------------------
// Synchronous helpers for the main thread

// POST with a blocking keep-alive connection; used to mint tokens before the measurement.
class sync_http {
 public:
  explicit sync_http(const shared& sh) : sh_(sh), stream_(ioc_) { stream_.connect(sh.endpoint); }

  http::response<http::string_body> post(const std::string& target, const std::string& body,
                                         const std::string& bearer = {}) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, sh_.opt.host + ":" + sh_.opt.port);
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buf_, res);
    return res;
  }

 private:
  const shared& sh_;
  net::io_context ioc_;
  tcp::socket stream_;
  beast::flat_buffer buf_;
};

std::string mint_token(sync_http& client, const std::string& sub, const std::string& mid,
                       const std::string& role = "merchant") {
  json::object body{{"sub", sub}, {"role", role}, {"mid", mid}};
  auto res = client.post("/api/dev/token", json::serialize(body));
  if (res.result() != http::status::ok) {
    std::cerr << "loadgen: POST /api/dev/token answered " << res.result_int() << " " << res.body()
              << "\n";
    std::exit(1);
  }
  return std::string(json::parse(res.body()).as_object().at("token").as_string());
}

// VmRSS of a process in KiB, or -1.
int64_t rss_kib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::strtoll(line.c_str() + 6, nullptr, 10);
  return -1;
}

// CPU seconds (user + system) a process has used so far, or -1.
double cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / double(sysconf(_SC_CLK_TCK));
}

struct percentiles {
  double p50 = 0, p99 = 0, p999 = 0;  // milliseconds
  size_t n = 0;
};

percentiles percentiles_of(std::vector<int64_t> v) {
  percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = size_t(q * double(v.size()));
    return double(v[std::min(i, v.size() - 1)]) / 1e6;
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  return p;
}

template <class F>
uint64_t sum(std::vector<std::unique_ptr<worker>>& ws, F field) {
  uint64_t total = 0;
  for (auto& w : ws) total += field(w->st).load(std::memory_order_relaxed);
  return total;
}

// Waits until `done()` or the timeout; returns whether `done()` held.
template <class F>
bool wait_until(F done, double timeout_s) {
  auto t0 = steady::now();
  while (!done()) {
    if (seconds_since(t0) > timeout_s) return false;
    sleep_s(0.02);
  }
  return true;
}

double round3(double v) {
  return double(int64_t(v * 1000 + (v >= 0 ? 0.5 : -0.5))) / 1000;
}

// The --chat scenario, start to end; returns the exit code.
int run_chat(shared& sh, std::vector<std::unique_ptr<worker>>& workers) {
  const options& opt = sh.opt;
  const std::string merchant = "m1";
  worker& w = *workers[0];
  chat_state cs;
  std::vector<std::shared_ptr<chat_client>> agents, customers;
  std::map<std::string, size_t> agent_of;  // conversation -> agent; worker 0 only
  json::object result{{"target", opt.target},       {"url", opt.url},       {"scenario", "chat"},
                      {"customers", opt.customers}, {"agents", opt.agents}, {"rate", opt.rate},
                      {"duration", opt.duration}};
  std::cout << "loadgen       chat " << opt.url << ": " << opt.agents << " agents, "
            << opt.customers << " customers of " << merchant << ", " << opt.rate
            << " messages/s for " << opt.duration << " s\n";
  try {
    sync_http client(sh);
    auto t0 = steady::now();
    std::vector<std::string> agent_tokens, customer_tokens;
    for (size_t i = 0; i < opt.agents; ++i)
      agent_tokens.push_back(mint_token(client, "agent" + std::to_string(i), merchant, "agent"));
    for (size_t i = 0; i < opt.customers; ++i)
      customer_tokens.push_back(
          mint_token(client, "cust" + std::to_string(i), merchant, "customer"));
    std::cout << "tokens        " << opt.agents + opt.customers << " minted in "
              << round3(seconds_since(t0)) << " s\n";

    // Agents first, so that every conversation is assigned when it is opened.
    t0 = steady::now();
    for (size_t i = 0; i < opt.agents; ++i) {
      auto a = std::make_shared<chat_client>(w, sh, cs, true, i, agent_tokens[i], "");
      a->on_assigned = [&agent_of, &cs](const std::string& conv, size_t agent) {
        if (agent_of.insert_or_assign(conv, agent).second) ++cs.assigned;
      };
      agents.push_back(a);
      net::post(w.ioc, [a] { a->start(); });
    }
    wait_until([&] { return cs.established + cs.failed >= opt.agents; }, opt.connect_timeout);
    std::cout << "agents        " << cs.established.load() << "/" << opt.agents << " in "
              << round3(seconds_since(t0)) << " s, failed " << cs.failed.load() << "\n";

    // Customers: open the conversation over HTTP, then connect and say hello.
    t0 = steady::now();
    uint64_t open_failed = 0;
    for (size_t i = 0; i < opt.customers; ++i) {
      auto res =
          client.post("/api/conversations", json::serialize(json::object{{"merchant", merchant}}),
                      customer_tokens[i]);
      if (res.result() != http::status::created && res.result() != http::status::ok) {
        ++open_failed;
        ++w.st.http_errors;
        net::post(w.ioc, [&w, code = res.result_int()] {
          count_error(w.st, "POST /api/conversations " + std::to_string(code));
        });
        continue;
      }
      std::string conv(json::parse(res.body()).as_object().at("id").as_string());
      auto c = std::make_shared<chat_client>(w, sh, cs, false, i, customer_tokens[i], conv);
      customers.push_back(c);
      net::post(w.ioc, [c] { c->start(); });
    }
    const size_t want = opt.agents + customers.size();
    wait_until([&] { return cs.established + cs.failed >= want; }, opt.connect_timeout);
    const bool all_assigned =
        wait_until([&] { return cs.assigned.load() >= customers.size(); }, 10);
    const double s = seconds_since(t0);
    std::cout << "customers     "
              << cs.established.load() - std::min<uint64_t>(opt.agents, cs.established) << "/"
              << opt.customers << " conversations opened and connected in " << round3(s)
              << " s, open failed " << open_failed << ", connect failed " << cs.failed.load()
              << ", assigned " << cs.assigned.load() << (all_assigned ? "" : " (NOT ALL)") << "\n";
    result["connected"] = cs.established.load();
    result["connect_failed"] = cs.failed.load() + open_failed;
    result["assigned"] = cs.assigned.load();
  } catch (const std::exception& e) {
    std::cerr << "loadgen: chat setup failed: " << e.what() << "\n";
    return 1;
  }

  // Messages.
  const double server_cpu0 = cpu_seconds(opt.server_pid), own_cpu0 = cpu_seconds(getpid());
  const int64_t start_ns = realtime_ns();
  cs.measuring = true;
  auto t0 = steady::now();
  auto pacer = std::make_shared<chat_pacer>(w, sh, customers, agents, agent_of, cs, opt.rate);
  net::post(w.ioc, [pacer] { pacer->start(); });
  uint64_t last_sent = 0, last_delivered = 0;
  while (seconds_since(t0) < opt.duration) {
    sleep_s(std::min(1.0, opt.duration - seconds_since(t0)));
    if (opt.progress) {
      const uint64_t a = cs.sent, d = cs.delivered;
      std::cerr << "  t=" << int(seconds_since(t0)) << "s sent/s " << a - last_sent
                << " delivered/s " << d - last_delivered << " open " << cs.open.load() << "\n";
      last_sent = a;
      last_delivered = d;
    }
  }
  sh.stop_posting = true;
  const double send_s = seconds_since(t0);
  const bool drained = wait_until([&] { return cs.delivered >= cs.expected; }, opt.drain);
  const double cpu_s = seconds_since(t0);
  const double server_cpu_s = cpu_seconds(opt.server_pid) - server_cpu0;
  const double own_cpu = (cpu_seconds(getpid()) - own_cpu0) / cpu_s * 100;
  const uint64_t sent = cs.sent, delivered = cs.delivered, acked = cs.acked;
  const double deliver_s = std::max(send_s, double(cs.last_delivery_ns.load() - start_ns) / 1e9);
  std::cout << "messages      " << sent << " sent in " << round3(send_s)
            << " s = " << uint64_t(double(sent) / send_s) << " messages/s (target " << opt.rate
            << "), " << acked << " acknowledged (sent), " << cs.no_agent.load()
            << " skipped (no agent known)\n";
  std::cout << "delivered     " << delivered << " of " << sent << " to the other side"
            << (drained ? "" : " (NOT ALL ARRIVED)") << " = "
            << uint64_t(double(delivered) / deliver_s) << " messages/s\n";
  if (opt.server_pid > 0) {
    const double server_cpu = server_cpu_s / cpu_s * 100;
    std::cout << "cpu           server " << int(server_cpu) << "% of one core = "
              << round3(server_cpu_s * 1e6 / double(std::max<uint64_t>(1, sent)))
              << " us per message; loadgen " << int(own_cpu) << "%\n";
    result["server_cpu_pct"] = round3(server_cpu);
    result["server_cpu_us_per_message"] =
        round3(server_cpu_s * 1e6 / double(std::max<uint64_t>(1, sent)));
  }
  result["loadgen_cpu_pct"] = round3(own_cpu);
  result["sent"] = sent;
  result["send_rate"] = round3(double(sent) / send_s);
  result["rate_held"] = double(sent) / send_s >= 0.95 * opt.rate;
  result["acked"] = acked;
  result["delivered"] = delivered;
  result["delivered_rate"] = round3(double(delivered) / deliver_s);
  result["all_delivered"] = drained;
  result["no_agent"] = cs.no_agent.load();

  // Close everything and stop the workers.
  net::post(w.ioc, [&] {
    for (auto& c : customers) c->close();
    for (auto& a : agents) a->close();
  });
  wait_until([&] { return cs.open.load() == 0; }, 10);
  uint64_t dropped = 0, duplicates = 0;
  for (auto& wk : workers) {
    wk->guard.reset();
    wk->ioc.stop();
    wk->thread.join();
    dropped += wk->st.dropped;
    duplicates += wk->st.duplicates;
  }
  auto report = [&](const char* label, const std::string& key, const std::vector<int64_t>& v) {
    auto p = percentiles_of(v);
    std::cout << label << "p50 " << round3(p.p50) << " ms, p99 " << round3(p.p99) << " ms, p99.9 "
              << round3(p.p999) << " ms (" << p.n << " samples)\n";
    result[key + "_p50_ms"] = round3(p.p50);
    result[key + "_p99_ms"] = round3(p.p99);
    result[key + "_p999_ms"] = round3(p.p999);
  };
  report("send->sent    ", "sent", w.st.post_ns);
  report("end-to-end    ", "e2e", w.st.e2e_ns);
  report("  to agent    ", "e2e_to_agent", cs.to_agent_ns);
  report("  to customer ", "e2e_to_customer", cs.to_customer_ns);
  uint64_t error_count = cs.no_agent;
  json::object error_kinds;
  if (cs.no_agent > 0) error_kinds["no agent known for the conversation"] = cs.no_agent.load();
  for (auto& [k, v] : w.st.errors) {
    error_count += v;
    error_kinds[k] = v;
    std::cout << "error         " << v << " x " << k << "\n";
  }
  result["dropped"] = dropped;
  result["duplicates"] = duplicates;
  result["gaps"] = 0;
  result["errors"] = error_count;
  result["error_kinds"] = std::move(error_kinds);
  std::cout << "RESULT " << json::serialize(result) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  shared sh(parse_options(argc, argv));
  const options& opt = sh.opt;
  if (opt.peer() && opt.preload > 0) {
    std::cerr << "loadgen: --preload needs --target switchboard (the peer keeps no history)\n";
    return 2;
  }
  {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    error_code ec;
    auto results = resolver.resolve(opt.host, opt.port, ec);
    if (ec || results.empty()) {
      std::cerr << "loadgen: cannot resolve " << opt.host << ":" << opt.port << "\n";
      return 1;
    }
    sh.endpoint = results.begin()->endpoint();
  }

  std::vector<std::unique_ptr<worker>> workers;
  for (size_t t = 0; t < opt.threads; ++t) {
    workers.push_back(std::make_unique<worker>());
    auto* w = workers.back().get();
    w->thread = std::thread([w] { w->ioc.run(); });
  }
  if (opt.chat) return run_chat(sh, workers);
#define SB_SUM(field) \
  sum(                \
      workers, [](stats & s) -> auto& { return s.field; })

  json::object result{{"target", opt.target},
                      {"url", opt.url},
                      {"connections", opt.connections},
                      {"merchants", opt.merchants},
                      {"rate", opt.rate},
                      {"duration", opt.duration},
                      {"ack", opt.ack},
                      {"sub_per_conn", opt.sub_per_conn}};
  std::cout << "loadgen       target " << opt.target << " " << opt.url << ", " << opt.connections
            << " connections over " << opt.merchants << " merchants, " << opt.threads
            << " thread(s)" << (opt.ack ? ", acking" : "") << "\n";

  // Tokens: one principal per merchant ("bench-m<m>": every tab of that dashboard user shares it
  // and its cumulative acks), or one per connection ("bench-m<m>-<i>") with --sub-per-conn.
  if (!opt.peer() && opt.connections > 0) {
    try {
      sync_http client(sh);
      auto t0 = steady::now();
      for (size_t m = 0; m < opt.merchants; ++m)
        sh.merchant_tokens.push_back(mint_token(client, "bench-" + sh.merchant(m), sh.merchant(m)));
      if (opt.sub_per_conn)
        for (size_t i = 0; i < opt.connections; ++i)
          sh.conn_tokens.push_back(mint_token(
              client, "bench-" + sh.merchant(i % opt.merchants) + "-" + std::to_string(i),
              sh.merchant(i % opt.merchants)));
      std::cout << "tokens        " << sh.merchant_tokens.size() + sh.conn_tokens.size()
                << " minted in " << round3(seconds_since(t0)) << " s\n";
    } catch (const std::exception& e) {
      std::cerr << "loadgen: minting tokens failed: " << e.what() << "\n";
      return 1;
    }
  }

  // Starts `count` posters spread over the workers; they stop when the budget is spent or
  // stop_posting is set.
  auto start_posters = [&](size_t count, double interval_s, bool record) {
    sh.posters_running += count;  // each poster's finish() takes one off
    for (size_t k = 0; k < count; ++k) {
      auto& w = *workers[k % workers.size()];
      net::post(w.ioc, [&w, &sh, k, interval_s, record] {
        std::make_shared<poster>(w, sh, k, interval_s, record)->start();
      });
    }
  };

  // Replay preparation: orders posted while nobody is connected.
  if (opt.preload > 0) {
    auto t0 = steady::now();
    sh.budget = int64_t(opt.preload);
    start_posters(opt.http_conns, 0, false);
    wait_until([&] { return sh.posters_running.load() == 0; }, 600);
    const double s = seconds_since(t0);
    const uint64_t ok = SB_SUM(accepted);
    std::cout << "preload       " << ok << " orders accepted in " << round3(s)
              << " s = " << uint64_t(double(ok) / s) << " orders/s (unpaced, " << opt.http_conns
              << " connections)\n";
    result["preloaded"] = ok;
    result["preload_rate"] = round3(double(ok) / s);
  }

  // Connections.
  std::vector<std::shared_ptr<connector>> connectors;
  const int64_t rss_before = rss_kib(opt.server_pid);
  if (opt.connections > 0) {
    std::vector<std::vector<size_t>> share(workers.size());
    for (size_t i = 0; i < opt.connections; ++i) share[i % workers.size()].push_back(i);
    sh.connect_start = steady::now();
    for (size_t t = 0; t < workers.size(); ++t) {
      auto c =
          std::make_shared<connector>(*workers[t], sh, std::move(share[t]),
                                      std::max<size_t>(1, opt.connect_window / workers.size()));
      connectors.push_back(c);
      net::post(workers[t]->ioc, [c] { c->start(); });
    }
    wait_until([&] { return SB_SUM(connected) + SB_SUM(connect_failed) >= opt.connections; },
               opt.connect_timeout);
    const double s = seconds_since(sh.connect_start);
    const uint64_t ok = SB_SUM(connected), failed = SB_SUM(connect_failed);
    std::cout << "connections   " << ok << "/" << opt.connections << " in " << round3(s)
              << " s = " << uint64_t(double(ok) / s) << " conn/s, failed " << failed << "\n";
    result["connected"] = ok;
    result["connect_failed"] = failed;
    result["connect_s"] = round3(s);
    result["connect_rate"] = round3(double(ok) / s);
  }

  // Replay: a connection has caught up once it has seen its merchant's last preloaded seq.
  if (opt.preload > 0 && opt.connections > 0) {
    const uint64_t connected = SB_SUM(connected);
    bool all = wait_until([&] { return SB_SUM(caught_up) >= connected; }, 300);
    const double s = seconds_since(sh.connect_start);
    const uint64_t entries = SB_SUM(pushes);
    std::cout << "replay        " << SB_SUM(caught_up) << "/" << connected
              << " connections caught up" << (all ? "" : " (TIMED OUT)") << ": " << entries
              << " entries in " << round3(s) << " s = " << uint64_t(double(entries) / s)
              << " entries/s\n";
    result["replay_entries"] = entries;
    result["replay_s"] = round3(s);
    result["replay_rate"] = round3(double(entries) / s);
    result["replay_complete"] = all;
  }

  if (opt.server_pid > 0 && opt.connections > 0) {
    sleep_s(1);  // let the server settle what it does per new connection
    const int64_t rss_after = rss_kib(opt.server_pid);
    const uint64_t n = std::max<uint64_t>(1, SB_SUM(connected));
    const double per_conn = double(rss_after - rss_before) * 1024 / double(n);
    std::cout << "server rss    before " << rss_before / 1024 << " MiB, after " << rss_after / 1024
              << " MiB: " << int64_t(per_conn) << " bytes per connection\n";
    result["rss_before_kib"] = rss_before;
    result["rss_after_kib"] = rss_after;
    result["bytes_per_conn"] = int64_t(per_conn);
  }

  if (opt.connect_only) {
    sleep_s(opt.hold);
    if (opt.server_pid > 0) result["rss_end_of_hold_kib"] = rss_kib(opt.server_pid);
  } else if (opt.rate > 0 && opt.duration > 0) {
    const uint64_t pushes0 = SB_SUM(pushes), posted0 = SB_SUM(accepted);
    const double interval = double(opt.http_conns) / opt.rate;
    sh.budget = INT64_MAX;
    sh.measuring = true;
    const int64_t start_ns = realtime_ns();
    const double server_cpu0 = cpu_seconds(opt.server_pid), own_cpu0 = cpu_seconds(getpid());
    auto t0 = steady::now();
    start_posters(opt.http_conns, interval, true);
    uint64_t last_posted = posted0, last_pushes = pushes0;
    while (seconds_since(t0) < opt.duration) {
      sleep_s(std::min(1.0, opt.duration - seconds_since(t0)));
      if (opt.progress) {
        const uint64_t p = SB_SUM(accepted), d = SB_SUM(pushes);
        std::cerr << "  t=" << int(seconds_since(t0)) << "s accepted/s " << p - last_posted
                  << " delivered/s " << d - last_pushes << " open " << sh.ws_open.load() << "\n";
        last_posted = p;
        last_pushes = d;
      }
    }
    sh.stop_posting = true;
    const double post_s = seconds_since(t0);
    wait_until([&] { return sh.posters_running.load() == 0; }, 30);
    const bool drained =
        wait_until([&] { return SB_SUM(pushes) - pushes0 >= sh.expected.load(); }, opt.drain);
    const double cpu_s = seconds_since(t0);
    const double server_cpu_s = cpu_seconds(opt.server_pid) - server_cpu0;
    const double server_cpu = server_cpu_s / cpu_s * 100;
    const double own_cpu = (cpu_seconds(getpid()) - own_cpu0) / cpu_s * 100;
    int64_t last_push = 0;
    for (auto& w : workers) last_push = std::max(last_push, w->st.last_push_ns.load());
    const uint64_t accepted = SB_SUM(accepted) - posted0, delivered = SB_SUM(pushes) - pushes0;
    const double deliver_s = std::max(post_s, double(last_push - start_ns) / 1e9);
    std::cout << "orders        " << accepted << " accepted in " << round3(post_s)
              << " s = " << uint64_t(double(accepted) / post_s) << " orders/s (target " << opt.rate
              << ", " << opt.http_conns << " http connections), rejected " << SB_SUM(rejected)
              << ", http errors " << SB_SUM(http_errors) << "\n";
    std::cout << "pushes        " << delivered << " delivered of " << sh.expected.load()
              << " expected" << (drained ? "" : " (NOT ALL ARRIVED)") << " = "
              << uint64_t(double(delivered) / deliver_s) << " pushes/s, duplicates "
              << SB_SUM(duplicates) << ", gaps " << SB_SUM(gaps) << ", acks sent " << SB_SUM(acks)
              << "\n";
    if (opt.server_pid > 0) {
      const double per_order = server_cpu_s * 1e6 / double(std::max<uint64_t>(1, accepted));
      const double per_push = server_cpu_s * 1e6 / double(std::max<uint64_t>(1, delivered));
      std::cout << "cpu           server " << int(server_cpu)
                << "% of one core = " << round3(per_order) << " us per order, " << round3(per_push)
                << " us per push; loadgen " << int(own_cpu) << "% (posting and draining)\n";
      result["server_cpu_pct"] = round3(server_cpu);
      result["server_cpu_us_per_order"] = round3(per_order);
      result["server_cpu_us_per_push"] = round3(per_push);
    }
    result["loadgen_cpu_pct"] = round3(own_cpu);
    const bool held = double(accepted) / post_s >= 0.95 * opt.rate;
    if (!held)
      std::cout << "warning       the posting rate was not held: the server answered too slowly "
                   "for "
                << opt.http_conns << " connections (or rejected orders)\n";
    result["rate_held"] = held;
    result["accepted"] = accepted;
    result["rejected"] = SB_SUM(rejected);
    result["post_rate"] = round3(double(accepted) / post_s);
    result["expected"] = sh.expected.load();
    result["delivered"] = delivered;
    result["delivered_rate"] = round3(double(delivered) / deliver_s);
    result["all_delivered"] = drained;
  }

  // Close everything and stop the workers.
  for (size_t t = 0; t < connectors.size(); ++t)
    net::post(workers[t]->ioc, [c = connectors[t]] {
      for (auto& client : c->clients) client->close();
    });
  wait_until([&] { return sh.ws_open.load() == 0; }, 10);
  for (auto& w : workers) {
    w->guard.reset();
    w->ioc.stop();
    w->thread.join();
  }

  // Samples, now that no worker thread runs.
  std::vector<int64_t> connect_ns, post_ns, e2e_ns, replay_ns;
  std::map<std::string, uint64_t> errors;
  for (auto& w : workers) {
    auto append = [](std::vector<int64_t>& to, const std::vector<int64_t>& from) {
      to.insert(to.end(), from.begin(), from.end());
    };
    append(connect_ns, w->st.connect_ns);
    append(post_ns, w->st.post_ns);
    append(e2e_ns, w->st.e2e_ns);
    append(replay_ns, w->st.replay_ns);
    for (auto& [k, v] : w->st.errors) errors[k] += v;
  }
  auto report = [&](const char* label, const char* key, const std::vector<int64_t>& samples) {
    if (samples.empty()) return;
    auto p = percentiles_of(samples);
    std::cout << label << "p50 " << round3(p.p50) << " ms, p99 " << round3(p.p99) << " ms, p99.9 "
              << round3(p.p999) << " ms (" << p.n << " samples)\n";
    result[std::string(key) + "_p50_ms"] = round3(p.p50);
    result[std::string(key) + "_p99_ms"] = round3(p.p99);
    result[std::string(key) + "_p999_ms"] = round3(p.p999);
  };
  report("connect time  ", "connect", connect_ns);
  report("202 latency   ", "post", post_ns);
  report("end-to-end    ", "e2e", e2e_ns);
  report("caught up at  ", "replay", replay_ns);

  uint64_t error_count = 0;
  json::object error_kinds;
  for (auto& [k, v] : errors) {
    error_count += v;
    error_kinds[k] = v;
    std::cout << "error         " << v << " x " << k << "\n";
  }
  result["dropped"] = SB_SUM(dropped);
  result["duplicates"] = SB_SUM(duplicates);
  result["gaps"] = SB_SUM(gaps);
  result["acks"] = SB_SUM(acks);
  result["errors"] = error_count;
  result["error_kinds"] = std::move(error_kinds);
  std::cout << "RESULT " << json::serialize(result) << std::endl;
#undef SB_SUM
  return 0;
}
