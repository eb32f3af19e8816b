// The receiving side of cluster/handoff.hpp (through cluster/partition_copy.hpp):
// handoff::receive checks the node signature and the move etcd describes, parses the chunk,
// writes the records and, on the last chunk, the storage fence and the sender's position. receive
// never talks to etcd or CAF, so the etcd client points at a port nobody listens on and no actor
// system is created.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "base/partition.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/handoff.hpp"
#include "storage/keys.hpp"
#include "storage/op_codec.hpp"
#include "storage/stream_store.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb::cluster {
namespace {

using records = std::vector<std::pair<std::string, std::string>>;
using storage::test::open_store;
using storage::test::stream_where;

const std::string secret = "cluster-secret";

// A loopback port nobody listens on right now: bind port 0, read it back, release it.
uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 1;  // never listened on without root
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// The chunk format of storage/op_codec.hpp.
std::string chunk_of(const records& rs) {
  std::string out;
  for (const auto& [k, v] : rs) storage::op_codec::append(out, k, v);
  return out;
}

partition_copy::chunk_params chunk(uint16_t p, uint64_t epoch, bool reset, bool last,
                                   storage::replica_state position = {}) {
  return {"import", p, epoch, reset, last, position};
}

records exported(const storage::stream_store& store, partition_id p) {
  records out;
  store.export_partition(p, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
  });
  return out;
}

void write_stream(storage::stream_store& store, const std::string& stream, uint64_t entries) {
  storage::write_set set;
  for (uint64_t seq = 1; seq <= entries; ++seq)
    set.put_entry(stream, storage::test::make_entry(seq));
  set.put_cursor(stream, "alice", entries);
  set.put_idempotency(stream, "k-1", {.seq = 1, .id = "id-1"}, 4'000'000'000'000);
  set.put_state(stream, R"({"s":1})");
  set.put_outbox({.id = "id-1", .stream = stream, .seq = 1, .payload = "{}"});
  ASSERT_EQ(store.apply({&set}, true), "");
}

class HandoffReceive : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(source_, nullptr);
    ASSERT_NE(store_, nullptr);
    write_stream(*source_, stream_, 5);
    write_stream(*source_, other_stream_, 2);
    ASSERT_NE(partition_of(other_stream_), p_);
    view_->set_partition(p_.value(), partition_record{"b", 3, "moving", "c", 11});
    view_->set_member("b", member_record{"b", "127.0.0.1:1", "127.0.0.1:1"});
  }

  partition_copy::answer receive(uint64_t epoch, bool reset, bool last, const std::string& body,
                                 storage::replica_state position = {}) {
    const auto c = chunk(p_.value(), epoch, reset, last, position);
    return handoff_.receive(c, partition_copy::sign(secret, c, body), body);
  }

  bool nothing_stored() const { return exported(*store_, p_).empty(); }

  const std::string stream_ = "orders:m1";
  const partition_id p_ = partition_of(stream_);
  const std::string other_stream_ =
      stream_where("orders:m", [this](partition_id p) { return p != p_; });

  storage::test::temp_dir source_dir_, dir_;
  std::unique_ptr<storage::stream_store> source_ = open_store(source_dir_.path());
  std::unique_ptr<storage::stream_store> store_ = open_store(dir_.path());
  etcd_client etcd_{{"http://127.0.0.1:" + std::to_string(unused_port())},
                    std::chrono::milliseconds(200)};
  std::shared_ptr<cluster_view> view_ = std::make_shared<cluster_view>("c");
  handoff handoff_{etcd_, view_,
                   handoff::deps{.sys = nullptr,
                                 .store = store_.get(),
                                 .commit = nullptr,
                                 .prefix = "/sb-test",
                                 .secret = secret}};
};

TEST(CopySign, IsHmacSha256OfKindPartitionQueryAndBody) {
  const std::string body("\x00\x00\x00\x00\x01k\x00\x00\x00\x01v", 11);
  const std::string message = "import\n7\nepoch=4&reset=1&last=0&sealed=0&lepoch=2&llsn=9\n" + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ASSERT_NE(
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size),
      nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string digest;
  for (unsigned int i = 0; i < size; ++i) {
    digest += hex[mac[i] >> 4];
    digest += hex[mac[i] & 0x0f];
  }
  const auto c = chunk(7, 4, true, false, {0, 2, 9});
  const std::string sig = partition_copy::sign(secret, c, body);
  EXPECT_NE(sig.find(digest), std::string::npos) << sig << " vs " << digest;
  EXPECT_EQ(sig, partition_copy::sign(secret, c, body));
}

TEST(CopySign, DependsOnEveryInput) {
  const auto c = chunk(7, 4, false, false, {1, 2, 3});
  const std::string sig = partition_copy::sign(secret, c, "body");
  auto with = [&](auto change) {
    auto d = c;
    change(d);
    return partition_copy::sign(secret, d, "body");
  };
  EXPECT_NE(sig, partition_copy::sign("other-secret", c, "body"));
  EXPECT_NE(sig, with([](auto& d) { d.kind = "replica"; }));
  EXPECT_NE(sig, with([](auto& d) { d.partition = 8; }));
  EXPECT_NE(sig, with([](auto& d) { d.epoch = 5; }));
  EXPECT_NE(sig, with([](auto& d) { d.reset = true; }));
  EXPECT_NE(sig, with([](auto& d) { d.last = true; }));
  EXPECT_NE(sig, with([](auto& d) { d.position.sealed_epoch = 9; }));
  EXPECT_NE(sig, with([](auto& d) { d.position.last_epoch = 9; }));
  EXPECT_NE(sig, with([](auto& d) { d.position.last_lsn = 9; }));
  EXPECT_NE(sig, partition_copy::sign(secret, c, "bodY"));
  // The separators keep "1\n23" and "12\n3" apart.
  EXPECT_NE(partition_copy::sign(secret, chunk(1, 23, false, false), "x"),
            partition_copy::sign(secret, chunk(12, 3, false, false), "x"));
}

TEST_F(HandoffReceive, BadSignatureIsForbiddenAndStoresNothing) {
  const std::string body = chunk_of(exported(*source_, p_));
  ASSERT_FALSE(body.empty());
  const std::vector<std::string> bad = {
      "",
      "sha256=00",
      partition_copy::sign("wrong-secret", chunk(p_.value(), 4, true, true), body),
      partition_copy::sign(secret, chunk(static_cast<uint16_t>(p_.value() + 1), 4, true, true),
                           body),
      partition_copy::sign(secret, chunk(p_.value(), 5, true, true), body),
      partition_copy::sign(secret, chunk(p_.value(), 4, true, true), body + "x"),
      // Signed for other flags: a captured chunk cannot be replayed as the last or a reset.
      partition_copy::sign(secret, chunk(p_.value(), 4, false, true), body),
      partition_copy::sign(secret, chunk(p_.value(), 4, true, false), body),
  };
  for (const auto& signature : bad) {
    const auto a = handoff_.receive(chunk(p_.value(), 4, true, true), signature, body);
    EXPECT_EQ(a.status, 403u) << signature << ": " << a.body;
  }
  EXPECT_TRUE(nothing_stored());
  EXPECT_EQ(store_->partition_epoch(p_), 0u);
}

TEST_F(HandoffReceive, MoveToAnotherNodeIsAConflict) {
  const std::string body = chunk_of(exported(*source_, p_));
  view_->set_partition(p_.value(), partition_record{"b", 3, "moving", "d", 11});
  EXPECT_EQ(receive(4, true, true, body).status, 409u);
  EXPECT_TRUE(nothing_stored());
  EXPECT_EQ(store_->partition_epoch(p_), 0u);
}

TEST_F(HandoffReceive, NoMoveAtAllIsAConflict) {
  const std::string body = chunk_of(exported(*source_, p_));
  // Serving (the move not yet visible, or already committed), or no record at all.
  view_->set_partition(p_.value(), partition_record{"b", 3, "serving", "", 11});
  EXPECT_EQ(receive(4, true, true, body).status, 409u);
  view_->set_partition(p_.value(), partition_record{"c", 4, "serving", "", 12});
  EXPECT_EQ(receive(4, true, true, body).status, 409u);
  view_->set_partition(p_.value(), std::nullopt);
  EXPECT_EQ(receive(4, true, true, body).status, 409u);
  EXPECT_TRUE(nothing_stored());
  EXPECT_EQ(store_->partition_epoch(p_), 0u);
}

TEST_F(HandoffReceive, WrongEpochIsAConflict) {
  const std::string body = chunk_of(exported(*source_, p_));
  for (uint64_t epoch : {0u, 2u, 3u, 5u, 40u}) {
    const auto a = receive(epoch, true, true, body);
    EXPECT_EQ(a.status, 409u) << "epoch " << epoch << ": " << a.body;
  }
  EXPECT_TRUE(nothing_stored());
  EXPECT_EQ(store_->partition_epoch(p_), 0u);
}

TEST_F(HandoffReceive, ChunkForAnotherPartitionIsAConflict) {
  // Signed correctly for the other partition, which has no move to this node.
  const partition_id q = partition_of(other_stream_);
  const std::string body = chunk_of(exported(*source_, q));
  const auto a =
      handoff_.receive(chunk(q.value(), 4, true, true),
                       partition_copy::sign(secret, chunk(q.value(), 4, true, true), body), body);
  EXPECT_EQ(a.status, 409u) << a.body;
  EXPECT_TRUE(exported(*store_, q).empty());
}

TEST_F(HandoffReceive, TruncatedChunkIsABadRequest) {
  const std::string body = chunk_of(exported(*source_, p_));
  ASSERT_GT(body.size(), 8u);
  // Cut inside the last value, inside a size field, and after a key with no value size.
  const records one = {exported(*source_, p_).front()};
  const std::string single = chunk_of(one);
  const std::vector<std::string> truncated = {
      body.substr(0, body.size() - 1),
      body.substr(0, 2),
      single.substr(0, 5 + one[0].first.size()),
      single.substr(0, 5 + one[0].first.size() + 2),
      std::string("\x00\xff\xff\xff\xff", 5) + "k",
      std::string("\x07\x00\x00\x00\x01k\x00\x00\x00\x01v", 11),  // no such flag
  };
  for (const auto& t : truncated) {
    const auto a = receive(4, true, true, t);
    EXPECT_EQ(a.status, 400u) << t.size() << " bytes: " << a.body;
  }
  EXPECT_TRUE(nothing_stored());
  EXPECT_EQ(store_->partition_epoch(p_), 0u);
}

TEST_F(HandoffReceive, RecordOutsideThePartitionIsRefusedAndStoresNothing) {
  auto rs = exported(*source_, p_);
  const auto foreign = exported(*source_, partition_of(other_stream_));
  ASSERT_FALSE(foreign.empty());
  rs.push_back(foreign.front());
  const auto a = receive(4, true, true, chunk_of(rs));
  EXPECT_NE(a.status, 200u) << a.body;
  EXPECT_TRUE(nothing_stored());
  EXPECT_TRUE(exported(*store_, partition_of(other_stream_)).empty());
  EXPECT_EQ(store_->partition_epoch(p_), 0u);
}

TEST_F(HandoffReceive, GoodChunksAreStoredAndTheFenceMovesOnlyOnTheLast) {
  // Stale records of the partition on the receiver (an earlier, abandoned move) and a record
  // of another partition.
  const std::string stale = stream_where("stale:", [this](partition_id p) { return p == p_; });
  write_stream(*store_, stale, 1);
  write_stream(*store_, other_stream_, 2);

  const auto rs = exported(*source_, p_);
  ASSERT_GE(rs.size(), 3u);
  const size_t third = rs.size() / 3;
  const std::vector<records> chunks = {records(rs.begin(), rs.begin() + third),
                                       records(rs.begin() + third, rs.begin() + 2 * third),
                                       records(rs.begin() + 2 * third, rs.end())};
  for (size_t i = 0; i < chunks.size(); ++i) {
    const bool first = i == 0, last = i + 1 == chunks.size();
    const auto a = receive(4, first, last, chunk_of(chunks[i]));
    ASSERT_EQ(a.status, 200u) << "chunk " << i << ": " << a.body;
    if (first) {
      EXPECT_TRUE(store_->read_after(stale, 0, 10).empty()) << "reset left stale data";
    }
    if (!last) {
      EXPECT_EQ(store_->partition_epoch(p_), 0u) << "fence moved before the last chunk";
    }
  }
  EXPECT_EQ(store_->partition_epoch(p_), 4u);

  // Exactly the source's records, readable through the store.
  EXPECT_EQ(exported(*store_, p_), rs);
  EXPECT_EQ(store_->last_seq(stream_), 5u);
  EXPECT_EQ(store_->read_after(stream_, 0, 10).size(), 5u);
  EXPECT_EQ(store_->cursor(stream_, "alice"), 5u);
  ASSERT_TRUE(store_->idempotency(stream_, "k-1", 0).has_value());
  EXPECT_EQ(store_->idempotency(stream_, "k-1", 0)->id, "id-1");
  EXPECT_EQ(store_->state(stream_), R"({"s":1})");
  EXPECT_FALSE(store_->state(stale).has_value());
  // The other partition is untouched.
  EXPECT_EQ(store_->last_seq(other_stream_), 2u);
  EXPECT_EQ(store_->partition_epoch(partition_of(other_stream_)), 0u);
}

TEST_F(HandoffReceive, OneChunkWithResetAndLastCarriesThePosition) {
  const auto a = receive(4, true, true, chunk_of(exported(*source_, p_)), {2, 3, 17});
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(exported(*store_, p_), exported(*source_, p_));
  EXPECT_EQ(store_->partition_epoch(p_), 4u);
  // The new owner's first round chains to the old owner's last.
  EXPECT_EQ(store_->replica(p_), (storage::replica_state{2, 3, 17}));
}

TEST_F(HandoffReceive, EmptyPartitionMovesWithOneEmptyChunk) {
  // The sender's export of an empty partition is one empty chunk, reset and last.
  const std::string stale = stream_where("stale:", [this](partition_id p) { return p == p_; });
  write_stream(*store_, stale, 1);
  const auto a = receive(4, true, true, "");
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_TRUE(nothing_stored());
  EXPECT_EQ(store_->partition_epoch(p_), 4u);
}

TEST_F(HandoffReceive, RefusedChunkAfterGoodOnesLeavesTheFence) {
  const auto rs = exported(*source_, p_);
  ASSERT_EQ(receive(4, true, false, chunk_of(rs)).status, 200u);
  // The last chunk arrives with a bad signature: the fence does not move.
  const std::string last = chunk_of({});
  EXPECT_EQ(handoff_.receive(chunk(p_.value(), 4, false, true), "sha256=bad", last).status, 403u);
  EXPECT_EQ(store_->partition_epoch(p_), 0u);
  // Retried properly, it commits.
  EXPECT_EQ(receive(4, false, true, last).status, 200u);
  EXPECT_EQ(store_->partition_epoch(p_), 4u);
  EXPECT_EQ(exported(*store_, p_), rs);
}

}  // namespace
}  // namespace sb::cluster
