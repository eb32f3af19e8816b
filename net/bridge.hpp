// The asio → CAF half of the bridge (socket_sink.hpp is the other half). asio handlers call these
// to reach actors; every call returns at once and never blocks an asio thread. Callbacks run on
// a CAF thread, exactly once, and must only post back to asio. Beast-free.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "actors/connection.hpp"
#include "actors/interfaces.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/cluster_view.hpp"
#include "net/owner_cache.hpp"

namespace sb::net {

class bridge {
 public:
  bridge(caf::actor_system& sys, caf::actor registry)
      : sys_(sys),
        registry_(std::move(registry)),
        owners_(std::make_shared<owner_cache>(sys.node())) {}

  // Appends to an order stream's owner (a merchant): straight to it once this node has
  // resolved it (owner_cache, local_append), else through the registry. `done` gets the
  // owner's answer: the entry is durable, or an error.
  void append(std::string stream, append_request req,
              std::function<void(caf::expected<append_result>)> done);
  // Long-polls the stream's owner for entries after `after` (or the principal's ack).
  void poll(std::string stream, std::string principal, uint64_t after, bool has_after,
            uint32_t timeout_ms, std::string role,
            std::function<void(caf::expected<poll_result>)> done);
  // Sends `msg` as a request to the owner of `key` (a stream, or "pool:<merchant>"). Result is
  // std::string, append_result or poll_result.
  template <class Result>
  void ask(std::string key, caf::message msg, std::chrono::milliseconds timeout,
           std::function<void(caf::expected<Result>)> done);

  // Sends `msg` as a request to a node-wide actor (the outbox, the registry) and hands the
  // answer to `done`. Result is std::string or std::vector<std::string>.
  template <class Result = std::string>
  void ask_actor(caf::actor target, caf::message msg, std::chrono::milliseconds timeout,
                 std::function<void(caf::expected<std::type_identity_t<Result>>)> done);
  // The node's outbox (actors/outbox.hpp); set once by main before serving.
  void set_outbox(caf::actor outbox) { outbox_ = std::move(outbox); }
  const caf::actor& outbox() const { return outbox_; }

  // Asks the stream's owner for its live state (JSON).
  void inspect(std::string stream, std::function<void(caf::expected<std::string>)> done);

  connection_actor spawn_connection(std::weak_ptr<socket_sink> sink, codec::principal who,
                                    connection_deps deps);
  void frame(const connection_actor& conn, std::string text);
  void closed(const connection_actor& conn);

  const caf::actor& registry() const { return registry_; }

  // The cluster: the view always (a static table when alone), the node only with --etcd. Set
  // once by main before serving.
  void set_cluster(std::shared_ptr<cluster::cluster_view> view, cluster::cluster_node* node) {
    view_ = std::move(view);
    node_ = node;
  }
  const std::shared_ptr<cluster::cluster_view>& view() const { return view_; }
  cluster::cluster_node* cluster_node() const { return node_; }

 private:
  caf::actor_system& sys_;
  caf::actor registry_;
  caf::actor outbox_;
  std::shared_ptr<owner_cache> owners_;  // shared with the exit hooks and pending fallbacks
  std::shared_ptr<cluster::cluster_view> view_;
  cluster::cluster_node* node_ = nullptr;
};

}  // namespace sb::net
