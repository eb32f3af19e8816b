// etcd_watch: one plain-TCP connection per watch, driven step by step on an io_context of its
// own by the thread in run(). stop() only posts a socket shutdown onto that io_context, so the
// socket is touched by the run() thread alone.
#include "cluster/etcd_watch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <optional>

namespace sb::cluster {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct http_target {
  std::string host, port, host_header;
};

std::optional<http_target> parse_endpoint(std::string_view endpoint) {
  auto parsed = boost::urls::parse_absolute_uri(endpoint);
  if (!parsed || parsed->scheme_id() != boost::urls::scheme::http) return std::nullopt;
  if (parsed->encoded_host().empty()) return std::nullopt;
  http_target t;
  t.host = parsed->host_address();
  t.port = parsed->has_port() && !parsed->port().empty() ? std::string(parsed->port()) : "80";
  t.host_header = parsed->encoded_host_and_port();
  return t;
}

std::string watch_request_body(const std::string& prefix, int64_t start_revision) {
  json::object create;
  create["key"] = etcd_json::base64_encode(prefix);
  create["range_end"] = etcd_json::base64_encode(prefix_end(prefix));
  create["start_revision"] = std::to_string(start_revision);
  return json::serialize(json::object{{"create_request", std::move(create)}});
}

// One line of text from whatever etcd put into an error: a string or {"message": ...}.
std::string message_of(const json::value& error) {
  std::string out = "etcd error";
  if (error.is_string()) out = error.get_string();
  if (error.is_object()) {
    const auto* message = error.get_object().if_contains("message");
    if (message && message->is_string()) out = message->get_string();
  }
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

etcd_event event_from_json(const json::object& event) {
  etcd_event out;
  const auto* type = event.if_contains("type");  // absent for PUT (the zero value)
  if (type && type->is_string() && type->get_string() == "DELETE") out.what = etcd_event::type::del;
  if (const auto* kv = event.if_contains("kv"); kv && kv->is_object()) {
    out.kv = etcd_json::kv_from_json(kv->get_object());
  }
  return out;
}

}  // namespace

struct etcd_watch::impl {
  using parser_type = http::response_parser<http::buffer_body>;
  using callback = std::function<void(const std::vector<etcd_event>&, int64_t)>;

  asio::io_context ioc;
  tcp::resolver resolver{ioc};
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  std::vector<char> chunk = std::vector<char>(64 * 1024);

  // Ends whatever is in flight; the pending operation then completes with an error.
  void shut() {
    resolver.cancel();
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // Runs the operation `start` begins until it completes. Past `deadline` (if any) the socket is
  // shut, which completes the operation, and the result is timed_out.
  template <class Start>
  beast::error_code step(Start&& start, std::optional<clock_type::time_point> deadline) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    while (!result) {
      const size_t ran = deadline ? ioc.run_one_until(*deadline) : ioc.run_one();
      if (result || ran != 0) continue;
      if (!ioc.stopped()) {  // the deadline passed
        shut();
        ioc.restart();
        while (!result) ioc.run_one();
        return asio::error::timed_out;
      }
      return asio::error::operation_aborted;  // no work left: cannot happen with `start` pending
    }
    return *result;
  }

  // Appends the body bytes one read gives to `out`. Chunk boundaries are not kept: etcd's chunks
  // are not message boundaries anyway (etcd#11372).
  beast::error_code read_some_body(parser_type& parser, std::string& out,
                                   std::optional<clock_type::time_point> deadline) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    auto ec = step([&](auto handler) { http::async_read_some(socket, buffer, parser, handler); },
                   deadline);
    if (ec == http::error::need_buffer) ec = {};  // `chunk` is full: not an error
    out.append(chunk.data(), chunk.size() - body.size);
    return ec;
  }

  // The message of a non-200 answer, as ": <message>" (or nothing), read within `deadline`.
  std::string error_body(parser_type& parser, clock_type::time_point deadline) {
    std::string body;
    while (!parser.is_done() && body.size() < chunk.size()) {
      if (read_some_body(parser, body, deadline)) break;
    }
    json::error_code ec;
    const auto parsed = json::parse(body, ec);
    return ec ? std::string() : ": " + message_of(parsed);
  }

  // One message of the stream: nullopt to go on, or how the watch ends.
  static std::optional<end> handle_message(std::string_view line, const callback& on_events) {
    json::error_code ec;
    const auto parsed = json::parse(line, ec);
    if (ec || !parsed.is_object()) return end{end_reason::failed, 0, "unparseable watch message"};
    const auto& message = parsed.get_object();
    if (const auto* error = message.if_contains("error")) {
      return end{end_reason::failed, 0, message_of(*error)};
    }
    const auto* result = message.if_contains("result");
    if (!result || !result->is_object()) return std::nullopt;
    const auto& response = result->get_object();
    // etcd cancels a watch whose start is compacted, with both fields set: compaction first.
    if (const int64_t compacted = etcd_json::int64_field(response, "compact_revision")) {
      return end{end_reason::compacted, compacted, {}};
    }
    if (const auto* canceled = response.if_contains("canceled");
        canceled && canceled->is_bool() && canceled->get_bool()) {
      const auto* reason = response.if_contains("cancel_reason");
      return end{end_reason::canceled, 0,
                 reason ? message_of(*reason) : std::string("watch canceled by etcd")};
    }
    deliver_events(response, on_events);
    return std::nullopt;
  }

  static void deliver_events(const json::object& response, const callback& on_events) {
    const auto* events = response.if_contains("events");
    if (!events || !events->is_array() || events->get_array().empty()) return;
    std::vector<etcd_event> out;
    out.reserve(events->get_array().size());
    for (const auto& event : events->get_array()) {
      if (event.is_object()) out.push_back(event_from_json(event.get_object()));
    }
    int64_t revision = 0;
    if (const auto* header = response.if_contains("header"); header && header->is_object()) {
      revision = etcd_json::int64_field(header->get_object(), "revision");
    }
    on_events(out, revision);
  }

  // Reads newline-separated messages until the watch ends; a message may span many reads.
  end read_stream(parser_type& parser, const std::atomic<bool>& stopped, const std::string& where,
                  const callback& on_events) {
    std::string carry;
    size_t scanned = 0;  // carry[0, scanned) holds no newline
    while (!parser.is_done()) {
      const auto ec = read_some_body(parser, carry, std::nullopt);
      if (stopped) return end{end_reason::stopped};
      if (ec) return end{end_reason::failed, 0, where + ": watch stream: " + ec.message()};
      size_t begin = 0;
      for (size_t nl; (nl = carry.find('\n', scanned)) != carry.npos; scanned = begin) {
        const std::string_view line(carry.data() + begin, nl - begin);
        begin = nl + 1;
        if (line.find_first_not_of(" \r\t") == line.npos) continue;
        if (auto ended = handle_message(line, on_events)) return *ended;
        if (stopped) return end{end_reason::stopped};
      }
      carry.erase(0, begin);
      scanned = carry.size();
    }
    return end{end_reason::failed, 0, where + ": watch stream ended by etcd"};
  }
};

etcd_watch::etcd_watch(std::string endpoint, std::string prefix, int64_t start_revision,
                       std::chrono::milliseconds connect_timeout)
    : endpoint_(std::move(endpoint)),
      prefix_(std::move(prefix)),
      start_revision_(start_revision),
      connect_timeout_(connect_timeout),
      impl_(std::make_unique<impl>()) {}

etcd_watch::~etcd_watch() = default;

// The flag is set before the post: whoever runs the posted shut also sees the flag.
void etcd_watch::stop() {
  stopped_.store(true);
  asio::post(impl_->ioc, [state = impl_.get()] { state->shut(); });
}

// Each step checks `stopped_` afterwards: a shut that ran between two steps leaves a closed
// socket, which the next step would otherwise reopen (async_connect) or report as a failure.
etcd_watch::end etcd_watch::run(
    const std::function<void(const std::vector<etcd_event>&, int64_t)>& on_events) {
  const end stopped{end_reason::stopped};
  const std::string where = endpoint_ + "/v3/watch";
  auto failed = [&](std::string_view stage, beast::error_code ec) {
    return end{end_reason::failed, 0, where + ": " + std::string(stage) + ": " + ec.message()};
  };
  if (stopped_) return stopped;
  const auto target = parse_endpoint(endpoint_);
  if (!target) return end{end_reason::failed, 0, where + ": unsupported endpoint (http only)"};
  const auto deadline = clock_type::now() + connect_timeout_;
  auto& s = *impl_;

  tcp::resolver::results_type resolved;
  auto ec = s.step(
      [&](auto handler) {
        s.resolver.async_resolve(target->host, target->port,
                                 [&resolved, handler](beast::error_code e, auto results) {
                                   resolved = std::move(results);
                                   handler(e);
                                 });
      },
      deadline);
  if (stopped_) return stopped;
  if (ec) return failed("resolving", ec);
  ec = s.step([&](auto handler) { asio::async_connect(s.socket, resolved, handler); }, deadline);
  if (stopped_) return stopped;
  if (ec) return failed("connect", ec);

  http::request<http::string_body> req{http::verb::post, "/v3/watch", 11};
  req.set(http::field::host, target->host_header);
  req.set(http::field::content_type, "application/json");
  req.body() = watch_request_body(prefix_, start_revision_);
  req.prepare_payload();
  ec = s.step([&](auto handler) { http::async_write(s.socket, req, handler); }, deadline);
  if (stopped_) return stopped;
  if (ec) return failed("sending request", ec);

  impl::parser_type parser;
  parser.body_limit(boost::none);  // the default 8 MB would end a long watch
  ec = s.step([&](auto handler) { http::async_read_header(s.socket, s.buffer, parser, handler); },
              deadline);
  if (stopped_) return stopped;
  if (ec) return failed("reading response", ec);
  if (const unsigned status = parser.get().result_int(); status != 200) {
    return end{end_reason::failed, 0,
               where + ": HTTP " + std::to_string(status) + s.error_body(parser, deadline)};
  }
  return s.read_stream(parser, stopped_, where, on_events);
}

}  // namespace sb::cluster
