// etcd_client and etcd_watch against a real etcd (/usr/bin/etcd), started once per test process
// on free loopback ports with a fresh data directory and killed by pid afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_watch.hpp"
#include "cluster/record_writes.hpp"
#include "http_client/http_client.hpp"

namespace {

using namespace std::chrono_literals;
using sb::cluster::etcd_client;
using sb::cluster::etcd_compare;
using sb::cluster::etcd_event;
using sb::cluster::etcd_op;
using sb::cluster::etcd_watch;
using clock_type = std::chrono::steady_clock;

// A port nobody listens on right now: bind port 0, read it back, release it.
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A loopback port that accepts connections (the kernel completes them into the backlog) but
// never answers: requests to it can only time out.
class silent_listener {
 public:
  silent_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 64) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    }
  }
  ~silent_listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string endpoint;

 private:
  int fd_ = -1;
};

// One etcd child process with its own data directory.
class etcd_process {
 public:
  std::string endpoint;

  bool start(std::string& error) {
    char dir_template[] = "/tmp/sb-etcd-test-XXXXXX";
    if (!::mkdtemp(dir_template)) return (error = "mkdtemp failed", false);
    dir_ = dir_template;
    const uint16_t client_port = free_port(), peer_port = free_port();
    if (client_port == 0 || peer_port == 0) return (error = "no free port", false);
    endpoint = "http://127.0.0.1:" + std::to_string(client_port);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    spawn({"/usr/bin/etcd", "--name", "default", "--data-dir", dir_ + "/data",
           "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
           "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster",
           "default=" + peer,
           // Short raft ticks: a single member elects itself in ~0.1 s instead of ~1 s.
           "--heartbeat-interval", "20", "--election-timeout", "200"});
    if (pid_ <= 0) return (error = "fork failed", false);
    return wait_healthy(error);
  }

  // SIGKILL by pid, reap, remove the data directory. Safe to call twice.
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      dir_.clear();
    }
  }

 private:
  pid_t pid_ = -1;
  std::string dir_;

  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  void spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const std::string log = dir_ + "/etcd.log";
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ != 0) return;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test binary leaves no etcd behind
    if (::getppid() != parent) ::_exit(1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }

  bool wait_healthy(std::string& error) {
    const auto deadline = clock_type::now() + 10s;
    sb::http_client::http_call call;
    call.url = endpoint + "/health";
    while (clock_type::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return (error = "etcd exited: " + log_tail(), false);
      }
      const auto reply = sb::http_client::perform(call, 500ms);
      if (reply.status == 200 && reply.body.find("true") != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return (error = "etcd not healthy within 10 s: " + log_tail(), false);
  }

  std::string log_tail() const {
    std::ifstream in(dir_ + "/etcd.log");
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    return all.substr(all.size() > 2000 ? all.size() - 2000 : 0);
  }
};

class Etcd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto started = clock_type::now();
    etcd_ = new etcd_process;
    if (!etcd_->start(start_error_)) {
      etcd_->stop();
      return;
    }
    std::printf("etcd up at %s in %lld ms\n", etcd_->endpoint.c_str(),
                static_cast<long long>((clock_type::now() - started) / 1ms));
  }
  static void TearDownTestSuite() {
    etcd_->stop();
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(start_error_.empty()) << start_error_; }

  static const std::string& endpoint() { return etcd_->endpoint; }
  static etcd_client client() { return etcd_client({etcd_->endpoint}); }

  // The store's current revision.
  static int64_t revision() {
    std::string error;
    auto r = client().range("sb-test/revision-probe", false, error);
    EXPECT_TRUE(r) << error;
    return r ? r->revision : 0;
  }

  static etcd_process* etcd_;
  static std::string start_error_;
};

etcd_process* Etcd::etcd_ = nullptr;
std::string Etcd::start_error_;

// Runs a watch on a thread of its own and collects what it delivers. Waits are bounded; the
// destructor stops the watch and aborts the process if run() does not return (never hang).
class watch_runner {
 public:
  watch_runner(const std::string& endpoint, const std::string& prefix, int64_t start)
      : watch_(endpoint, prefix, start) {
    thread_ = std::thread([this] {
      auto end = watch_.run([this](const std::vector<etcd_event>& events, int64_t revision) {
        std::lock_guard lock(mutex_);
        for (const auto& e : events) events_.push_back(e);
        revisions_.push_back(revision);
        changed_.notify_all();
      });
      std::lock_guard lock(mutex_);
      end_ = std::move(end);
      changed_.notify_all();
    });
  }

  ~watch_runner() {
    watch_.stop();
    if (!wait_until([this] { return end_.has_value(); }, 5s)) {
      std::fprintf(stderr, "etcd_watch::run() did not return after stop()\n");
      std::abort();
    }
    thread_.join();
  }

  bool wait_for_events(size_t count, std::chrono::milliseconds timeout) {
    return wait_until([&] { return events_.size() >= count || end_.has_value(); }, timeout) &&
           events_.size() >= count;
  }
  std::optional<etcd_watch::end> wait_for_end(std::chrono::milliseconds timeout) {
    wait_until([this] { return end_.has_value(); }, timeout);
    std::lock_guard lock(mutex_);
    return end_;
  }
  std::vector<etcd_event> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<int64_t> revisions() {
    std::lock_guard lock(mutex_);
    return revisions_;
  }
  etcd_watch& watch() { return watch_; }

 private:
  template <class Pred>
  bool wait_until(Pred pred, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, pred);
  }

  etcd_watch watch_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<etcd_event> events_;
  std::vector<int64_t> revisions_;
  std::optional<etcd_watch::end> end_;
  std::thread thread_;
};

// Every byte value, plus UTF-8 text.
std::string binary_value() {
  std::string value = "zürich 漢字 ";
  for (int b = 0; b < 256; ++b) value += static_cast<char>(b);
  return value;
}

// ---------------------------------------------------------------------------------------------

TEST(EtcdHelpers, PrefixEnd) {
  using sb::cluster::prefix_end;
  EXPECT_EQ(prefix_end("sb/parts/"), "sb/parts0");
  EXPECT_EQ(prefix_end("a\xff"), "b");
  EXPECT_EQ(prefix_end(""), std::string(1, '\0'));
  EXPECT_EQ(prefix_end("\xff\xff"), std::string(1, '\0'));
}

TEST(EtcdHelpers, Base64RoundTripsEveryLength) {
  namespace j = sb::cluster::etcd_json;
  EXPECT_EQ(j::base64_encode("f"), "Zg==");
  EXPECT_EQ(j::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(j::base64_encode("foo"), "Zm9v");
  const std::string all = binary_value();
  for (size_t n = 0; n < all.size(); ++n) {
    const auto text = all.substr(0, n);
    EXPECT_EQ(j::base64_decode(j::base64_encode(text)), text) << n;
  }
  EXPECT_FALSE(j::base64_decode("Zm9v!"));
}

TEST_F(Etcd, PutThenRangeReturnsBinaryValueAndGrowingRevisions) {
  auto c = client();
  std::string error;
  const std::string key = "sb-test/put/\x01\xfe-key";
  const std::string value = binary_value();
  const int64_t before = revision();
  ASSERT_TRUE(c.put(key, value, 0, error)) << error;
  auto first = c.range(key, false, error);
  ASSERT_TRUE(first) << error;
  ASSERT_EQ(first->kvs.size(), 1u);
  EXPECT_EQ(first->kvs[0].key, key);
  EXPECT_EQ(first->kvs[0].value, value);
  EXPECT_EQ(first->kvs[0].version, 1);
  EXPECT_EQ(first->kvs[0].lease, 0);
  EXPECT_GT(first->revision, before);
  EXPECT_EQ(first->kvs[0].mod_revision, first->revision);
  EXPECT_EQ(first->kvs[0].create_revision, first->revision);

  ASSERT_TRUE(c.put(key, "second", 0, error)) << error;
  auto second = c.range(key, false, error);
  ASSERT_TRUE(second) << error;
  ASSERT_EQ(second->kvs.size(), 1u);
  EXPECT_EQ(second->kvs[0].value, "second");
  EXPECT_EQ(second->kvs[0].version, 2);
  EXPECT_EQ(second->kvs[0].create_revision, first->kvs[0].create_revision);
  EXPECT_GT(second->kvs[0].mod_revision, first->kvs[0].mod_revision);
  EXPECT_GT(second->revision, first->revision);
}

TEST_F(Etcd, RangeOfMissingKeyIsEmpty) {
  std::string error;
  auto r = client().range("sb-test/missing/nothing-here", false, error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->kvs.empty());
  EXPECT_GT(r->revision, 0);
  auto p = client().range("sb-test/missing/", true, error);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(p->kvs.empty());
}

TEST_F(Etcd, RangeWithPrefixReturnsOnlyKeysUnderItInKeyOrder) {
  auto c = client();
  std::string error;
  for (const auto* key : {"sb-test/pfx/b", "sb-test/pfx/a", "sb-test/pfx/c/deep", "sb-test/pfx",
                          "sb-test/pfx0", "sb-test/pf"}) {
    ASSERT_TRUE(c.put(key, std::string("v:") + key, 0, error)) << error;
  }
  auto r = c.range("sb-test/pfx/", true, error);
  ASSERT_TRUE(r) << error;
  ASSERT_EQ(r->kvs.size(), 3u);
  EXPECT_EQ(r->kvs[0].key, "sb-test/pfx/a");
  EXPECT_EQ(r->kvs[1].key, "sb-test/pfx/b");
  EXPECT_EQ(r->kvs[2].key, "sb-test/pfx/c/deep");
  EXPECT_EQ(r->kvs[2].value, "v:sb-test/pfx/c/deep");
}

TEST_F(Etcd, DeleteSingleKeyAndPrefix) {
  auto c = client();
  std::string error;
  for (const auto* key : {"sb-test/del/a", "sb-test/del/b", "sb-test/del/c", "sb-test/del0"}) {
    ASSERT_TRUE(c.put(key, "x", 0, error)) << error;
  }
  ASSERT_TRUE(c.del("sb-test/del/a", false, error)) << error;
  auto r = c.range("sb-test/del/", true, error);
  ASSERT_TRUE(r) << error;
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, "sb-test/del/b");

  ASSERT_TRUE(c.del("sb-test/del/", true, error)) << error;
  r = c.range("sb-test/del/", true, error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->kvs.empty());
  r = c.range("sb-test/del0", false, error);  // right after the prefix: untouched
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->kvs.size(), 1u);
  EXPECT_TRUE(c.del("sb-test/del/never-existed", false, error)) << error;
}

TEST_F(Etcd, TxnCreateIfAbsentSucceedsOnceThenFails) {
  auto c = client();
  std::string error;
  const std::string key = "sb-test/txn/create-once";
  const std::vector<etcd_compare> absent{{key, etcd_compare::target::mod, 0}};
  auto first = c.txn(absent, {{etcd_op::kind::put, key, "first"}}, {}, error);
  ASSERT_TRUE(first) << error;
  EXPECT_TRUE(first->succeeded);
  EXPECT_GT(first->revision, 0);

  // etcd omits "succeeded" when it is false (etcd#10065): parsed as false.
  auto second = c.txn(absent, {{etcd_op::kind::put, key, "second"}}, {}, error);
  ASSERT_TRUE(second) << error;
  EXPECT_FALSE(second->succeeded);
  EXPECT_EQ(second->revision, first->revision);  // nothing written
  auto r = c.range(key, false, error);
  ASSERT_TRUE(r && r->kvs.size() == 1) << error;
  EXPECT_EQ(r->kvs[0].value, "first");

  // The same with the CREATE target: create_revision 0 means absent.
  const std::vector<etcd_compare> never_created{{key, etcd_compare::target::create, 0}};
  auto third = c.txn(never_created, {{etcd_op::kind::put, key, "third"}}, {}, error);
  ASSERT_TRUE(third) << error;
  EXPECT_FALSE(third->succeeded);
  const std::vector<etcd_compare> created_at{
      {key, etcd_compare::target::create, r->kvs[0].create_revision}};
  auto fourth = c.txn(created_at, {}, {}, error);
  ASSERT_TRUE(fourth) << error;
  EXPECT_TRUE(fourth->succeeded);
}

TEST_F(Etcd, WriteRecordsWritesEveryUnchangedRecordAndSkipsTheStaleOnes) {
  // 130 writes: three transactions of at most 64; a stale record in one makes that one retry
  // record by record, the others are written all the same.
  auto c = client();
  std::string error;
  std::vector<sb::cluster::record_write> writes;
  for (int i = 0; i < 130; ++i) {
    const std::string key = "sb-test/records/" + std::to_string(i);
    ASSERT_TRUE(c.put(key, "old", 0, error)) << error;
    auto r = c.range(key, false, error);
    ASSERT_TRUE(r && r->kvs.size() == 1) << error;
    writes.push_back({key, r->kvs[0].mod_revision, "new"});
  }
  ASSERT_TRUE(c.put(writes[70].key, "changed meanwhile", 0, error)) << error;
  writes.push_back({"sb-test/records/fresh", 0, "created"});
  writes.push_back({writes[5].key, 0, "not if it exists"});
  const auto revisions = sb::cluster::write_records(c, writes);
  ASSERT_EQ(revisions.size(), writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    const bool written = i != 70 && i != 131;
    EXPECT_EQ(revisions[i] > 0, written) << "write " << i;
    auto r = c.range(writes[i].key, false, error);
    ASSERT_TRUE(r && r->kvs.size() == 1) << error;
    if (i < 130) {
      EXPECT_EQ(r->kvs[0].value, i == 70 ? "changed meanwhile" : "new") << "write " << i;
    }
  }
  EXPECT_EQ(c.range("sb-test/records/fresh", false, error)->kvs.at(0).value, "created");
}

TEST_F(Etcd, TxnComparesModRevisionAndRunsFailureOpsWhenStale) {
  auto c = client();
  std::string error;
  const std::string key = "sb-test/txn/cas";
  ASSERT_TRUE(c.put(key, "v1", 0, error)) << error;
  auto r = c.range(key, false, error);
  ASSERT_TRUE(r && r->kvs.size() == 1) << error;
  const int64_t stale = r->kvs[0].mod_revision;

  auto swapped = c.txn({{key, etcd_compare::target::mod, stale}},
                       {{etcd_op::kind::put, key, "v2"}, {etcd_op::kind::del, "sb-test/txn/x"}},
                       {{etcd_op::kind::put, "sb-test/txn/failure", "ran"}}, error);
  ASSERT_TRUE(swapped) << error;
  EXPECT_TRUE(swapped->succeeded);
  EXPECT_GT(swapped->revision, stale);

  auto lost = c.txn({{key, etcd_compare::target::mod, stale}}, {{etcd_op::kind::put, key, "v3"}},
                    {{etcd_op::kind::put, "sb-test/txn/failure", "ran"}}, error);
  ASSERT_TRUE(lost) << error;
  EXPECT_FALSE(lost->succeeded);
  r = c.range(key, false, error);
  ASSERT_TRUE(r && r->kvs.size() == 1) << error;
  EXPECT_EQ(r->kvs[0].value, "v2");
  auto failure = c.range("sb-test/txn/failure", false, error);
  ASSERT_TRUE(failure && failure->kvs.size() == 1) << error;
  EXPECT_EQ(failure->kvs[0].value, "ran");

  // VALUE and VERSION targets, and a prefix delete as an op.
  auto by_value =
      c.txn({{key, etcd_compare::target::value, 0, "v2"}, {key, etcd_compare::target::version, 2}},
            {{etcd_op::kind::del, "sb-test/txn/", "", 0, true}}, {}, error);
  ASSERT_TRUE(by_value) << error;
  EXPECT_TRUE(by_value->succeeded);
  auto gone = c.range("sb-test/txn/", true, error);
  ASSERT_TRUE(gone) << error;
  EXPECT_TRUE(gone->kvs.empty());
}

// One client shared by racing threads: create-if-absent has exactly one winner per key.
TEST_F(Etcd, SharedClientRacingCreatesHaveOneWinnerPerKey) {
  constexpr int threads = 4, keys = 20;
  auto c = client();
  std::atomic<int> wins[keys] = {};
  std::atomic<int> failures{0};
  std::vector<std::thread> racers;
  for (int t = 0; t < threads; ++t) {
    racers.emplace_back([&, t] {
      std::string error;
      for (int k = 0; k < keys; ++k) {
        const std::string key = "sb-test/race/" + std::to_string(k);
        auto r = c.txn({{key, etcd_compare::target::create, 0}},
                       {{etcd_op::kind::put, key, std::to_string(t)}}, {}, error);
        if (!r) ++failures;
        if (r && r->succeeded) ++wins[k];
      }
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(failures, 0);
  for (int k = 0; k < keys; ++k) EXPECT_EQ(wins[k], 1) << k;
}

TEST_F(Etcd, LeaseKeepsKeyAliveWhileKeptAliveAndItVanishesAfter) {
  auto c = client();
  std::string error;
  auto lease = c.lease_grant(2s, error);
  ASSERT_TRUE(lease) << error;
  const std::string key = "sb-test/lease/alive";
  ASSERT_TRUE(c.put(key, "here", *lease, error)) << error;
  auto r = c.range(key, false, error);
  ASSERT_TRUE(r && r->kvs.size() == 1) << error;
  EXPECT_EQ(r->kvs[0].lease, *lease);

  for (const auto until = clock_type::now() + 3s; clock_type::now() < until;) {
    ASSERT_TRUE(c.lease_keepalive(*lease, error)) << error;
    std::this_thread::sleep_for(500ms);
  }
  r = c.range(key, false, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->kvs.size(), 1u) << "the key died although its lease was kept alive";

  const auto stopped = clock_type::now();
  bool gone = false;
  while (!gone && clock_type::now() < stopped + 4s) {  // TTL + 2 s
    std::this_thread::sleep_for(100ms);
    r = c.range(key, false, error);
    ASSERT_TRUE(r) << error;
    gone = r->kvs.empty();
  }
  EXPECT_TRUE(gone) << "the key outlived its lease by more than 2 s";
  std::printf("key gone %lld ms after the last keepalive\n",
              static_cast<long long>((clock_type::now() - stopped) / 1ms));
  EXPECT_FALSE(c.lease_keepalive(*lease, error));
  EXPECT_EQ(error, "lease expired");
}

TEST_F(Etcd, KeepaliveOnRevokedLeaseSaysExpiredAndRevokeDeletesKeys) {
  auto c = client();
  std::string error;
  auto lease = c.lease_grant(30s, error);
  ASSERT_TRUE(lease) << error;
  ASSERT_TRUE(c.put("sb-test/revoke/k", "v", *lease, error)) << error;
  ASSERT_TRUE(c.lease_keepalive(*lease, error)) << error;
  ASSERT_TRUE(c.lease_revoke(*lease, error)) << error;
  auto r = c.range("sb-test/revoke/k", false, error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->kvs.empty());
  error.clear();
  EXPECT_FALSE(c.lease_keepalive(*lease, error));
  EXPECT_EQ(error, "lease expired");
}

TEST_F(Etcd, ErrorAnswerIsReportedAsOneLine) {
  std::string error;
  EXPECT_FALSE(client().put("sb-test/err", "v", 0x7eadbeef, error));  // no such lease
  EXPECT_NE(error.find("HTTP 404"), std::string::npos) << error;
  EXPECT_NE(error.find("requested lease not found"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(client().lease_revoke(0x7eadbeef, error));
  EXPECT_NE(error.find("lease not found"), std::string::npos) << error;
}

TEST_F(Etcd, UnreachableEndpointFailsWithinTimeoutWithOneLine) {
  silent_listener silent;
  ASSERT_FALSE(silent.endpoint.empty());
  const std::string closed = "http://127.0.0.1:" + std::to_string(free_port());
  for (const auto& endpoint : {closed, silent.endpoint}) {
    etcd_client c({endpoint}, 300ms);
    std::string error;
    const auto started = clock_type::now();
    EXPECT_FALSE(c.range("sb-test/x", false, error));
    const auto took = clock_type::now() - started;
    EXPECT_LT(took, 1s) << endpoint;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    std::printf("%s: %s (%lld ms)\n", endpoint.c_str(), error.c_str(),
                static_cast<long long>(took / 1ms));
  }
  etcd_client both({closed, silent.endpoint}, 300ms);
  std::string error;
  EXPECT_FALSE(both.put("sb-test/x", "v", 0, error));
  EXPECT_NE(error.find("refused"), std::string::npos) << error;
  EXPECT_NE(error.find("timed out"), std::string::npos) << error;
}

TEST_F(Etcd, WorkingSecondEndpointIsUsedAndPreferredAfterwards) {
  silent_listener silent;
  etcd_client c({silent.endpoint, "http://127.0.0.1:" + std::to_string(free_port()), endpoint()},
                300ms);
  std::string error;
  const auto first = clock_type::now();
  ASSERT_TRUE(c.put("sb-test/failover", "v", 0, error)) << error;
  EXPECT_GE(clock_type::now() - first, 300ms);  // the silent endpoint's timeout
  // The endpoint that answered is tried first now: no time lost on the dead ones.
  const auto started = clock_type::now();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.range("sb-test/failover", false, error)) << error;
  EXPECT_LT(clock_type::now() - started, 300ms);
  EXPECT_EQ(c.endpoints().size(), 3u);
}

TEST_F(Etcd, WatchDeliversPutsAndDeletesUnderPrefixInOrder) {
  auto c = client();
  std::string error;
  const int64_t start = revision() + 1;
  watch_runner w(endpoint(), "sb-test/watch/", start);
  ASSERT_TRUE(c.put("sb-test/watch/a", "1", 0, error)) << error;
  ASSERT_TRUE(c.put("sb-test/other", "not watched", 0, error)) << error;
  ASSERT_TRUE(c.put("sb-test/watch/b", binary_value(), 0, error)) << error;
  ASSERT_TRUE(c.del("sb-test/watch/a", false, error)) << error;
  ASSERT_TRUE(c.put("sb-test/watch0", "just past the prefix", 0, error)) << error;
  ASSERT_TRUE(c.del("sb-test/watch/", true, error)) << error;
  ASSERT_TRUE(w.wait_for_events(4, 5s));
  const auto events = w.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].what, etcd_event::type::put);
  EXPECT_EQ(events[0].kv.key, "sb-test/watch/a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].kv.mod_revision, start);  // the watch starts at its revision, inclusive
  EXPECT_EQ(events[1].kv.key, "sb-test/watch/b");
  EXPECT_EQ(events[1].kv.value, binary_value());
  EXPECT_EQ(events[2].what, etcd_event::type::del);
  EXPECT_EQ(events[2].kv.key, "sb-test/watch/a");
  EXPECT_EQ(events[3].what, etcd_event::type::del);
  EXPECT_EQ(events[3].kv.key, "sb-test/watch/b");
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].kv.mod_revision, events[i - 1].kv.mod_revision);
  }
  EXPECT_EQ(w.revisions().back(), events.back().kv.mod_revision);
  EXPECT_FALSE(w.wait_for_end(0ms));  // still running
}

TEST_F(Etcd, WatchFromCompactedRevisionEndsCompacted) {
  auto c = client();
  std::string error;
  ASSERT_TRUE(c.put("sb-test/compact/k", "1", 0, error)) << error;
  const int64_t old = revision();
  ASSERT_TRUE(c.put("sb-test/compact/k", "2", 0, error)) << error;
  const int64_t now = revision();
  ASSERT_TRUE(
      c.post("/v3/kv/compaction", {{"revision", std::to_string(now)}, {"physical", true}}, error))
      << error;
  watch_runner w(endpoint(), "sb-test/compact/", old);
  const auto end = w.wait_for_end(5s);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->reason, etcd_watch::end_reason::compacted) << end->error;
  EXPECT_GT(end->compact_revision, 0);
  EXPECT_EQ(end->compact_revision, now);
  EXPECT_TRUE(w.events().empty());
}

TEST_F(Etcd, WatchStopFromAnotherThreadEndsRunPromptly) {
  watch_runner w(endpoint(), "sb-test/stop/", 0);
  std::this_thread::sleep_for(200ms);  // let it connect and block in a read
  EXPECT_FALSE(w.wait_for_end(0ms));
  const auto started = clock_type::now();
  w.watch().stop();
  const auto end = w.wait_for_end(2s);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->reason, etcd_watch::end_reason::stopped) << end->error;
  EXPECT_LT(clock_type::now() - started, 500ms);

  etcd_watch early(endpoint(), "sb-test/stop/", 0);
  early.stop();  // before run(): run() returns at once
  EXPECT_EQ(early.run([](const auto&, int64_t) {}).reason, etcd_watch::end_reason::stopped);
}

// 2,000 events of 2 KiB values: 500 single puts (one ~2.8 KB line each, so reads end
// mid-line) and then 15 txns of 100 puts (one ~280 KB line each, spanning many reads).
TEST_F(Etcd, WatchDeliversThousandsOfEventsInOrder) {
  constexpr int singles = 500, txns = 15, per_txn = 100, count = singles + txns * per_txn;
  auto value_of = [](int i) {
    std::string v = "#" + std::to_string(i) + ":";
    v.resize(2048, static_cast<char>('a' + i % 26));
    return v;
  };
  auto key_of = [](int i) { return "sb-test/many/" + std::to_string(i); };
  watch_runner w(endpoint(), "sb-test/many/", revision() + 1);
  auto c = client();
  std::string error;
  const auto started = clock_type::now();
  for (int i = 0; i < singles; ++i) ASSERT_TRUE(c.put(key_of(i), value_of(i), 0, error)) << error;
  for (int t = 0; t < txns; ++t) {
    std::vector<etcd_op> puts;
    for (int i = singles + t * per_txn; i < singles + (t + 1) * per_txn; ++i) {
      puts.push_back({etcd_op::kind::put, key_of(i), value_of(i)});
    }
    auto r = c.txn({}, puts, {}, error);
    ASSERT_TRUE(r && r->succeeded) << error;
  }
  const auto written = clock_type::now();
  ASSERT_TRUE(w.wait_for_events(count, 10s)) << w.events().size();
  std::printf("%d events written in %lld ms, all delivered %lld ms later in %zu responses\n", count,
              static_cast<long long>((written - started) / 1ms),
              static_cast<long long>((clock_type::now() - written) / 1ms), w.revisions().size());
  const auto events = w.events();
  ASSERT_EQ(events.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(events[i].what, etcd_event::type::put);
    ASSERT_EQ(events[i].kv.key, key_of(i));
    ASSERT_EQ(events[i].kv.value, value_of(i));
    if (i > 0) {
      ASSERT_GE(events[i].kv.mod_revision, events[i - 1].kv.mod_revision);
    }
  }
  EXPECT_EQ(events[singles].kv.mod_revision, events[singles + per_txn - 1].kv.mod_revision);
  ASSERT_TRUE(c.del("sb-test/many/", true, error)) << error;
}

TEST_F(Etcd, WatchAndRangeCarryOneMebibyteValueIntact) {
  auto c = client();
  std::string error;
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 3);
  watch_runner w(endpoint(), "sb-test/big/", revision() + 1);
  ASSERT_TRUE(c.put("sb-test/big/one", big, 0, error)) << error;
  ASSERT_TRUE(c.put("sb-test/big/after", "small", 0, error)) << error;
  ASSERT_TRUE(w.wait_for_events(2, 5s));
  const auto events = w.events();
  EXPECT_EQ(events[0].kv.value.size(), big.size());
  EXPECT_TRUE(events[0].kv.value == big);
  EXPECT_EQ(events[1].kv.value, "small");
  auto r = c.range("sb-test/big/one", false, error);
  ASSERT_TRUE(r && r->kvs.size() == 1) << error;
  EXPECT_TRUE(r->kvs[0].value == big);
  ASSERT_TRUE(c.del("sb-test/big/", true, error)) << error;
}

TEST_F(Etcd, WatchOnUnreachableOrSilentEndpointFailsWithinTimeout) {
  etcd_watch refused("http://127.0.0.1:" + std::to_string(free_port()), "sb-test/", 0, 500ms);
  auto end = refused.run([](const auto&, int64_t) {});
  EXPECT_EQ(end.reason, etcd_watch::end_reason::failed);
  EXPECT_NE(end.error.find("connect"), std::string::npos) << end.error;

  silent_listener silent;
  etcd_watch hanging(silent.endpoint, "sb-test/", 0, 300ms);
  const auto started = clock_type::now();
  end = hanging.run([](const auto&, int64_t) {});
  EXPECT_LT(clock_type::now() - started, 1s);
  EXPECT_EQ(end.reason, etcd_watch::end_reason::failed);
  EXPECT_NE(end.error.find("timed out"), std::string::npos) << end.error;

  etcd_watch https("https://127.0.0.1:2379", "sb-test/", 0);
  EXPECT_EQ(https.run([](const auto&, int64_t) {}).reason, etcd_watch::end_reason::failed);
}

TEST_F(Etcd, WatchStopWhileWaitingForTheAnswerEndsRunPromptly) {
  silent_listener silent;
  watch_runner w(silent.endpoint, "sb-test/", 0);  // 2 s connect timeout
  std::this_thread::sleep_for(100ms);
  const auto started = clock_type::now();
  w.watch().stop();
  const auto end = w.wait_for_end(1s);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->reason, etcd_watch::end_reason::stopped) << end->error;
  EXPECT_LT(clock_type::now() - started, 500ms);
}

}  // namespace
