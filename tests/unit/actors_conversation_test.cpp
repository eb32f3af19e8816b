// The conversation actor on a real actor system and a real store: its status machine
// (unassigned → in_progress → resolved, reopened by a customer write), what it tells the
// merchant's agent pool, its access rules and the agents' masked history. Scoped actors stand
// in for the registry and the pool.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/conversation.hpp"
#include "actors/interfaces.hpp"
#include "actors/stream_names.hpp"
#include "cluster/registry.hpp"
#include "codec/chat_text.hpp"
#include "codec/metrics.hpp"
#include "config/config.hpp"
#include "storage/group_commit.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb {
namespace {

using namespace std::chrono_literals;

const std::string kMerchant = "m1";
const std::string kCustomer = "cust1";

chat_principal customer(const std::string& sub = kCustomer, const std::string& mid = kMerchant) {
  return chat_principal{sub, "customer", mid};
}
chat_principal agent(const std::string& sub, const std::string& mid = kMerchant) {
  return chat_principal{sub, "agent", mid};
}
chat_principal merchant_user(const std::string& mid = kMerchant) {
  return chat_principal{"owner", "merchant", mid};
}

class Conversation : public ::testing::Test {
 protected:
  Conversation() { cfg_.storage.sync = false; }
  ~Conversation() override { stop(); }

  void SetUp() override {
    store_ = storage::test::open_store(dir_.path());
    commit_ = std::make_unique<storage::group_commit>(*store_, cfg_.storage.sync);
    sys_cfg_ = std::make_unique<caf::actor_system_config>();
    register_message_types(*sys_cfg_);
    sys_cfg_->set("scheduler.max-threads", 2);
    sys_cfg_->set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(*sys_cfg_);
    registry_ = std::make_unique<caf::scoped_actor>(*sys_);
    pool_ = std::make_unique<caf::scoped_actor>(*sys_);
    client_ = std::make_unique<caf::scoped_actor>(*sys_);
    conv_id_ = conversation_id(kMerchant, kCustomer);
    conv_ = sys_->spawn(conversation, conv_id_,
                        stream_deps{store_.get(), commit_.get(), &cfg_, &metrics_},
                        caf::actor_cast<caf::actor>(*registry_));
  }

  // Stops the conversation, then the scoped actors, then the system (~actor_system waits for
  // every actor), the group commit and the store.
  void stop() {
    if (conv_) caf::anon_send_exit(conv_, caf::exit_reason::user_shutdown);
    conv_ = nullptr;
    client_.reset();
    pool_.reset();
    registry_.reset();
    sys_.reset();
    sys_cfg_.reset();
    commit_.reset();
    store_.reset();
  }

  // Answers the conversation's lookup of its merchant's pool with the pool scoped actor.
  void answer_pool_lookup() {
    bool asked = false;
    (*registry_)
        ->receive(
            [&](cluster::resolve_atom, const std::string& key) -> caf::actor {
              asked = true;
              EXPECT_EQ(key, "pool:" + kMerchant);
              return caf::actor_cast<caf::actor>(*pool_);
            },
            caf::after(1s) >> [] {});
    ASSERT_TRUE(asked) << "the conversation never asked the registry for its pool";
  }

  // Plays registry and pool for one routing; the pool answers `agent` ("" = queued).
  void expect_route(const std::string& agent = "") {
    answer_pool_lookup();
    bool routed = false;
    auto check = [&](const std::string& conv, const std::string& cust) {
      routed = true;
      EXPECT_EQ(conv, conv_id_);
      EXPECT_EQ(cust, kCustomer);
    };
    (*pool_)->receive(
        // An open waits for the pool's answer; a customer's first write only tells the pool.
        [&](route_atom, const std::string& conv, const std::string& cust, bool) {
          check(conv, cust);
          return agent;
        },
        [&](route_atom, const std::string& conv, const std::string& cust) { check(conv, cust); },
        caf::after(1s) >> [] {});
    EXPECT_TRUE(routed) << "no route_atom reached the pool";
  }

  void expect_released() {
    answer_pool_lookup();
    bool released = false;
    (*pool_)->receive(
        [&](released_atom, const std::string& conv) {
          released = true;
          EXPECT_EQ(conv, conv_id_);
        },
        caf::after(1s) >> [] {});
    EXPECT_TRUE(released) << "no released_atom reached the pool";
  }

  void expect_no_pool_lookup() {
    (*registry_)
        ->receive(
            [&](cluster::resolve_atom, const std::string& key) -> caf::actor {
              ADD_FAILURE() << "unexpected pool lookup " << key;
              return caf::actor_cast<caf::actor>(*pool_);
            },
            caf::after(100ms) >> [] {});
  }

  // open_atom's answer. An open that (re)opens waits for its routing: with `route` the test
  // plays registry and pool for it (the pool answering `agent`) before the answer arrives.
  boost::json::object open(bool route = false, const std::string& agent = "") {
    std::string out = "{}";
    auto answer = (*client_)->request(conv_, 5s, open_atom::value, kMerchant, kCustomer);
    if (route) expect_route(agent);
    answer.receive([&](std::string& json) { out = std::move(json); },
                   [&](caf::error& err) { ADD_FAILURE() << "open: " << sys_->render(err); });
    return boost::json::parse(out).as_object();
  }

  // "" when the request succeeds, else the error code.
  std::string resolve(const chat_principal& who) {
    std::string code = "no answer";
    (*client_)
        ->request(conv_, 1s, resolve_atom::value, who)
        .receive(
            [&](std::string& ok) {
              EXPECT_EQ(ok, "ok");
              code.clear();
            },
            [&](caf::error& err) { code = error_code(err); });
    return code;
  }

  std::string send_text(const chat_principal& who, const std::string& client_id,
                        const std::string& text) {
    std::string code = "no answer";
    (*client_)
        ->request(conv_, 1s, chat_send_atom::value, who, client_id, text, std::string("web"))
        .receive(
            [&](append_result& r) {
              EXPECT_EQ(r.stream, conv_stream(conv_id_));
              code.clear();
            },
            [&](caf::error& err) { code = error_code(err); });
    return code;
  }

  // The history JSON, or the error code in `code`.
  boost::json::object history(const chat_principal& who, std::string* code = nullptr) {
    std::string out = R"({"messages":[]})";
    std::string err_code;
    (*client_)
        ->request(conv_, 1s, history_atom::value, who, uint64_t{0}, true, uint32_t{50})
        .receive([&](std::string& json) { out = std::move(json); },
                 [&](caf::error& err) { err_code = error_code(err); });
    if (code)
      *code = err_code;
    else
      EXPECT_EQ(err_code, "");
    return boost::json::parse(out).as_object();
  }

  void assign(const std::string& who) { (*pool_)->send(conv_, assign_atom::value, who); }

  // The persisted meta, once it shows `status` (status entries are written asynchronously).
  std::string stored_status(const std::string& status) {
    std::string last;
    for (int i = 0; i < 200; ++i) {
      if (auto text = store_->state(conv_stream(conv_id_))) {
        last = std::string(boost::json::parse(*text).as_object().at("status").as_string());
        if (last == status) return last;
      }
      std::this_thread::sleep_for(5ms);
    }
    return last;
  }

  storage::test::temp_dir dir_;
  config::settings cfg_ = config::defaults();
  codec::metrics metrics_;
  std::unique_ptr<storage::stream_store> store_;
  std::unique_ptr<storage::group_commit> commit_;
  std::unique_ptr<caf::actor_system_config> sys_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<caf::scoped_actor> registry_;
  std::unique_ptr<caf::scoped_actor> pool_;
  std::unique_ptr<caf::scoped_actor> client_;
  std::string conv_id_;
  caf::actor conv_;
};

TEST_F(Conversation, OpenIsUnassignedAndRoutesOnce) {
  auto first = open(true);
  EXPECT_EQ(first.at("status").as_string(), "unassigned");
  EXPECT_TRUE(first.at("created").as_bool());
  EXPECT_EQ(first.at("id").as_string(), conv_id_);
  EXPECT_EQ(first.at("stream").as_string(), conv_stream(conv_id_));

  auto second = open();
  EXPECT_EQ(second.at("status").as_string(), "unassigned");
  EXPECT_FALSE(second.at("created").as_bool());
  expect_no_pool_lookup();
  EXPECT_EQ(stored_status("unassigned"), "unassigned");
}

TEST_F(Conversation, OpenAnswersWithTheAgentThePoolChose) {
  auto opened = open(true, "alice");
  EXPECT_EQ(opened.at("status").as_string(), "in_progress");
  EXPECT_EQ(stored_status("in_progress"), "in_progress");
  assign("alice");  // the pool's own assign_atom, arriving second, changes nothing
  auto after = open();
  EXPECT_EQ(after.at("status").as_string(), "in_progress");
  EXPECT_EQ(store_->last_seq(conv_stream(conv_id_)), 2u) << "unassigned, in_progress: no repeat";
}

TEST_F(Conversation, AFailedPoolLookupIsRetriedSoTheConversationStillGetsRouted) {
  auto answer = (*client_)->request(conv_, 5s, open_atom::value, kMerchant, kCustomer);
  int lookups = 0;
  // The first lookup fails (e.g. the pool's owner is restarting); the retry is answered.
  (*registry_)
      ->receive(
          [&](cluster::resolve_atom, const std::string&) -> caf::result<caf::actor> {
            ++lookups;
            return caf::make_error(caf::sec::request_timeout);
          },
          caf::after(1s) >> [] {});
  ASSERT_EQ(lookups, 1);
  bool answered = false;
  answer.receive([&](std::string&) { answered = true; },
                 [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
  EXPECT_TRUE(answered) << "the opener is answered even when routing has to wait";
  (*registry_)
      ->receive(
          [&](cluster::resolve_atom, const std::string& key) -> caf::actor {
            ++lookups;
            EXPECT_EQ(key, "pool:" + kMerchant);
            return caf::actor_cast<caf::actor>(*pool_);
          },
          caf::after(5s) >> [] {});
  ASSERT_EQ(lookups, 2) << "the failed lookup was not retried";
  bool routed = false;
  (*pool_)->receive(
      [&](route_atom, const std::string& conv, const std::string&) { routed = conv == conv_id_; },
      caf::after(1s) >> [] {});
  EXPECT_TRUE(routed);
}

TEST_F(Conversation, ResolveAnswersOnceTheResolvedStatusIsDurable) {
  open(true);
  assign("a1");
  ASSERT_EQ(stored_status("in_progress"), "in_progress");
  ASSERT_EQ(resolve(agent("a1")), "");
  // "ok" came after the sync: the stored meta already says resolved, without waiting.
  auto text = store_->state(conv_stream(conv_id_));
  ASSERT_TRUE(text);
  EXPECT_EQ(boost::json::parse(*text).as_object().at("status").as_string(), "resolved");
  expect_released();
}

TEST_F(Conversation, AssignResolveAndReopen) {
  open(true);

  assign("alice");
  auto status = open();  // an open of a live conversation only reports its status
  EXPECT_EQ(status.at("status").as_string(), "in_progress");
  EXPECT_FALSE(status.at("created").as_bool());
  EXPECT_EQ(stored_status("in_progress"), "in_progress");

  EXPECT_EQ(resolve(agent("bob")), "not_found");  // bob cannot even see it
  EXPECT_EQ(resolve(customer("cust2")), "not_found");
  EXPECT_EQ(resolve(merchant_user()), "not_assigned");
  expect_no_pool_lookup();

  EXPECT_EQ(resolve(agent("alice")), "");
  expect_released();
  EXPECT_EQ(stored_status("resolved"), "resolved");

  // Resolved: its agent still reads it (the contract: whatever the status), others do not, and
  // nobody writes to it but the customer; an assign is ignored.
  std::string code;
  history(agent("alice"), &code);
  EXPECT_EQ(code, "");
  history(agent("bob"), &code);
  EXPECT_EQ(code, "not_found");
  EXPECT_EQ(send_text(agent("alice"), "a-9", "still there?"), "not_assigned");
  assign("bob");

  // A customer write reopens it, routes it again and is stored.
  EXPECT_EQ(send_text(customer(), "c-1", "hello again"), "");
  expect_route();
  auto reopened = open();
  EXPECT_EQ(reopened.at("status").as_string(), "unassigned");
  EXPECT_FALSE(reopened.at("created").as_bool());
  EXPECT_EQ(stored_status("unassigned"), "unassigned");
  auto messages = history(customer()).at("messages").as_array();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("text").as_string(), "hello again");
  EXPECT_EQ(messages[0].at("from").as_string(), kCustomer);
  EXPECT_EQ(messages[0].at("role").as_string(), "customer");
}

// The customer's leave (sent as a resolve by its connection) ends the chat for both sides.
TEST_F(Conversation, TheCustomerLeavingResolvesIt) {
  open(true);
  assign("alice");
  EXPECT_EQ(stored_status("in_progress"), "in_progress");
  EXPECT_EQ(resolve(customer()), "");
  expect_released();
  EXPECT_EQ(stored_status("resolved"), "resolved");
  EXPECT_EQ(resolve(customer()), "not_assigned");  // once is enough
}

TEST_F(Conversation, ResolveByNotAssignedAgentWhileQueued) {
  open(true);
  // Unassigned: any agent of the merchant sees it, but only the assigned one may resolve.
  EXPECT_EQ(resolve(agent("alice")), "not_assigned");
  assign("alice");
  EXPECT_EQ(resolve(agent("alice")), "");
  expect_released();
}

TEST_F(Conversation, AccessThroughTheActor) {
  std::string code;
  history(customer(), &code);
  EXPECT_EQ(code, "not_found");  // not opened yet
  open(true);
  history(customer(), &code);
  EXPECT_EQ(code, "");
  history(customer("cust2"), &code);
  EXPECT_EQ(code, "not_found");
  history(agent("bob", "m2"), &code);
  EXPECT_EQ(code, "not_found");
  history(agent("bob"), &code);
  EXPECT_EQ(code, "");  // queued
  assign("alice");
  history(agent("bob"), &code);
  EXPECT_EQ(code, "not_found");
  history(agent("alice"), &code);
  EXPECT_EQ(code, "");
  history(merchant_user(), &code);
  EXPECT_EQ(code, "");
  history(merchant_user("m2"), &code);
  EXPECT_EQ(code, "not_found");

  EXPECT_EQ(send_text(customer("cust2"), "x", "hi"), "not_found");
  EXPECT_EQ(send_text(agent("bob"), "x", "hi"), "not_found");
  EXPECT_EQ(send_text(merchant_user(), "x", "hi"), "forbidden");
  EXPECT_EQ(send_text(agent("alice"), "a-1", "hi, alice here"), "");
}

TEST_F(Conversation, HistoryMasksPhonesForAgentsOnly) {
  ASSERT_TRUE(cfg_.privacy.mask_phone);
  const std::string text = "call me on +1 415 555 0123 please";
  ASSERT_NE(codec::mask_phones(text), text);
  EXPECT_EQ(send_text(customer(), "c-1", text), "");  // a first write opens it
  expect_route();
  assign("alice");

  auto mine = history(customer()).at("messages").as_array();
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].at("text").as_string(), text);

  auto agents = history(agent("alice")).at("messages").as_array();
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].at("text").as_string(), codec::mask_phones(text));
  EXPECT_EQ(std::string(agents[0].at("text").as_string()).find("555"), std::string::npos);
}

TEST(ConversationMayAccess, Table) {
  const conversation_meta queued{kMerchant, kCustomer, "unassigned", ""};
  const conversation_meta taken{kMerchant, kCustomer, "in_progress", "alice"};
  const conversation_meta done{kMerchant, kCustomer, "resolved", "alice"};

  for (const auto* m : {&queued, &taken, &done}) {
    SCOPED_TRACE(m->status);
    EXPECT_TRUE(may_access(*m, customer()));
    EXPECT_FALSE(may_access(*m, customer("cust2")));
    EXPECT_FALSE(may_access(*m, customer(kCustomer, "m2")));
    EXPECT_TRUE(may_access(*m, merchant_user()));
    EXPECT_FALSE(may_access(*m, merchant_user("m2")));
    EXPECT_FALSE(may_access(*m, agent("alice", "m2")));
    EXPECT_FALSE(may_access(*m, chat_principal{"x", "admin", kMerchant}));
  }
  EXPECT_TRUE(may_access(queued, agent("alice")));
  EXPECT_TRUE(may_access(queued, agent("bob")));
  EXPECT_TRUE(may_access(taken, agent("alice")));
  EXPECT_FALSE(may_access(taken, agent("bob")));
  EXPECT_TRUE(may_access(done, agent("alice")));  // its own stay visible once resolved
  EXPECT_FALSE(may_access(done, agent("bob")));
}

}  // namespace
}  // namespace sb
