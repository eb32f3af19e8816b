// An agent's reply to a WeChat or app customer carries its outbound delivery: the outbox
// record is written in the same batch as the message, and the outbox is told once the message
// is durable. Web customers' conversations and customers' own messages make no delivery.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "actors/conversation.hpp"
#include "actors/interfaces.hpp"
#include "actors/stream_names.hpp"
#include "cluster/registry.hpp"
#include "codec/metrics.hpp"
#include "config/config.hpp"
#include "storage/group_commit.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb {
namespace {

using namespace std::chrono_literals;

class ChannelDelivery : public ::testing::Test {
 protected:
  ChannelDelivery() {
    cfg_.storage.sync = false;
    store_ = storage::test::open_store(dir_.path());
    commit_ = std::make_unique<storage::group_commit>(*store_, false);
    sys_cfg_.set("scheduler.max-threads", 2);
    sys_cfg_.set("logger.verbosity", caf::atom("quiet"));
    register_message_types(sys_cfg_);
    sys_ = std::make_unique<caf::actor_system>(sys_cfg_);
    self_ = std::make_unique<caf::scoped_actor>(*sys_);
    // No pool here: every lookup fails (the opener is answered anyway).
    // (An argument, as CAF 0.17 dereferences a null tuple for argument-less function actors.)
    registry_ = sys_->spawn(
        [](caf::event_based_actor*, int) -> caf::behavior {
          return {[](cluster::resolve_atom, const std::string&) -> caf::result<caf::actor> {
            return caf::make_error(caf::sec::request_timeout);
          }};
        },
        0);
    outbox_ = std::make_unique<caf::scoped_actor>(*sys_);
  }
  ~ChannelDelivery() override {
    for (auto& c : convs_) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    convs_.clear();
    outbox_.reset();
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    registry_ = nullptr;
    self_.reset();
    sys_.reset();
    commit_.reset();
    store_.reset();
  }

  // A conversation of `customer`, opened and assigned to agent "a1".
  caf::actor conversation_of(const std::string& customer) {
    stream_deps deps{store_.get(), commit_.get(), &cfg_, &metrics_,
                     caf::actor_cast<caf::actor>(*outbox_)};
    auto conv = sys_->spawn(sb::conversation, conversation_id("m1", customer), deps, registry_);
    convs_.push_back(conv);
    (*self_)
        ->request(conv, 5s, open_atom::value, std::string("m1"), customer)
        .receive([](std::string&) {}, [](caf::error&) { ADD_FAILURE() << "open failed"; });
    (*self_)->send(conv, assign_atom::value, std::string("a1"));
    return conv;
  }

  append_result send(const caf::actor& conv, const chat_principal& who, const std::string& id,
                     const std::string& text) {
    append_result out;
    (*self_)
        ->request(conv, 2s, chat_send_atom::value, who, id, text, std::string("web"))
        .receive([&](append_result& r) { out = r; },
                 [&](caf::error& e) { ADD_FAILURE() << sys_->render(e); });
    return out;
  }

  storage::test::temp_dir dir_;
  config::settings cfg_ = config::defaults();
  codec::metrics metrics_;
  std::unique_ptr<storage::stream_store> store_;
  std::unique_ptr<storage::group_commit> commit_;
  caf::actor_system_config sys_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<caf::scoped_actor> self_;
  caf::actor registry_;
  std::unique_ptr<caf::scoped_actor> outbox_;
  std::vector<caf::actor> convs_;
};

TEST_F(ChannelDelivery, AgentReplyToWechatCustomerIsRecordedAndHandedToTheOutbox) {
  auto conv = conversation_of("wx:openid-1");
  auto sent = send(conv, {"a1", "agent", "m1"}, "r1", "Your order ships today");
  ASSERT_GT(sent.seq, 0u);

  // Durable before the answer: the record is already in the store, keyed by the entry's id.
  auto records = store_->outbox();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].id, sent.id);
  EXPECT_EQ(records[0].stream, conv_stream(conversation_id("m1", "wx:openid-1")));
  EXPECT_EQ(records[0].seq, sent.seq);
  auto payload = boost::json::parse(records[0].payload).as_object();
  EXPECT_EQ(payload.at("channel").as_string(), "wechat");
  EXPECT_EQ(payload.at("recipient").as_string(), "openid-1");
  EXPECT_EQ(payload.at("merchant").as_string(), "m1");
  EXPECT_EQ(payload.at("from").as_string(), "a1");
  EXPECT_EQ(payload.at("text").as_string(), "Your order ships today");

  bool told = false;
  (*outbox_)->receive(
      [&](outbox_atom, const std::string& id, const std::string& stream, uint64_t seq, int64_t,
          const std::string& p) {
        told = true;
        EXPECT_EQ(id, sent.id);
        EXPECT_EQ(stream, records[0].stream);
        EXPECT_EQ(seq, sent.seq);
        EXPECT_EQ(p, records[0].payload);
      },
      caf::after(1s) >> [] {});
  EXPECT_TRUE(told) << "the outbox was not told of the durable delivery";
}

TEST_F(ChannelDelivery, AppCustomerGetsAppDeliveryAndPhoneNumbersAreNotMaskedForThem) {
  auto conv = conversation_of("app:u-7");
  send(conv, {"a1", "agent", "m1"}, "r1", "call 13812345678");
  auto records = store_->outbox();
  ASSERT_EQ(records.size(), 1u);
  auto payload = boost::json::parse(records[0].payload).as_object();
  EXPECT_EQ(payload.at("channel").as_string(), "app");
  EXPECT_EQ(payload.at("recipient").as_string(), "u-7");
  EXPECT_EQ(payload.at("text").as_string(), "call 13812345678");
}

TEST_F(ChannelDelivery, CustomersOwnMessagesAndWebCustomersMakeNoDelivery) {
  auto wx = conversation_of("wx:openid-2");
  send(wx, {"wx:openid-2", "customer", "m1"}, "c1", "hello");
  auto web = conversation_of("alice");
  send(web, {"a1", "agent", "m1"}, "r1", "hi alice");
  EXPECT_TRUE(store_->outbox().empty());
  (*outbox_)->receive([&](outbox_atom, const std::string&, const std::string&, uint64_t, int64_t,
                          const std::string&) { ADD_FAILURE() << "unexpected delivery"; },
                      caf::after(200ms) >> [] {});
}

}  // namespace
}  // namespace sb
