// switchboard: the daemon. Wires config → storage → actors → server explicitly (no globals),
// and tears them down in reverse on SIGTERM/SIGINT: stop accepting, close WebSockets with
// 1001, flush the storage writer, stop the actors.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/agent_pool.hpp"
#include "actors/channel_settings.hpp"
#include "actors/conversation.hpp"
#include "actors/inbox.hpp"
#include "actors/interfaces.hpp"
#include "actors/janitor.hpp"
#include "actors/memory_trimmer.hpp"
#include "actors/merchant.hpp"
#include "actors/outbox.hpp"
#include "base/actor_kinds.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/registry.hpp"
#include "config/config.hpp"
#include "net/bridge.hpp"
#include "net/server.hpp"
#include "storage/group_commit.hpp"
#include "storage/stream_store.hpp"

namespace {

// The development secret of the embedded default configuration (dev mode, loopback only).
constexpr const char* dev_mode_secret = "switchboard-dev-mode-secret-not-for-production-use";
constexpr const char* dev_mode_service_key = "dev-service-key";

int fail(const std::string& line) {
  std::fprintf(stderr, "switchboard: %s\n", line.c_str());
  return 2;
}

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: %s\n", line.c_str());
}

// Which actor owns which key: the registry spawns owners through this on first use.
sb::cluster::owner_factory owner_factory(sb::stream_deps deps) {
  return [deps](caf::local_actor* registry, const std::string& key) -> caf::actor {
    auto parsed = sb::parse_actor_key(key);
    if (!parsed) return {};
    auto self = caf::actor_cast<caf::actor>(registry);
    const auto& id = parsed->id;
    switch (parsed->kind) {
      case sb::actor_kind::merchant:
        return registry->spawn(sb::merchant, id, deps);
      case sb::actor_kind::conversation:
        return registry->spawn(sb::conversation, id, deps, self);
      case sb::actor_kind::inbox:
        return registry->spawn(sb::inbox, id, deps);
      case sb::actor_kind::pool:
        return caf::actor_cast<caf::actor>(registry->spawn(sb::agent_pool, id, deps, self));
      case sb::actor_kind::channels:
        return registry->spawn(sb::channel_settings, id, deps);
    }
    return {};
  };
}

}  // namespace

int main(int argc, char** argv) {
  auto settings = sb::config::defaults();
  if (auto err = sb::config::from_command_line(argc, argv, settings); !err.empty())
    return fail(err);
  if (settings.node.dev_mode) {
    if (settings.auth.secret.empty()) settings.auth.secret = dev_mode_secret;
    if (settings.auth.service_keys.empty())
      settings.auth.service_keys.push_back({"*", dev_mode_service_key});
    sb::config::seed_dev_demo(settings);
  }
  if (auto err = sb::config::validate(settings); !err.empty()) return fail(err);

  // Signals are taken by one thread with sigwait, so no other thread is ever interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  std::filesystem::create_directories(settings.node.data_dir, ec);
  std::string error;
  auto store = sb::storage::stream_store::open({settings.node.data_dir + "/streams", true}, error);
  if (!store) return fail("cannot open storage in " + settings.node.data_dir + ": " + error);

  sb::codec::metrics metrics;
  sb::storage::group_commit commit(*store, settings.storage.sync, 4096,
                                   [&metrics](size_t sets, int64_t micros) {
                                     metrics.storage_rounds.fetch_add(1);
                                     metrics.storage_sets.fetch_add(sets);
                                     metrics.storage_write_latency.observe(micros / 1e6);
                                   });

  // Shared by the outbox's sender threads: one WeChat access token per account.
  sb::channels::wechat_token_cache wechat_tokens(
      [&metrics] { metrics.wechat_token_fetches.fetch_add(1, std::memory_order_relaxed); });

  caf::actor_system_config cfg;
  sb::register_message_types(cfg);
  // One worker per core; the "sharing" policy parks idle workers on a condition variable
  // instead of CAF 0.17's work-stealing poll loop, which burnt a third of a core when idle.
  cfg.set("scheduler.max-threads", settings.node.actor_threads > 0
                                       ? settings.node.actor_threads
                                       : std::max(1u, std::thread::hardware_concurrency()));
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // Nodes reach each other's actors through the middleman. CAF 0.17 turns heartbeats off by
  // default, which never notices a hung peer; every node must use the same values.
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{settings.cluster.heartbeat});
  cfg.set("middleman.connection-timeout", caf::timespan{settings.cluster.connection_timeout});
  const bool clustered = !settings.cluster.etcd.empty();
  // Without etcd the node runs alone and owns every partition (a static table).
  auto view = clustered ? std::make_shared<sb::cluster::cluster_view>(settings.node.id)
                        : sb::cluster::cluster_view::standalone_table(settings.node.id);
  view->set_liveness({settings.cluster.probe_interval, settings.cluster.unresponsive_after});
  int exit_code = 0;
  {
    caf::actor_system sys{cfg};
    sb::stream_deps deps{store.get(), &commit, &settings, &metrics};
    deps.serves = [view](sb::partition_id p) { return view->serves(p.value()); };
    if (!clustered) metrics.cluster_partitions_served = sb::partition_count;
    // The outbox reloads pending deliveries now; it finds channel settings once it has the
    // registry, whose owners in turn hand it new deliveries.
    auto outbox = sys.spawn(sb::outbox, deps, &wechat_tokens);
    deps.outbox = caf::actor_cast<caf::actor>(outbox);
    auto registry = sys.spawn(sb::cluster::registry, owner_factory(deps), view);
    caf::anon_send(outbox, registry);
    auto janitor = sys.spawn<caf::detached>(
        sb::janitor, store.get(), std::chrono::milliseconds(std::chrono::minutes(10)), deps.serves);
    auto trimmer = sys.spawn<caf::detached>(sb::memory_trimmer, std::chrono::milliseconds(10000),
                                            size_t{32} << 20);
    sb::net::bridge actors(sys, caf::actor_cast<caf::actor>(registry));
    actors.set_outbox(deps.outbox);
    std::unique_ptr<sb::cluster::cluster_node> node;
    {
      sb::net::server server(settings, metrics, actors);
      std::string err = server.listen();
      if (err.empty() && clustered) {
        // Joined once the HTTP port is known: other nodes send handoffs to it.
        node = std::make_unique<sb::cluster::cluster_node>(
            view, sb::cluster::cluster_node::deps{
                      &sys, registry, deps.outbox, store.get(), &commit, &settings,
                      settings.node.listen_host + ":" + std::to_string(server.port()), &metrics});
        err = node->start();
      }
      actors.set_cluster(view, node.get());
      if (!err.empty()) {
        exit_code = fail(err);
      } else {
        std::printf("switchboard listening on http://%s:%u\n", settings.node.listen_host.c_str(),
                    server.port());
        std::fflush(stdout);
        log("node " + settings.node.id + (settings.node.dev_mode ? " in dev mode" : "") +
            ", data in " + settings.node.data_dir);
        std::thread waiter([&] {
          int sig = 0;
          sigwait(&signals, &sig);
          log(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
              ", shutting down");
          server.shutdown();
        });
        server.run();
        if (waiter.joinable()) waiter.join();
      }
    }
    // Leave the cluster (the member key goes at once) before the actors stop.
    if (node) node->stop();
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(janitor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(trimmer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(outbox, caf::exit_reason::user_shutdown);
    // Flush while the actors still exist: pending callbacks hold handles to them.
    commit.stop();
  }
  if (exit_code == 0) log("stopped");
  return exit_code;
}
