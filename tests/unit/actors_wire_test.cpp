// Every message shape that may cross nodes survives CAF 0.17's binary serialization, the
// encoding BASP uses: a caf::message is saved with binary_serializer and loaded into a fresh
// message with binary_deserializer (and one batch goes over BASP between two systems). A
// missing registration fails here instead of as a silently dropped remote message.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/interfaces.hpp"
#include "cluster/cluster_errors.hpp"
#include "cluster/registry.hpp"
#include "cluster/replication_messages.hpp"

namespace sb {
namespace {

using namespace std::chrono_literals;

// A type with an inspect overload that register_message_types does not know.
struct unregistered_probe {
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregistered_probe& x) {
  return f(caf::meta::type_name("sb::unregistered_probe"), x.text);
}

void configure(caf::actor_system_config& cfg, bool with_types) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  if (with_types) register_message_types(cfg);
  cfg.load<caf::io::middleman>();
}

// message::save and message::load, not `sink(msg)` / `source(msg)`: in 0.17.6 the inspector
// call picks type_erased_tuple's serialize overload, which drops the error (BASP calls it that
// way, so a sender only logs "cannot serialize" and sends a truncated payload).
caf::expected<std::vector<char>> save(caf::actor_system& sys, const caf::message& msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = msg.save(sink)) return err;
  return buf;
}

caf::expected<caf::message> load(caf::actor_system& sys, const std::vector<char>& buf) {
  caf::message out;
  caf::binary_deserializer source{sys, buf};
  if (auto err = out.load(source)) return err;
  if (source.remaining() != 0) return caf::make_error(caf::sec::runtime_error, "trailing bytes");
  return out;
}

std::vector<std::string> bytes_of(const std::vector<frame_ptr>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(*f);
  return out;
}

std::vector<frame_ptr> frames_of(const std::vector<std::string>& bytes) {
  std::vector<frame_ptr> out;
  for (const auto& b : bytes) out.push_back(std::make_shared<const std::string>(b));
  return out;
}

// Frames that exercise the encoding: empty, every byte value (NUL included), JSON, 1 MiB.
std::vector<std::string> sample_frames() {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) % 251);
  return {"", binary, R"({"op":"push","seq":7})", "", big};
}

class Wire : public ::testing::Test {
 protected:
  Wire() {
    configure(cfg_, true);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    // An actor to hand around; it stays alive until the test ends (an empty behavior would
    // quit at once, and a dead actor's handle loads as null). (An argument, as CAF 0.17
    // dereferences a null tuple for argument-less function actors.)
    peer_ = sys_->spawn(
        [](caf::event_based_actor*, int) -> caf::behavior { return {[](tick_atom) {}}; }, 0);
  }
  ~Wire() override {
    caf::anon_send_exit(peer_, caf::exit_reason::user_shutdown);
    peer_ = nullptr;
    sys_.reset();
  }

  // Saves and loads `msg`; the test fails unless both succeed and the types line up.
  caf::message round_trip(const caf::message& msg) {
    auto buf = save(*sys_, msg);
    if (!buf) {
      ADD_FAILURE() << "save: " << sys_->render(buf.error());
      return {};
    }
    auto out = load(*sys_, *buf);
    if (!out) {
      ADD_FAILURE() << "load: " << sys_->render(out.error());
      return {};
    }
    EXPECT_EQ(out->size(), msg.size());
    EXPECT_EQ(out->type_token(), msg.type_token());
    return *out;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::actor peer_;
};

TEST_F(Wire, AppendRequest) {
  append_request req{"message", R"({"text":"hi"})", "idem-1", R"({"n":1})", R"({"to":"wx"})"};
  auto out = round_trip(caf::make_message(append_atom::value, req));
  ASSERT_TRUE((out.match_elements<caf::atom_value, append_request>()));
  EXPECT_EQ(out.get_as<caf::atom_value>(0), append_atom::value);
  const auto& got = out.get_as<append_request>(1);
  EXPECT_EQ(got.kind, req.kind);
  EXPECT_EQ(got.data, req.data);
  EXPECT_EQ(got.idempotency_key, req.idempotency_key);
  EXPECT_EQ(got.owner_state, req.owner_state);
  EXPECT_EQ(got.outbox, req.outbox);
}

TEST_F(Wire, AppendResult) {
  append_result r{"conv:c1", 42, "01HX", true};
  auto out = round_trip(caf::make_message(r));
  ASSERT_TRUE(out.match_elements<append_result>());
  const auto& got = out.get_as<append_result>(0);
  EXPECT_EQ(got.stream, r.stream);
  EXPECT_EQ(got.seq, r.seq);
  EXPECT_EQ(got.id, r.id);
  EXPECT_EQ(got.duplicate, r.duplicate);
}

TEST_F(Wire, FrameBatchCarriesTheFramesBytes) {
  auto bytes = sample_frames();
  frame_batch batch{"merchant:m1", 99, frames_of(bytes)};
  auto out = round_trip(caf::make_message(batch));
  ASSERT_TRUE(out.match_elements<frame_batch>());
  const auto& got = out.get_as<frame_batch>(0);
  EXPECT_EQ(got.stream, batch.stream);
  EXPECT_EQ(got.last_seq, batch.last_seq);
  ASSERT_EQ(got.frames.size(), bytes.size());
  for (const auto& f : got.frames) ASSERT_NE(f, nullptr);
  EXPECT_TRUE(bytes_of(got.frames) == bytes);  // (EXPECT_EQ would print 1 MiB on failure)
}

TEST_F(Wire, EmptyFrameBatch) {
  auto out = round_trip(caf::make_message(frame_batch{"conv:c1", 0, {}}));
  ASSERT_TRUE(out.match_elements<frame_batch>());
  EXPECT_EQ(out.get_as<frame_batch>(0).stream, "conv:c1");
  EXPECT_TRUE(out.get_as<frame_batch>(0).frames.empty());
}

TEST_F(Wire, PollResult) {
  std::vector<std::string> bytes{R"({"seq":1})", "", std::string("\0\xff", 2)};
  poll_result r{"merchant:m1", 17, frames_of(bytes)};
  auto out = round_trip(caf::make_message(r));
  ASSERT_TRUE(out.match_elements<poll_result>());
  const auto& got = out.get_as<poll_result>(0);
  EXPECT_EQ(got.stream, r.stream);
  EXPECT_EQ(got.cursor, r.cursor);
  EXPECT_EQ(bytes_of(got.frames), bytes);
}

TEST_F(Wire, SubscribeWithAHandle) {
  auto msg = caf::make_message(subscribe_atom::value, peer_, std::string("u1"), uint64_t{12}, true,
                               std::string("agent"));
  auto out = round_trip(msg);
  ASSERT_TRUE((
      out.match_elements<caf::atom_value, caf::actor, std::string, uint64_t, bool, std::string>()));
  EXPECT_EQ(out.get_as<caf::atom_value>(0), subscribe_atom::value);
  EXPECT_EQ(out.get_as<caf::actor>(1).address(), peer_.address());
  EXPECT_EQ(out.get_as<std::string>(2), "u1");
  EXPECT_EQ(out.get_as<uint64_t>(3), 12u);
  EXPECT_TRUE(out.get_as<bool>(4));
  EXPECT_EQ(out.get_as<std::string>(5), "agent");
}

TEST_F(Wire, ActorHandle) {
  auto out = round_trip(caf::make_message(peer_));
  ASSERT_TRUE(out.match_elements<caf::actor>());
  EXPECT_EQ(out.get_as<caf::actor>(0), peer_);
  EXPECT_EQ(out.get_as<caf::actor>(0).address(), peer_.address());
}

// take (connection → pool) and entries (HTTP → stream owner): only built-in types.
TEST_F(Wire, TakeAndEntries) {
  auto take = round_trip(caf::make_message(take_atom::value, std::string("a1"), std::string("c1")));
  ASSERT_TRUE((take.match_elements<caf::atom_value, std::string, std::string>()));
  EXPECT_EQ(take.get_as<std::string>(2), "c1");
  auto entries = round_trip(caf::make_message(
      entries_atom::value, chat_principal{"u", "merchant", "m1"}, uint64_t{7}, true, uint32_t{50}));
  ASSERT_TRUE(
      (entries.match_elements<caf::atom_value, chat_principal, uint64_t, bool, uint32_t>()));
  EXPECT_EQ(entries.get_as<uint64_t>(2), 7u);
}

TEST_F(Wire, ChatPrincipal) {
  chat_principal who{"agent-7", "agent", "m1"};
  auto out = round_trip(caf::make_message(typing_atom::value, who));
  ASSERT_TRUE((out.match_elements<caf::atom_value, chat_principal>()));
  const auto& got = out.get_as<chat_principal>(1);
  EXPECT_EQ(got.sub, who.sub);
  EXPECT_EQ(got.role, who.role);
  EXPECT_EQ(got.mid, who.mid);
}

TEST_F(Wire, StreamErrorKeepsCodeAndMessage) {
  auto out = round_trip(caf::make_message(make_error(stream_errc::not_assigned, "not yours")));
  ASSERT_TRUE(out.match_elements<caf::error>());
  const auto& err = out.get_as<caf::error>(0);
  EXPECT_EQ(error_code(err), "not_assigned");
  EXPECT_EQ(error_message(err), "not yours");
}

// A peer registry's answer to (local_resolve_atom, key) when it does not serve the key.
TEST_F(Wire, ClusterErrorKeepsCodeAndMessage) {
  auto out = round_trip(caf::make_message(
      cluster::make_cluster_error(cluster::cluster_errc::moved, "node n2 does not own orders:m1")));
  ASSERT_TRUE(out.match_elements<caf::error>());
  const auto& err = out.get_as<caf::error>(0);
  EXPECT_EQ(err.category(), caf::atom("sb_cluster"));
  EXPECT_EQ(err.code(), static_cast<uint8_t>(cluster::cluster_errc::moved));
  EXPECT_TRUE(cluster::retryable(err));
  EXPECT_EQ(error_code(err), "owner_unavailable");
  EXPECT_EQ(error_message(err), "node n2 does not own orders:m1");
}

TEST_F(Wire, RegistryHello) {
  auto out = round_trip(caf::make_message(cluster::hello_atom::value, std::string("n1"), peer_));
  ASSERT_TRUE((out.match_elements<caf::atom_value, std::string, caf::actor>()));
  EXPECT_EQ(out.get_as<caf::atom_value>(0), cluster::hello_atom::value);
  EXPECT_EQ(out.get_as<std::string>(1), "n1");
  EXPECT_EQ(out.get_as<caf::actor>(2), peer_);
}

TEST_F(Wire, ReplicationRoundsAndVerdicts) {
  const std::string ops("\x00\x00\x00\x00\x01k\x00\x00\x00\x02\x00v", 12);  // bytes, NULs included
  std::vector<storage::replica_round> rounds{{7, 3, 42, 2, 41, ops}, {9, 1, 1, 0, 0, ""}};
  auto out = round_trip(caf::make_message(cluster::rappend_atom::value, std::string("n1"), rounds));
  ASSERT_TRUE(
      (out.match_elements<caf::atom_value, std::string, std::vector<storage::replica_round>>()));
  const auto& back = out.get_as<std::vector<storage::replica_round>>(2);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].partition, 7u);
  EXPECT_EQ(back[0].epoch, 3u);
  EXPECT_EQ(back[0].lsn, 42u);
  EXPECT_EQ(back[0].prev_epoch, 2u);
  EXPECT_EQ(back[0].prev_lsn, 41u);
  EXPECT_EQ(back[0].ops, ops);
  EXPECT_EQ(back[1].ops, "");

  std::vector<storage::replica_verdict> verdicts{
      {7, storage::replica_verdict_kind::stale, {4, 3, 42}},
      {9, storage::replica_verdict_kind::mismatch, {0, 0, 0}}};
  auto answer = round_trip(caf::make_message(verdicts));
  ASSERT_TRUE(answer.match_elements<std::vector<storage::replica_verdict>>());
  const auto& v = answer.get_as<std::vector<storage::replica_verdict>>(0);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].kind, storage::replica_verdict_kind::stale);
  EXPECT_EQ(v[0].state, (storage::replica_state{4, 3, 42}));
  EXPECT_EQ(v[1].kind, storage::replica_verdict_kind::mismatch);

  // A seal's answer: the position and the storage uuid.
  auto sealed =
      round_trip(caf::make_message(storage::replica_state{5, 4, 9, true}, std::string("u-1")));
  ASSERT_TRUE((sealed.match_elements<storage::replica_state, std::string>()));
  EXPECT_EQ(sealed.get_as<storage::replica_state>(0), (storage::replica_state{5, 4, 9, true}));
}

TEST_F(Wire, StringVector) {
  std::vector<std::string> convs{"conv:a", "", "conv:b"};
  auto out = round_trip(caf::make_message(convs));
  ASSERT_TRUE(out.match_elements<std::vector<std::string>>());
  EXPECT_EQ(out.get_as<std::vector<std::string>>(0), convs);
}

TEST_F(Wire, LocalSendSharesTheFrames) {
  auto frame = std::make_shared<const std::string>("push");
  caf::scoped_actor self{*sys_};
  self->send(self, frame_batch{"conv:c1", 1, {frame}});
  self->receive([&](frame_batch& b) { EXPECT_EQ(b.frames.at(0).get(), frame.get()); },
                caf::after(5s) >> [] { ADD_FAILURE() << "no batch"; });
}

// The whole way: a second node in this process, reached over BASP on loopback, answers a
// frame_batch with the frames it got.
TEST_F(Wire, FrameBatchCrossesBasp) {
  caf::actor_system_config other_cfg;
  configure(other_cfg, true);
  caf::actor_system other{other_cfg};
  auto echo = other.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](frame_batch& b) {
          return poll_result{std::move(b.stream), b.last_seq, std::move(b.frames)};
        }};
      },
      0);
  auto port = other.middleman().publish(echo, 0, "127.0.0.1");
  ASSERT_TRUE(port) << other.render(port.error());
  {
    auto remote = sys_->middleman().remote_actor("127.0.0.1", *port);
    ASSERT_TRUE(remote) << sys_->render(remote.error());
    EXPECT_NE(remote->node(), sys_->node());
    auto bytes = sample_frames();
    caf::scoped_actor self{*sys_};
    self->request(*remote, 5s, frame_batch{"conv:c1", 5, frames_of(bytes)})
        .receive(
            [&](poll_result& r) {
              EXPECT_EQ(r.stream, "conv:c1");
              EXPECT_EQ(r.cursor, 5u);
              EXPECT_TRUE(bytes_of(r.frames) == bytes);
            },
            [&](caf::error& err) { ADD_FAILURE() << sys_->render(err); });
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST_F(Wire, UnregisteredTypeFailsToSerialize) {
  auto buf = save(*sys_, caf::make_message(unregistered_probe{"x"}));
  EXPECT_FALSE(buf);
}

// The round trip notices a missing registration on either side: without
// register_message_types, a node can neither send a frame_batch nor read one.
TEST_F(Wire, MissingRegistrationIsDetected) {
  caf::actor_system_config bare_cfg;
  configure(bare_cfg, false);
  caf::actor_system bare{bare_cfg};
  auto msg = caf::make_message(frame_batch{"conv:c1", 1, frames_of({"a"})});
  EXPECT_FALSE(save(bare, msg));
  auto buf = save(*sys_, msg);
  ASSERT_TRUE(buf);
  EXPECT_FALSE(load(bare, *buf));
}

TEST(WireErrors, EveryClusterErrorHasTheWireCodeOwnerUnavailable) {
  using cluster::cluster_errc;
  using cluster::make_cluster_error;
  EXPECT_EQ(error_code(make_cluster_error(cluster_errc::owner_unavailable, "x")),
            "owner_unavailable");
  EXPECT_EQ(error_code(make_cluster_error(cluster_errc::moving, "x")), "owner_unavailable");
  EXPECT_EQ(error_code(make_cluster_error(cluster_errc::moved, "x")), "owner_unavailable");
  EXPECT_EQ(error_message(make_cluster_error(cluster_errc::moved, "not here")), "not here");
}

}  // namespace
}  // namespace sb
