// The take op: an agent takes a conversation waiting in its merchant's pool (within capacity),
// agents' connections get the waiting list live, a customer's take is refused by its
// connection, and an agent of another merchant (another pool) finds nothing to take.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/agent_pool.hpp"
#include "actors/connection.hpp"
#include "actors/interfaces.hpp"
#include "codec/metrics.hpp"
#include "codec/rate_limiter.hpp"
#include "config/config.hpp"
#include "storage/group_commit.hpp"
#include "tests/unit/actors_pool_fixture.hpp"

namespace sb {
namespace {

using namespace std::chrono_literals;

// Collects what a connection writes to its socket.
class recording_sink : public socket_sink {
 public:
  void send(std::vector<std::shared_ptr<const std::string>> frames) override {
    std::lock_guard lock(mutex_);
    for (auto& f : frames) frames_.push_back(*f);
  }
  void close(uint16_t) override {}
  std::vector<std::string> frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> frames_;
};

class Take : public test::pool_fixture {};

TEST_F(Take, AnAgentWithCapacityTakesAQueuedConversationAndAgentsSeeTheQueueLive) {
  auto m1 = pool("m1");
  ASSERT_NE(ask(m1, enrol_atom::value, std::string("a1"), uint32_t{1}, uint32_t{1}), "no answer");
  ASSERT_NE(ask(m1, enrol_atom::value, std::string("a2"), uint32_t{1}, uint32_t{1}), "no answer");
  join(m1, "a1", *conn1_);
  join(m1, "a2", *conn2_);
  (*client_)->send(m1, presence_atom::value, std::string("a2"), std::string("away"));
  EXPECT_EQ(ask(m1, route_atom::value, std::string("c1"), std::string("u1"), true), "a1");
  EXPECT_EQ(ask(m1, route_atom::value, std::string("c2"), std::string("u2"), true), "");
  auto waiting = last_waiting(*conn2_);
  EXPECT_NE(waiting.find(R"("kind":"waiting")"), std::string::npos) << waiting;
  EXPECT_NE(waiting.find(R"("conv":"c2","customer":"u2")"), std::string::npos) << waiting;

  EXPECT_EQ(ask(m1, take_atom::value, std::string("a1"), std::string("c2")),
            "agent_unavailable");  // a1 is at capacity
  EXPECT_EQ(ask(m1, take_atom::value, std::string("a2"), std::string("c1")),
            "not_found");  // a1's, not waiting
  EXPECT_EQ(ask(m1, take_atom::value, std::string("a2"), std::string("c2")), "ok");
  EXPECT_EQ(ask(m1, take_atom::value, std::string("a2"), std::string("c2")), "ok");  // repeated
  EXPECT_NE(last_waiting(*conn1_).find(R"("waiting":[])"), std::string::npos);
  auto list = ask(m1, list_atom::value, chat_principal{"a2", "agent", "m1"}, std::string());
  EXPECT_NE(list.find(R"("id":"c2","status":"in_progress")"), std::string::npos) << list;
}

TEST_F(Take, AnAgentOfAnotherMerchantFindsNothing) {
  auto m1 = pool("m1");
  auto m2 = pool("m2");
  ASSERT_NE(ask(m1, enrol_atom::value, std::string("a1"), uint32_t{1}, uint32_t{1}), "no answer");
  EXPECT_EQ(ask(m1, route_atom::value, std::string("c9"), std::string("u9"), true), "");
  ASSERT_NE(ask(m2, enrol_atom::value, std::string("b1"), uint32_t{1}, uint32_t{5}), "no answer");
  join(m2, "b1", *conn1_);
  // b1's connection asks its own merchant's pool, which has no such conversation.
  EXPECT_EQ(ask(m2, take_atom::value, std::string("b1"), std::string("c9")), "not_found");
  EXPECT_EQ(ask(m1, take_atom::value, std::string("b1"), std::string("c9")), "not_found");
}

TEST_F(Take, ACustomersTakeIsRefusedByItsConnection) {
  auto sink = std::make_shared<recording_sink>();
  codec::rate_limiter limiter(0, 1);
  auto conn = sys_->spawn(
      connection, std::weak_ptr<socket_sink>(sink), codec::principal{"u1", "customer", "m1", 0},
      connection_deps{caf::actor_cast<caf::actor>(*registry_), &cfg_, &metrics_, &limiter});
  actors_.push_back(caf::actor_cast<caf::actor>(conn));
  (*client_)->send(conn, frame_atom::value, std::string(R"({"op":"hello"})"));
  (*client_)->send(conn, frame_atom::value, std::string(R"({"op":"take","conv":"c1"})"));
  std::string error;
  for (int i = 0; i < 100 && error.empty(); ++i) {
    for (const auto& f : sink->frames())
      if (f.find(R"("ref":"take")") != std::string::npos) error = f;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(error.find(R"("code":"forbidden")"), std::string::npos) << error;
}

}  // namespace
}  // namespace sb
