#include "net/bridge.hpp"

#include "cluster/registry.hpp"

namespace sb::net {

namespace {

constexpr auto resolve_timeout = std::chrono::seconds(5);

// Resolves the owner of `stream`, then sends it `msg` as a request and hands the reply to
// `done`. An owner that stopped between resolve and request (idle stop) is resolved once more.
template <class Result>
void request_owner(caf::event_based_actor* self, caf::actor registry, std::string stream,
                   caf::message msg, std::chrono::milliseconds timeout,
                   std::function<void(caf::expected<Result>)> done, int attempts_left) {
  self->request(registry, resolve_timeout, cluster::resolve_atom::value, stream)
      .then(
          [=](caf::actor owner) {
            self->request(owner, timeout, msg)
                .then([=](Result& r) { done(std::move(r)); },
                      [=](caf::error& err) {
                        if (err == caf::sec::request_receiver_down && attempts_left > 0)
                          request_owner<Result>(self, registry, stream, msg, timeout, done,
                                                attempts_left - 1);
                        else
                          done(std::move(err));
                      });
          },
          [=](caf::error& err) { done(std::move(err)); });
}

template <class Result>
void one_request(caf::event_based_actor* self, caf::actor registry, std::string stream,
                 caf::message msg, std::chrono::milliseconds timeout,
                 std::function<void(caf::expected<Result>)> done) {
  request_owner<Result>(self, registry, stream, msg, timeout, done, 1);
}

// One short-lived actor per request: asio threads cannot wait for replies themselves. (The
// arguments are passed through spawn: CAF 0.17 dereferences a null tuple for argument-less
// function actors.)
template <class Result>
void spawn_request(caf::actor_system& sys, caf::actor registry, std::string stream,
                   caf::message msg, std::chrono::milliseconds timeout,
                   std::function<void(caf::expected<Result>)> done) {
  sys.spawn(one_request<Result>, std::move(registry), std::move(stream), std::move(msg), timeout,
            std::move(done));
}

}  // namespace

template <class Result>
void bridge::ask(std::string key, caf::message msg, std::chrono::milliseconds timeout,
                 std::function<void(caf::expected<Result>)> done) {
  spawn_request<Result>(sys_, registry_, std::move(key), std::move(msg), timeout, std::move(done));
}

template void bridge::ask<std::string>(std::string, caf::message, std::chrono::milliseconds,
                                       std::function<void(caf::expected<std::string>)>);
template void bridge::ask<append_result>(std::string, caf::message, std::chrono::milliseconds,
                                         std::function<void(caf::expected<append_result>)>);

void bridge::ask_actor(caf::actor target, caf::message msg, std::chrono::milliseconds timeout,
                       std::function<void(caf::expected<std::string>)> done) {
  sys_.spawn(
      [](caf::event_based_actor* self, caf::actor target, caf::message msg,
         std::chrono::milliseconds timeout, std::function<void(caf::expected<std::string>)> done) {
        self->request(target, timeout, msg)
            .then([=](std::string& r) { done(std::move(r)); },
                  [=](caf::error& err) { done(std::move(err)); });
      },
      std::move(target), std::move(msg), timeout, std::move(done));
}

void bridge::append(std::string stream, append_request req,
                    std::function<void(caf::expected<append_result>)> done) {
  spawn_request<append_result>(sys_, registry_, std::move(stream),
                               caf::make_message(append_atom::value, std::move(req)),
                               std::chrono::seconds(10), std::move(done));
}

void bridge::poll(std::string stream, std::string principal, uint64_t after, bool has_after,
                  uint32_t timeout_ms, std::string role,
                  std::function<void(caf::expected<poll_result>)> done) {
  spawn_request<poll_result>(sys_, registry_, std::move(stream),
                             caf::make_message(poll_atom::value, std::move(principal), after,
                                               has_after, timeout_ms, std::move(role)),
                             std::chrono::milliseconds(timeout_ms) + std::chrono::seconds(5),
                             std::move(done));
}

void bridge::inspect(std::string stream, std::function<void(caf::expected<std::string>)> done) {
  spawn_request<std::string>(sys_, registry_, std::move(stream),
                             caf::make_message(inspect_atom::value), std::chrono::seconds(5),
                             std::move(done));
}

caf::actor bridge::spawn_connection(std::weak_ptr<socket_sink> sink, codec::principal who,
                                    connection_deps deps) {
  return sys_.spawn(sb::connection, std::move(sink), std::move(who), std::move(deps));
}

void bridge::frame(const caf::actor& conn, std::string text) {
  caf::anon_send(conn, frame_atom::value, std::move(text));
}

void bridge::closed(const caf::actor& conn) {
  caf::anon_send(conn, closed_atom::value);
}

}  // namespace sb::net
