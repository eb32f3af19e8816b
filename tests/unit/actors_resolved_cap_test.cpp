// The agent pool keeps at most resolved_kept_per_agent resolved conversations per agent — the
// newest — in what it lists and what it stores, so its state does not grow without bound.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "actors/agent_pool.hpp"
#include "actors/interfaces.hpp"
#include "actors/stream_names.hpp"
#include "tests/unit/actors_pool_fixture.hpp"

namespace sb {
namespace {

using namespace std::chrono_literals;

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ForgetOldestResolved, KeepsTheNewestOfThatAgentOnly) {
  std::map<std::string, pool_conversation> convs;
  for (uint64_t n = 1; n <= 5; ++n)
    convs["a" + std::to_string(n)] = {"u", "resolved", "a1", {}, 0, 0, n};
  convs["b1"] = {"u", "resolved", "b", {}, 0, 0, 6};
  convs["open"] = {"u", "in_progress", "a1", {}, 0, 0, 0};
  forget_oldest_resolved(convs, "a1", 2);
  EXPECT_EQ(convs.count("a1") + convs.count("a2") + convs.count("a3"), 0u);
  EXPECT_EQ(convs.count("a4") + convs.count("a5") + convs.count("b1") + convs.count("open"), 4u);
}

class ResolvedCap : public test::pool_fixture {
 protected:
  std::string resolved_of_a1(const pool_actor& p) {
    return ask(p, list_atom::value, chat_principal{"a1", "agent", "m1"}, std::string("resolved"));
  }
};

TEST_F(ResolvedCap, AnAgentListsAndTheStoreKeepsOnlyTheNewestResolved) {
  const size_t total = resolved_kept_per_agent + 3;
  auto p = pool("m1");
  ASSERT_NE(ask(p, enrol_atom::value, std::string("a1"), uint32_t{1}, uint32_t{1}), "no answer");
  join(p, "a1", *conn1_);
  for (size_t i = 0; i < total; ++i) {
    const auto conv = "c" + std::to_string(i);
    ASSERT_EQ(ask(p, route_atom::value, conv, std::string("u") + std::to_string(i), true), "a1");
    (*client_)->send(p, released_atom::value, conv);
  }
  auto listed = resolved_of_a1(p);
  EXPECT_EQ(count_of(listed, R"("status":"resolved")"), resolved_kept_per_agent);
  EXPECT_EQ(listed.find(R"("id":"c2")"), std::string::npos) << "the oldest are forgotten";
  EXPECT_NE(listed.find(R"("id":"c3")"), std::string::npos);
  EXPECT_NE(listed.find("\"id\":\"c" + std::to_string(total - 1) + "\""), std::string::npos);

  // What is stored is capped alike: a pool started from it lists the same.
  std::string stored;
  for (int i = 0; i < 200; ++i) {
    stored = store_->state(pool_key("m1")).value_or("");
    if (stored.find("\"id\":\"c" + std::to_string(total - 1) + "\"") != std::string::npos &&
        count_of(stored, R"("status":"resolved")") == resolved_kept_per_agent)
      break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(count_of(stored, R"("status":"resolved")"), resolved_kept_per_agent);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  auto again = pool("m1");
  auto relisted = resolved_of_a1(again);
  EXPECT_EQ(count_of(relisted, R"("status":"resolved")"), resolved_kept_per_agent);
  EXPECT_EQ(relisted.find(R"("id":"c0")"), std::string::npos);
}

}  // namespace
}  // namespace sb
