// The registry through its typed interface (cluster/registry_actor.hpp), standalone (no view:
// every key is local): one owner per key, spawned on first resolve, forgotten when it stops;
// a seal answers once the partition's owners here have stopped.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "base/partition.hpp"
#include "cluster/registry.hpp"
#include "cluster/registry_actor.hpp"

#include <thread>

namespace sb::cluster {
namespace {

using namespace std::chrono_literals;

// An owner that only says which key it owns, so a test can tell owners apart.
caf::behavior echo_owner(caf::event_based_actor*, std::string key) {
  return {[key](stats_atom) { return key; }};
}

class Registry : public ::testing::Test {
 protected:
  Registry() {
    cfg_.set("scheduler.max-threads", 2);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    registry_ = sys_->spawn(
        registry, owner_factory([](caf::local_actor* parent, const std::string& key) -> caf::actor {
          if (!key.starts_with("orders:")) return {};
          return parent->spawn(echo_owner, key);
        }),
        std::shared_ptr<cluster_view>{});
  }
  ~Registry() override {
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    registry_ = nullptr;
    sys_.reset();
  }

  caf::expected<caf::actor> resolve(const std::string& key) {
    caf::scoped_actor self{*sys_};
    caf::expected<caf::actor> out{caf::actor{}};
    self->request(registry_, 2s, resolve_atom::value, key)
        .receive([&](caf::actor& owner) { out = std::move(owner); },
                 [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  size_t owner_count() {
    caf::scoped_actor self{*sys_};
    size_t out = 99;
    self->request(registry_, 2s, count_atom::value)
        .receive([&](size_t n) { out = n; },
                 [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
    return out;
  }

  std::string key_of_owner(const caf::actor& owner) {
    caf::scoped_actor self{*sys_};
    std::string out;
    self->request(owner, 2s, stats_atom::value)
        .receive([&](std::string& key) { out = std::move(key); },
                 [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
    return out;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  registry_actor registry_;
};

TEST_F(Registry, ResolveSpawnsOneOwnerPerKey) {
  auto m1 = resolve("orders:m1");
  ASSERT_TRUE(m1) << sys_->render(m1.error());
  EXPECT_EQ(key_of_owner(*m1), "orders:m1");
  auto again = resolve("orders:m1");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *m1);
  auto m2 = resolve("orders:m2");
  ASSERT_TRUE(m2);
  EXPECT_NE(*m2, *m1);
  EXPECT_EQ(owner_count(), 2u);
}

TEST_F(Registry, KeyOfNoKindIsRefused) {
  auto none = resolve("nothing:x");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), caf::sec::invalid_argument);
  EXPECT_EQ(owner_count(), 0u);
}

TEST_F(Registry, SealAnswersOnceThePartitionsOwnersStopped) {
  auto owner = resolve("orders:m1");
  ASSERT_TRUE(owner);
  const partition_id p = partition_of("orders:m1");
  caf::scoped_actor self{*sys_};
  self->monitor(*owner);
  bool sealed = false;
  self->request(registry_, 2s, seal_atom::value, p.value())
      .receive([&](bool ok) { sealed = ok; },
               [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
  EXPECT_TRUE(sealed);
  bool down = false;
  self->receive([&](const caf::down_msg& msg) { down = msg.source == owner->address(); },
                caf::after(2s) >> [] {});
  EXPECT_TRUE(down) << "the sealed partition's owner still runs";
  EXPECT_EQ(owner_count(), 0u);
  // The next resolve spawns a new owner.
  auto next = resolve("orders:m1");
  ASSERT_TRUE(next);
  EXPECT_NE(*next, *owner);
}

TEST_F(Registry, SealOfAPartitionWithNoOwnerAnswersAtOnce) {
  const partition_id p = partition_of("orders:m1");
  caf::scoped_actor self{*sys_};
  bool sealed = false;
  self->request(registry_, 2s, seal_atom::value, p.value())
      .receive([&](bool ok) { sealed = ok; },
               [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
  EXPECT_TRUE(sealed);
}

// Registry "a" with two peers in one actor system, probing every 20 ms (silent after 150 ms):
// registry "b", which answers, and "c", a scoped actor whose mailbox nobody reads unless the
// test does (a hung process: the connection stands, no answer comes).
class RegistryProbe : public ::testing::Test {
 protected:
  static caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }
  void SetUp() override {
    view_a_->set_liveness({20ms, 150ms});
    view_b_->set_liveness({20ms, 150ms});
    auto no_owner =
        owner_factory([](caf::local_actor*, const std::string&) { return caf::actor{}; });
    a_ = sys_.spawn(registry, no_owner, view_a_);
    b_ = sys_.spawn(registry, no_owner, view_b_);
  }
  // Introduces b and c to a: from then on a pings them.
  void connect_peers() {
    caf::anon_send(a_, hello_atom::value, std::string("b"), caf::actor_cast<caf::actor>(b_));
    caf::anon_send(a_, hello_atom::value, std::string("c"), caf::actor_cast<caf::actor>(hung_));
  }
  // c reads its mailbox and answers the pings in it until a counts it responsive again.
  void wake_hung_peer() {
    for (int i = 0; i < 40 && !view_a_->peer_responsive("c"); ++i)
      hung_->receive([](ping_atom) { return true; }, caf::after(50ms) >> [] {});
  }
  void TearDown() override {
    caf::anon_send_exit(a_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(b_, caf::exit_reason::user_shutdown);
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{quiet(cfg_)};
  std::shared_ptr<cluster_view> view_a_ = std::make_shared<cluster_view>("a");
  std::shared_ptr<cluster_view> view_b_ = std::make_shared<cluster_view>("b");
  registry_actor a_;
  registry_actor b_;
  caf::scoped_actor hung_{sys_};
};

// Liveness probes (cluster/peer_probe.hpp): one that answers stays responsive, the hung one
// turns unresponsive after unresponsive_after, and answers again once it reads its mailbox.
TEST_F(RegistryProbe, AnsweringPeerStaysResponsiveAndASilentOneDoesNot) {
  connect_peers();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(view_a_->peer_connected("b"));
  EXPECT_TRUE(view_a_->peer_responsive("b")) << view_a_->peer_silence("b").count() << " ms";
  EXPECT_TRUE(view_a_->peer_connected("c"));
  EXPECT_FALSE(view_a_->peer_responsive("c"));
  EXPECT_GE(view_a_->peer_silence("c"), 150ms);
  wake_hung_peer();  // the latest ping it answers counts
  EXPECT_TRUE(view_a_->peer_responsive("c"));
}

// A peer that falls silent is told to every connection on the node (they leave its owners:
// actors/connection.cpp), once per outage; a peer that answers is never told.
TEST_F(RegistryProbe, ConnectionsAreToldOncePerOutageOfASilentPeer) {
  caf::scoped_actor conn{sys_};
  caf::anon_send(a_, connected_atom::value, caf::actor_cast<caf::actor>(conn),
                 std::string("merchant:m1"));
  connect_peers();
  // What the connection is told within `window`.
  auto told = [&](std::chrono::milliseconds window) {
    std::vector<caf::node_id> nodes;
    const auto until = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < until)
      conn->receive([&](peer_lost_atom, const caf::node_id& n) { nodes.push_back(n); },
                    caf::after(20ms) >> [] {});
    return nodes;
  };
  const auto first = told(600ms);
  ASSERT_EQ(first.size(), 1u) << "told once of c, silent all along; never of b, which answers";
  EXPECT_EQ(first[0], hung_->node());
  // c answers again for a while, then falls silent again: a second outage, told again.
  wake_hung_peer();
  ASSERT_TRUE(view_a_->peer_responsive("c"));
  for (auto until = std::chrono::steady_clock::now() + 100ms;
       std::chrono::steady_clock::now() < until;)
    hung_->receive([](ping_atom) { return true; }, caf::after(10ms) >> [] {});
  EXPECT_EQ(told(600ms).size(), 1u);
}

}  // namespace
}  // namespace sb::cluster
