// A stand-in HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for the channel tests: a scripted
// answer per request, every request recorded. It runs on its own thread; the test thread
// constructs it, reads requests() and destroys it, which stops and joins that thread.
#pragma once
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sb::channels::fakes {

struct recorded_request {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;

  std::string path() const { return target.substr(0, target.find('?')); }
  std::string header(const std::string& lowercase_name) const {
    auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct scripted_reply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  bool hang = false;  // read the request and never answer; the connection stays open
};

class fake_server {
 public:
  // Called on the server's thread, one request at a time.
  using script = std::function<scripted_reply(const recorded_request&)>;

  explicit fake_server(script s) : script_(std::move(s)) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~fake_server() {
    ioc_.stop();
    thread_.join();
  }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  uint16_t port() const { return port_; }
  std::string url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
  }
  std::vector<recorded_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  size_t count(std::string_view path) const {
    auto all = requests();
    return std::count_if(all.begin(), all.end(),
                         [&](const recorded_request& r) { return r.path() == path; });
  }

 private:
  using tcp = boost::asio::ip::tcp;
  struct session : std::enable_shared_from_this<session> {
    session(fake_server& server, tcp::socket socket) : server(server), socket(std::move(socket)) {}

    void read() {
      parser.emplace();
      parser->body_limit(1 << 20);
      boost::beast::http::async_read(
          socket, buffer, *parser,
          boost::beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(boost::beast::error_code ec, size_t) {
      if (ec) return;  // the client closed, or sent something that is not HTTP
      const auto& req = parser->get();
      recorded_request rec;
      rec.method = std::string(req.method_string());
      rec.target = std::string(req.target());
      for (const auto& field : req) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        rec.headers[name] = std::string(field.value());
      }
      rec.body = req.body();
      const bool keep_alive = req.keep_alive();
      const scripted_reply reply = server.record_and_answer(rec);
      if (reply.hang) {
        server.hung_.push_back(shared_from_this());
        return;
      }
      res = {};
      res.version(11);
      res.result(reply.status);
      res.set(boost::beast::http::field::content_type, reply.content_type);
      res.body() = reply.body;
      res.keep_alive(keep_alive);
      res.prepare_payload();
      boost::beast::http::async_write(
          socket, res, boost::beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    void on_write(boost::beast::error_code ec, size_t) {
      if (ec || !res.keep_alive()) return;
      read();
    }

    fake_server& server;
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser;
    boost::beast::http::response<boost::beast::http::string_body> res;
  };

  void accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      std::make_shared<session>(*this, std::move(socket))->read();
      accept();
    });
  }

  scripted_reply record_and_answer(const recorded_request& rec) {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(rec);
    }
    return script_(rec);
  }

  script script_;
  boost::asio::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  uint16_t port_ = acceptor_.local_endpoint().port();
  std::vector<std::shared_ptr<session>> hung_;  // server thread only
  mutable std::mutex mutex_;
  std::vector<recorded_request> requests_;
  std::thread thread_;
};

}  // namespace sb::channels::fakes
