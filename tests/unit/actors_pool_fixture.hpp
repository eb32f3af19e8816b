// The fixture of the agent pool tests (actors_take_test, actors_resolved_cap_test): a real
// store and actor system, pools spawned per merchant with a scoped actor as their registry,
// a client that asks them, and two scoped actors that stand in for agents' connections.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/agent_pool.hpp"
#include "actors/interfaces.hpp"
#include "codec/metrics.hpp"
#include "config/config.hpp"
#include "storage/group_commit.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb::test {

class pool_fixture : public ::testing::Test {
 protected:
  pool_fixture() { cfg_.storage.sync = false; }
  ~pool_fixture() override {
    for (auto& a : actors_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors_.clear();
    conn1_.reset();
    conn2_.reset();
    client_.reset();
    registry_.reset();
    sys_.reset();
    sys_cfg_.reset();
    commit_.reset();
    store_.reset();
  }

  void SetUp() override {
    store_ = storage::test::open_store(dir_.path());
    commit_ = std::make_unique<storage::group_commit>(*store_, cfg_.storage.sync);
    sys_cfg_ = std::make_unique<caf::actor_system_config>();
    register_message_types(*sys_cfg_);
    sys_cfg_->set("scheduler.max-threads", 2);
    sys_cfg_->set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(*sys_cfg_);
    registry_ = std::make_unique<caf::scoped_actor>(*sys_);
    client_ = std::make_unique<caf::scoped_actor>(*sys_);
    conn1_ = std::make_unique<caf::scoped_actor>(*sys_);
    conn2_ = std::make_unique<caf::scoped_actor>(*sys_);
  }

  pool_actor pool(const std::string& merchant) {
    auto p = sys_->spawn(agent_pool, merchant,
                         stream_deps{store_.get(), commit_.get(), &cfg_, &metrics_},
                         caf::actor_cast<caf::actor>(*registry_));
    actors_.push_back(caf::actor_cast<caf::actor>(p));
    return p;
  }

  template <class Handle, class... Ts>
  std::string ask(const Handle& to, Ts... xs) {
    std::string out = "no answer";
    (*client_)
        ->request(to, std::chrono::seconds(2), xs...)
        .receive([&](std::string& s) { out = s; }, [&](caf::error& err) { out = error_code(err); });
    return out;
  }

  void join(const pool_actor& p, const std::string& agent, caf::scoped_actor& conn) {
    (*client_)
        ->request(p, std::chrono::seconds(2), join_atom::value, agent,
                  caf::actor_cast<caf::actor>(conn))
        .receive([](std::vector<std::string>&) {},
                 [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
  }

  // The last waiting-list event the connection received within `wait`, or "".
  std::string last_waiting(caf::scoped_actor& conn,
                           std::chrono::milliseconds wait = std::chrono::milliseconds(300)) {
    std::string last;
    bool more = true;
    while (more)
      conn->receive([&](frame_batch& b) { last = *b.frames.back(); },
                    [](follow_atom, const std::string&) {},
                    caf::after(wait) >> [&] { more = false; });
    return last;
  }

  storage::test::temp_dir dir_;
  config::settings cfg_ = config::defaults();
  codec::metrics metrics_;
  std::unique_ptr<storage::stream_store> store_;
  std::unique_ptr<storage::group_commit> commit_;
  std::unique_ptr<caf::actor_system_config> sys_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<caf::scoped_actor> registry_, client_, conn1_, conn2_;
  std::vector<caf::actor> actors_;
};

}  // namespace sb::test
