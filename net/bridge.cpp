#include "net/bridge.hpp"

#include <memory>
#include <utility>

#include "actors/local_append.hpp"
#include "cluster/cluster_errors.hpp"
#include "cluster/registry.hpp"

namespace sb::net {

namespace {

constexpr auto resolve_timeout = std::chrono::seconds(5);
// A partition being handed over answers `moving` for a moment (the contract allows a pause
// of up to 2 s): the request is retried this often until `move_patience` has passed.
constexpr auto move_retry = std::chrono::milliseconds(50);
constexpr auto move_patience = std::chrono::milliseconds(2500);
using retry_atom_t = caf::atom_constant<caf::atom("bretry")>;
using watch_atom_t = caf::atom_constant<caf::atom("bwatch")>;

// Resolves the owner of `stream`, then sends it `msg` as a request and hands the reply to
// `done`. An owner that stopped between resolve and request (idle stop, or sealed by a move) is
// resolved again, and a partition that is moving is waited for, until `give_up`. A local owner
// is remembered in `cache`, if given, for the next appends.
template <class Result>
void request_owner(caf::event_based_actor* self, caf::actor registry, std::string stream,
                   caf::message msg, std::chrono::milliseconds timeout,
                   std::function<void(caf::expected<Result>)> done,
                   std::chrono::steady_clock::time_point give_up,
                   std::shared_ptr<owner_cache> cache, std::shared_ptr<bool> in_flight) {
  auto again = [=](caf::error err) {
    if (std::chrono::steady_clock::now() >= give_up) return done(std::move(err));
    self->delayed_send(self, move_retry, retry_atom_t::value);
    self->become(caf::keep_behavior, [=](retry_atom_t) {
      self->unbecome();
      request_owner<Result>(self, registry, stream, msg, timeout, done, give_up, cache, in_flight);
    });
  };
  self->request(registry, resolve_timeout, cluster::resolve_atom::value, stream)
      .then(
          [=](caf::actor owner) {
            if (cache) cache->remember(stream, owner);
            // An owner whose node is lost with this request in flight never answers it (CAF
            // 0.17 drops it): the proxy's down message answers at once instead of the timeout.
            // The outcome is unknown then, so it is not retried here. (An owner that stops on a
            // live node answers its waiters itself, or CAF bounces the request.)
            auto answered = std::make_shared<bool>(false);
            auto once = [answered, done](caf::expected<Result> r) {
              if (std::exchange(*answered, true)) return;
              done(std::move(r));
            };
            self->monitor(owner);
            self->set_down_handler([=](caf::down_msg& dm) {
              if (dm.source != owner.address() ||
                  dm.reason != caf::exit_reason::remote_link_unreachable)
                return;
              once(cluster::make_cluster_error(cluster::cluster_errc::owner_unavailable,
                                               "the stream's owner stopped with this request in "
                                               "flight; retry it (appends with the same "
                                               "Idempotency-Key)"));
              self->quit();
            });
            *in_flight = true;
            self->request(owner, timeout, msg)
                .then(
                    [=](Result& r) {
                      *in_flight = false;
                      self->demonitor(owner);
                      once(std::move(r));
                    },
                    [=](caf::error& err) {
                      *in_flight = false;
                      self->demonitor(owner);
                      if (err == caf::sec::request_receiver_down && !*answered)
                        again(std::move(err));
                      else
                        once(std::move(err));
                    });
          },
          [=](caf::error& err) {
            if (cluster::retryable(err))
              again(std::move(err));
            else
              done(std::move(err));
          });
}

template <class Result>
void one_request(caf::event_based_actor* self, caf::actor registry, std::string stream,
                 caf::message msg, std::chrono::milliseconds timeout,
                 std::function<void(caf::expected<Result>)> done,
                 std::shared_ptr<owner_cache> cache,
                 std::shared_ptr<const cluster::cluster_view> view) {
  // A message the current behavior does not take waits in the mailbox: while a retry waits
  // (request_owner's `again` pushes a behavior for it), a watch tick must not be dropped, or
  // no tick would come again and a later attempt stuck on a hung owner would wait for its
  // full timeout (10 s for appends).
  self->set_default_handler(caf::skip);
  auto in_flight = std::make_shared<bool>(false);
  auto finished = std::make_shared<bool>(false);
  // Answered: the actor ends at once (a pending watch tick is then dropped unread).
  auto finish = [self, finished, done](caf::expected<Result> r) {
    if (std::exchange(*finished, true)) return;
    done(std::move(r));
    self->quit();
  };
  // The node the request goes to: what routing named when it was last seen, before the send.
  auto origin = std::make_shared<std::string>();
  auto note_route = [view, stream, origin] {
    const auto r = view->route_of_key(stream);
    if (r.what == cluster::route::kind::remote)
      *origin = r.node;
    else if (r.what == cluster::route::kind::local)
      origin->clear();
  };
  const bool clustered = view && view->clustered();
  if (clustered) note_route();
  request_owner<Result>(self, registry, stream, msg, timeout, finish,
                        std::chrono::steady_clock::now() + move_patience, std::move(cache),
                        in_flight);
  if (!clustered) return;
  // A hung or cut-off owner node keeps its connection: the request sent to it would wait for
  // its timeout (10 s for appends) or the middleman's connection_timeout. Once that node
  // answers no ping for cluster.unresponsive_after, the request is answered like a lost
  // node's: outcome unknown, retry (appends with the same Idempotency-Key). Its partition may
  // already be served elsewhere by then (a takeover takes ~100 ms), so it is the node's
  // silence that counts, not only an `unavailable` route.
  const auto every = view->liveness_settings().probe_interval;
  self->delayed_send(self, every, watch_atom_t::value);
  self->become([=](watch_atom_t) {
    if (!*in_flight) note_route();
    const bool silent = !origin->empty() && !view->peer_responsive(*origin);
    if (*in_flight &&
        (silent || view->route_of_key(stream).what == cluster::route::kind::unavailable)) {
      finish(cluster::make_cluster_error(cluster::cluster_errc::owner_unavailable,
                                         "the stream's owner node stopped answering with this "
                                         "request in flight; retry it (appends with the same "
                                         "Idempotency-Key)"));
      return;
    }
    self->delayed_send(self, every, watch_atom_t::value);
  });
}

// One short-lived actor per request: asio threads cannot wait for replies themselves. (The
// arguments are passed through spawn: CAF 0.17 dereferences a null tuple for argument-less
// function actors.)
template <class Result>
void spawn_request(caf::actor_system& sys, caf::actor registry, std::string stream,
                   caf::message msg, std::chrono::milliseconds timeout,
                   std::function<void(caf::expected<Result>)> done,
                   std::shared_ptr<const cluster::cluster_view> view,
                   std::shared_ptr<owner_cache> cache = nullptr) {
  sys.spawn(one_request<Result>, std::move(registry), std::move(stream), std::move(msg), timeout,
            std::move(done), std::move(cache), std::move(view));
}

constexpr auto append_timeout = std::chrono::seconds(10);

// The path through the registry, remembering the owner it finds.
void append_through_registry(caf::actor_system& sys, caf::actor registry,
                             std::shared_ptr<owner_cache> cache,
                             std::shared_ptr<const cluster::cluster_view> view, std::string stream,
                             append_request req, append_done done) {
  spawn_request<append_result>(sys, std::move(registry), std::move(stream),
                               caf::make_message(append_atom::value, std::move(req)),
                               append_timeout, std::move(done), std::move(view), std::move(cache));
}

}  // namespace

template <class Result>
void bridge::ask(std::string key, caf::message msg, std::chrono::milliseconds timeout,
                 std::function<void(caf::expected<Result>)> done) {
  spawn_request<Result>(sys_, registry_, std::move(key), std::move(msg), timeout, std::move(done),
                        view_);
}

template void bridge::ask<std::string>(std::string, caf::message, std::chrono::milliseconds,
                                       std::function<void(caf::expected<std::string>)>);
template void bridge::ask<append_result>(std::string, caf::message, std::chrono::milliseconds,
                                         std::function<void(caf::expected<append_result>)>);

template <class Result>
void bridge::ask_actor(caf::actor target, caf::message msg, std::chrono::milliseconds timeout,
                       std::function<void(caf::expected<std::type_identity_t<Result>>)> done) {
  sys_.spawn(
      [](caf::event_based_actor* self, caf::actor target, caf::message msg,
         std::chrono::milliseconds timeout, std::function<void(caf::expected<Result>)> done) {
        self->request(target, timeout, msg)
            .then([=](Result& r) { done(std::move(r)); },
                  [=](caf::error& err) { done(std::move(err)); });
      },
      std::move(target), std::move(msg), timeout, std::move(done));
}

template void bridge::ask_actor<std::string>(caf::actor, caf::message, std::chrono::milliseconds,
                                             std::function<void(caf::expected<std::string>)>);
template void bridge::ask_actor<std::vector<std::string>>(
    caf::actor, caf::message, std::chrono::milliseconds,
    std::function<void(caf::expected<std::vector<std::string>>)>);

void bridge::append(std::string stream, append_request req,
                    std::function<void(caf::expected<append_result>)> done) {
  auto owner = owners_->find(stream);
  if (!owner)
    return append_through_registry(sys_, registry_, owners_, view_, std::move(stream),
                                   std::move(req), std::move(done));
  // An owner that stopped since it was cached drops the message unhandled; the fallback then
  // takes the registry path once, which resolves (or respawns) the current owner. The owner
  // answers every append it took: durable, failed, or owner_unavailable when it stops first.
  auto fallback = [&sys = sys_, registry = registry_, cache = owners_, view = view_, stream](
                      append_request dropped, append_done answer) {
    append_through_registry(sys, registry, cache, view, stream, std::move(dropped),
                            std::move(answer));
  };
  caf::anon_send(owner, append_atom::value,
                 local_append{std::move(req), std::move(done), std::move(fallback)});
}

void bridge::poll(std::string stream, std::string principal, uint64_t after, bool has_after,
                  uint32_t timeout_ms, std::string role,
                  std::function<void(caf::expected<poll_result>)> done) {
  spawn_request<poll_result>(sys_, registry_, std::move(stream),
                             caf::make_message(poll_atom::value, std::move(principal), after,
                                               has_after, timeout_ms, std::move(role)),
                             std::chrono::milliseconds(timeout_ms) + std::chrono::seconds(5),
                             std::move(done), view_);
}

void bridge::inspect(std::string stream, std::function<void(caf::expected<std::string>)> done) {
  spawn_request<std::string>(sys_, registry_, std::move(stream),
                             caf::make_message(inspect_atom::value), std::chrono::seconds(5),
                             std::move(done), view_);
}

connection_actor bridge::spawn_connection(std::weak_ptr<socket_sink> sink, codec::principal who,
                                          connection_deps deps) {
  auto principal = who.sub;
  auto conn = sys_.spawn(sb::connection, std::move(sink), std::move(who), std::move(deps));
  // Counted and listed per node by the registry (GET /admin/nodes, sbctl actors).
  caf::anon_send(registry_, cluster::connected_atom::value, caf::actor_cast<caf::actor>(conn),
                 std::move(principal));
  return conn;
}

void bridge::frame(const connection_actor& conn, std::string text) {
  caf::anon_send(conn, frame_atom::value, std::move(text));
}

void bridge::closed(const connection_actor& conn) {
  caf::anon_send(conn, closed_atom::value);
}

}  // namespace sb::net
