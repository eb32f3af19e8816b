// owner_cache on a real actor system: entries live exactly as long as their actors.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "net/owner_cache.hpp"

namespace sb::net {
namespace {

using namespace std::chrono_literals;

// Takes an argument: CAF 0.17 dereferences a null tuple for argument-less function actors.
caf::behavior idle_owner(caf::event_based_actor*, int) {
  return {[](int) {}};
}

class OwnerCache : public ::testing::Test {
 protected:
  OwnerCache() {
    cfg_.set("scheduler.max-threads", 2);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
  }

  void stop_and_wait(const caf::actor& owner) {
    caf::scoped_actor watcher{sys_};
    watcher->monitor(owner);
    caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
    watcher->receive([](const caf::down_msg&) {}, caf::after(2s) >> [] { FAIL(); });
  }

  // The exit hook runs during the actor's cleanup, which may finish just after the down
  // message went out.
  static bool gone(const owner_cache& cache, const std::string& stream) {
    for (int i = 0; i < 200 && cache.find(stream); ++i) std::this_thread::sleep_for(5ms);
    return !cache.find(stream);
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
};

TEST_F(OwnerCache, RemembersALocalOwnerUntilItExits) {
  auto cache = std::make_shared<owner_cache>(sys_.node());
  auto owner = sys_.spawn(idle_owner, 0);
  EXPECT_FALSE(cache->find("orders:m1"));
  cache->remember("orders:m1", owner);
  EXPECT_EQ(cache->find("orders:m1"), owner);
  EXPECT_FALSE(cache->find("orders:m2"));
  stop_and_wait(owner);
  EXPECT_TRUE(gone(*cache, "orders:m1"));
  EXPECT_EQ(cache->size(), 0u);
}

TEST_F(OwnerCache, AnOwnerThatAlreadyExitedIsNotKept) {
  auto cache = std::make_shared<owner_cache>(sys_.node());
  auto owner = sys_.spawn(idle_owner, 0);
  stop_and_wait(owner);
  cache->remember("orders:m1", owner);
  EXPECT_FALSE(cache->find("orders:m1"));
}

TEST_F(OwnerCache, TheExitOfAReplacedOwnerLeavesItsSuccessor) {
  auto cache = std::make_shared<owner_cache>(sys_.node());
  auto first = sys_.spawn(idle_owner, 0);
  auto second = sys_.spawn(idle_owner, 0);
  cache->remember("orders:m1", first);
  cache->remember("orders:m1", second);
  stop_and_wait(first);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(cache->find("orders:m1"), second);
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(gone(*cache, "orders:m1"));
}

TEST_F(OwnerCache, StopsRememberingAtCapacity) {
  auto cache = std::make_shared<owner_cache>(sys_.node(), 1);
  auto a = sys_.spawn(idle_owner, 0);
  auto b = sys_.spawn(idle_owner, 0);
  cache->remember("orders:a", a);
  cache->remember("orders:b", b);
  EXPECT_EQ(cache->find("orders:a"), a);
  EXPECT_FALSE(cache->find("orders:b"));
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

TEST_F(OwnerCache, OwnersOfAnotherNodeAreNeverKept) {
  // A cache whose node is not the actor's node sees it as remote.
  auto other = caf::make_node_id(4242, "0123456789012345678901234567890123456789");
  ASSERT_TRUE(other);
  ASSERT_NE(*other, sys_.node());
  auto cache = std::make_shared<owner_cache>(*other);
  auto owner = sys_.spawn(idle_owner, 0);
  cache->remember("orders:m1", owner);
  EXPECT_FALSE(cache->find("orders:m1"));
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
}

TEST_F(OwnerCache, AnOwnerMayOutliveTheCache) {
  auto owner = sys_.spawn(idle_owner, 0);
  {
    auto cache = std::make_shared<owner_cache>(sys_.node());
    cache->remember("orders:m1", owner);
  }
  stop_and_wait(owner);  // its exit hook finds no cache (ASan would flag a use after free)
}

}  // namespace
}  // namespace sb::net
