// The outbox through its typed interface (actors/outbox_actor.hpp): it reloads the stored
// deliveries, lists them per merchant, forgets a released partition's and reloads an acquired
// one's, and tries a delivery once it has a registry (here one that finds no channel settings,
// so the attempt fails and is kept for a retry).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "actors/interfaces.hpp"
#include "actors/outbox.hpp"
#include "actors/outbox_actor.hpp"
#include "base/partition.hpp"
#include "channels/delivery.hpp"
#include "cluster/registry.hpp"
#include "cluster/registry_actor.hpp"
#include "codec/metrics.hpp"
#include "config/config.hpp"
#include "storage/group_commit.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

storage::outbox_record delivery(const std::string& id, const std::string& merchant,
                                const std::string& conv) {
  channels::outbound_message msg;
  msg.merchant = merchant;
  msg.conv = conv;
  msg.recipient = "user-of-" + conv;
  msg.text = "hello";
  // Created now: a delivery older than outbox.max_age is given up at its first failure.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {id, "conv:" + conv, 1, std::chrono::duration_cast<std::chrono::milliseconds>(now).count(),
          channels::delivery_payload("app", msg)};
}

// A conversation whose stream is in another partition than conv:c1's.
std::string conv_elsewhere() {
  const auto stream = storage::test::stream_where(
      "conv:x", [](partition_id p) { return p != partition_of("conv:c1"); });
  return stream.substr(std::string("conv:").size());
}

class Outbox : public ::testing::Test {
 protected:
  Outbox() {
    cfg_.storage.sync = false;
    cfg_.outbox.senders = 1;
    cfg_.outbox.retry_base = std::chrono::minutes(1);  // no second attempt within a test
    store_ = storage::test::open_store(dir_.path());
    commit_ = std::make_unique<storage::group_commit>(*store_, false);
    storage::write_set set;
    set.put_outbox(a_);
    set.put_outbox(b_);
    EXPECT_EQ(store_->apply({&set}, true), "");
    register_message_types(sys_cfg_);
    sys_cfg_.set("scheduler.max-threads", 2);
    sys_cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(sys_cfg_);
    outbox_ = sys_->spawn(sb::outbox, stream_deps{store_.get(), commit_.get(), &cfg_, &metrics_},
                          &tokens_);
  }
  ~Outbox() override {
    caf::anon_send_exit(outbox_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    outbox_ = nullptr;
    registry_ = nullptr;
    sys_.reset();
    commit_.reset();
    store_.reset();
  }

  // The ids of the pending deliveries listed for `merchant`, in the listing's order.
  std::vector<std::string> pending(const std::string& merchant) {
    std::vector<std::string> ids;
    const auto answer = listing(merchant);
    for (const auto& d : answer.at("pending").as_array()) ids.emplace_back(d.at("id").as_string());
    return ids;
  }

  json::object listing(const std::string& merchant) {
    caf::scoped_actor self{*sys_};
    std::string out = "{}";
    self->request(outbox_, 2s, list_atom::value, merchant)
        .receive([&](std::string& answer) { out = std::move(answer); },
                 [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
    return json::parse(out).as_object();
  }

  storage::test::temp_dir dir_;
  config::settings cfg_ = config::defaults();
  codec::metrics metrics_;
  channels::wechat_token_cache tokens_;
  std::unique_ptr<storage::stream_store> store_;
  std::unique_ptr<storage::group_commit> commit_;
  const storage::outbox_record a_ = delivery("e-a", "m1", "c1");
  const storage::outbox_record b_ = delivery("e-b", "m2", conv_elsewhere());
  caf::actor_system_config sys_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  outbox_actor outbox_;
  cluster::registry_actor registry_;
};

TEST_F(Outbox, ListsTheReloadedDeliveriesPerMerchant) {
  EXPECT_EQ(pending("m1"), std::vector<std::string>{"e-a"});
  EXPECT_EQ(pending("m2"), std::vector<std::string>{"e-b"});
  EXPECT_EQ(pending("*").size(), 2u);
  EXPECT_TRUE(pending("m3").empty());
}

TEST_F(Outbox, ForgetsAReleasedPartitionAndReloadsAnAcquiredOne) {
  const uint16_t p = partition_of(a_.stream).value();
  caf::scoped_actor self{*sys_};
  self->send(outbox_, cluster::release_atom::value, p);
  EXPECT_EQ(pending("*"), std::vector<std::string>{"e-b"});
  self->send(outbox_, cluster::acquire_atom::value, p);
  EXPECT_EQ(pending("*").size(), 2u);
  EXPECT_EQ(pending("m1"), std::vector<std::string>{"e-a"});
}

TEST_F(Outbox, RetryOrDropOfAnUnknownDeliveryIsNotFound) {
  caf::scoped_actor self{*sys_};
  for (auto answer : {self->request(outbox_, 2s, retry_atom::value, "nope", "*"),
                      self->request(outbox_, 2s, drop_atom::value, "nope", "*")}) {
    bool refused = false;
    answer.receive([&](std::string&) { ADD_FAILURE() << "an unknown delivery was found"; },
                   [&](caf::error& err) { refused = error_code(err) == "not_found"; });
    EXPECT_TRUE(refused);
  }
  // Another merchant's delivery is as unknown as a missing one.
  bool refused = false;
  self->request(outbox_, 2s, drop_atom::value, "e-a", "m2")
      .receive([&](std::string&) { ADD_FAILURE() << "dropped another merchant's delivery"; },
               [&](caf::error& err) { refused = error_code(err) == "not_found"; });
  EXPECT_TRUE(refused);
  EXPECT_EQ(pending("*").size(), 2u);
}

TEST_F(Outbox, WithARegistryEachDeliveryIsTriedAndAFailureKeptForRetry) {
  // A registry that owns no key: no merchant's channel settings can be found.
  registry_ = sys_->spawn(
      cluster::registry,
      cluster::owner_factory([](caf::local_actor*, const std::string&) { return caf::actor{}; }),
      std::shared_ptr<cluster::cluster_view>{});
  caf::anon_send(outbox_, registry_);
  auto attempted = [&] {
    const auto answer = listing("*");
    const auto& pending = answer.at("pending").as_array();
    return pending.size() == 2 && std::all_of(pending.begin(), pending.end(), [](const auto& d) {
             return d.at("attempts").template to_number<int64_t>() == 1;
           });
  };
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!attempted() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  const auto pending = listing("*").at("pending").as_array();
  ASSERT_EQ(pending.size(), 2u);
  for (const auto& d : pending) {
    EXPECT_EQ(d.at("attempts").to_number<int64_t>(), 1);
    EXPECT_NE(std::string(d.at("last_error").as_string()).find("internal"), std::string::npos) << d;
  }
  EXPECT_TRUE(listing("*").at("failed").as_array().empty());
}

}  // namespace
}  // namespace sb
