// perform(): one io_context per call, every step asynchronous and run only until the call's
// single deadline, after which the socket is closed. Called from the outbox's sender threads.
#include "http_client/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <variant>

namespace sb::http_client {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace urls = boost::urls;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct target {
  bool tls = false;
  std::string host;  // to connect to and to verify: decoded, an IPv6 address without brackets
  bool host_is_address = false;  // an IPv4 or IPv6 literal rather than a name
  uint16_t port = 0;
  std::string host_header;     // host[:port] as written in the URL
  std::string request_target;  // path and query
  std::string where;           // scheme://host:port/path for error lines: never the query
};

std::optional<target> parse_target(std::string_view url) {
  auto parsed = urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  const urls::url_view& u = *parsed;
  target t;
  t.tls = u.scheme_id() == urls::scheme::https;
  if (!t.tls && u.scheme_id() != urls::scheme::http) return std::nullopt;
  if (u.encoded_host().empty() || u.host_type() == urls::host_type::ipvfuture) return std::nullopt;
  t.port = t.tls ? 443 : 80;
  if (u.has_port() && !u.port().empty()) {
    if (u.port_number() == 0) return std::nullopt;
    t.port = u.port_number();
  }
  t.host = u.host_address();
  t.host_is_address =
      u.host_type() == urls::host_type::ipv4 || u.host_type() == urls::host_type::ipv6;
  t.host_header = u.encoded_host_and_port();
  const std::string path = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  t.request_target = path;
  if (u.has_query()) t.request_target += "?" + std::string(u.encoded_query());
  t.where = std::string(u.scheme()) + "://" + std::string(u.encoded_host()) + ":" +
            std::to_string(t.port) + path;
  return t;
}

http_reply failed(std::string error) {
  http_reply reply;
  reply.error = std::move(error);
  return reply;
}

std::string failure_line(const target& t, std::string_view stage, beast::error_code ec,
                         std::chrono::milliseconds timeout) {
  if (ec == asio::error::timed_out) {
    return t.where + ": timed out after " + std::to_string(timeout.count()) + " ms (" +
           std::string(stage) + ")";
  }
  return t.where + ": " + std::string(stage) + ": " + ec.message();
}

// One lookup's result, shared with the thread that performs it.
struct lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  beast::error_code ec;
  std::vector<tcp::endpoint> endpoints;
};

// Address literals need no lookup. Host names resolve on a detached thread: getaddrinfo cannot
// be cancelled, and the caller must not wait for it past the deadline.
std::vector<tcp::endpoint> resolve(const std::string& host, uint16_t port,
                                   clock_type::time_point deadline, beast::error_code& ec) {
  auto address = asio::ip::make_address(host, ec);
  if (!ec) return {tcp::endpoint(address, port)};
  auto state = std::make_shared<lookup>();
  std::thread([state, host, port] {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code lookup_ec;
    auto results =
        resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, lookup_ec);
    std::lock_guard lock(state->mutex);
    state->ec = lookup_ec;
    for (const auto& entry : results) state->endpoints.push_back(entry.endpoint());
    state->done = true;
    state->done_cv.notify_all();
  }).detach();
  std::unique_lock lock(state->mutex);
  if (!state->done_cv.wait_until(lock, deadline, [&] { return state->done; })) {
    ec = asio::error::timed_out;
    return {};
  }
  ec = state->ec;
  return std::move(state->endpoints);
}

// Runs one asynchronous step at a time on the call's own io_context, never past the deadline.
class deadline_runner {
 public:
  explicit deadline_runner(clock_type::time_point deadline) : deadline_(deadline) {}
  asio::io_context& context() { return ioc_; }

  // `start(handler)` begins one operation on `socket` or a stream over it. Returns the
  // operation's error, or timed_out once the deadline passed: the socket is then closed, which
  // completes the operation, so nothing is left pending.
  template <class Start>
  beast::error_code step(tcp::socket& socket, Start&& start) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_until(deadline_);
    if (result) return *result;
    beast::error_code ignored;
    socket.close(ignored);
    ioc_.restart();
    ioc_.run();
    return asio::error::timed_out;
  }

 private:
  asio::io_context ioc_{1};
  clock_type::time_point deadline_;
};

// Created once; an SSL_CTX is safe to share between threads once configured.
ssl::context& tls_context() {
  static ssl::context ctx = [] {
    ssl::context c(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(c.native_handle(), TLS1_2_VERSION);
    beast::error_code ec;
    c.set_default_verify_paths(ec);  // without a CA store every handshake fails to verify
    c.set_verify_mode(ssl::verify_peer);
    return c;
  }();
  return ctx;
}

// CR, LF or NUL in a field would split or end the header (request smuggling).
bool header_safe(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == s.npos;
}

http::request<http::string_body> make_request(const http_call& call, http::verb verb,
                                              const target& t) {
  http::request<http::string_body> req{verb, t.request_target, 11};
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, "switchboard");
  if (!call.body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : call.headers) req.set(name, value);
  req.body() = call.body;
  req.prepare_payload();
  return req;
}

// Connects `socket` (the lowest layer of `stream`), shakes hands when `stream` is TLS, writes
// the request and reads the response.
template <class Stream>
http_reply exchange(deadline_runner& run, tcp::socket& socket, Stream& stream,
                    const std::vector<tcp::endpoint>& endpoints,
                    const http::request<http::string_body>& req, const target& t,
                    std::chrono::milliseconds timeout, size_t max_body) {
  auto ec = run.step(
      socket, [&](auto handler) { asio::async_connect(socket, endpoints, std::move(handler)); });
  if (ec) return failed(failure_line(t, "connect", ec, timeout));
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    ec = run.step(socket, [&](auto handler) {
      stream.async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) return failed(failure_line(t, "TLS handshake", ec, timeout));
  }
  ec = run.step(socket, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
  if (ec) return failed(failure_line(t, "sending request", ec, timeout));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  ec = run.step(
      socket, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec == http::error::body_limit) {
    return failed(t.where + ": response body over " + std::to_string(max_body) + " bytes");
  }
  if (ec) return failed(failure_line(t, "reading response", ec, timeout));
  auto res = parser.release();
  http_reply reply;
  reply.status = res.result_int();
  reply.body = std::move(res.body());
  return reply;
}

}  // namespace

http_reply perform(const http_call& call, std::chrono::milliseconds timeout, size_t max_body) {
  const auto deadline = clock_type::now() + timeout;
  const auto t = parse_target(call.url);
  if (!t) return failed("unsupported URL");
  const auto verb = http::string_to_verb(call.method);
  if (verb == http::verb::unknown) return failed(t->where + ": unsupported method");
  for (const auto& [name, value] : call.headers) {
    if (name.empty() || !header_safe(name) || !header_safe(value)) {
      return failed(t->where + ": bad header");
    }
  }
  try {
    beast::error_code ec;
    const auto endpoints = resolve(t->host, t->port, deadline, ec);
    if (ec) return failed(failure_line(*t, "resolving", ec, timeout));
    const auto req = make_request(call, verb, *t);
    deadline_runner run(deadline);
    if (!t->tls) {
      tcp::socket socket(run.context());
      return exchange(run, socket, socket, endpoints, req, *t, timeout, max_body);
    }
    ssl::stream<tcp::socket> stream(run.context(), tls_context());
    // SNI names a host, never an address (RFC 6066).
    if (!t->host_is_address && !SSL_set_tlsext_host_name(stream.native_handle(), t->host.c_str())) {
      return failed(t->where + ": TLS setup failed");
    }
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(t->host));
    return exchange(run, stream.next_layer(), stream, endpoints, req, *t, timeout, max_body);
  } catch (const std::exception& e) {
    return failed(t->where + ": " + e.what());
  }
}

}  // namespace sb::http_client
