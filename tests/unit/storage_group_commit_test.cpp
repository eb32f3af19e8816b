#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "base/partition.hpp"
#include "storage/group_commit.hpp"
#include "tests/unit/storage_test_support.hpp"

namespace sb::storage {
namespace {

using test::entry_set;

class GroupCommit : public ::testing::Test {
 protected:
  test::temp_dir dir_;
  std::unique_ptr<stream_store> store_ = test::open_store(dir_.path());
};

TEST_F(GroupCommit, CallbacksRunOnceInSubmissionOrder) {
  std::vector<uint64_t> called;  // written only by the writer thread until stop() joins it
  std::vector<std::string> errors;
  group_commit gc(*store_, true);
  for (uint64_t seq = 1; seq <= 500; ++seq) {
    gc.submit(entry_set("orders:m1", seq), [&, seq](const std::string& error) {
      called.push_back(seq);
      errors.push_back(error);
    });
  }
  gc.stop();
  std::vector<uint64_t> expected(500);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(called, expected);
  EXPECT_EQ(errors, std::vector<std::string>(500, ""));
  EXPECT_EQ(store_->last_seq("orders:m1"), 500u);
  EXPECT_EQ(gc.stats().sets, 500u);
}

TEST_F(GroupCommit, ConcurrentSubmittersShareSyncedRounds) {
  constexpr int threads = 16;
  constexpr uint64_t per_thread = 100;
  std::mutex mutex;
  std::map<int, std::vector<uint64_t>> called;
  std::atomic<int> failures = 0;
  group_commit gc(*store_, true);

  std::vector<std::thread> submitters;
  std::latch start(threads);
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&, t] {
      const std::string stream = "orders:m" + std::to_string(t);
      start.arrive_and_wait();
      for (uint64_t seq = 1; seq <= per_thread; ++seq) {
        gc.submit(entry_set(stream, seq), [&, t, seq](const std::string& error) {
          if (!error.empty()) ++failures;
          std::lock_guard lock(mutex);
          called[t].push_back(seq);
        });
      }
    });
  }
  for (auto& s : submitters) s.join();
  gc.stop();

  std::vector<uint64_t> expected(per_thread);
  std::iota(expected.begin(), expected.end(), 1);
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(called[t], expected) << "thread " << t;
    EXPECT_EQ(store_->last_seq("orders:m" + std::to_string(t)), per_thread);
  }
  EXPECT_EQ(failures, 0);
  const auto stats = gc.stats();
  EXPECT_EQ(stats.sets, threads * per_thread);
  EXPECT_LT(stats.rounds, stats.sets);
}

// Acked cursors nobody waits for are written without an fsync of their own (not observable
// here); they must still be applied, alone or mixed with appends.
TEST_F(GroupCommit, UnwaitedCursorSetsAreApplied) {
  group_commit gc(*store_, true);
  for (uint64_t seq = 1; seq <= 50; ++seq) {
    write_set cursor;
    cursor.put_cursor("orders:m1", "merchant:m1", seq);
    gc.submit(std::move(cursor), {});
    if (seq % 10 == 0) gc.submit(entry_set("orders:m1", seq / 10), {});
  }
  gc.stop();
  EXPECT_EQ(gc.stats().sets, 55u);
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 50u);
  EXPECT_EQ(store_->last_seq("orders:m1"), 5u);
}

write_set cursor_set(uint64_t seq) {
  write_set set;
  set.put_cursor("orders:m1", "merchant:m1", seq);
  return set;
}

// A lazy set (an acked cursor) wakes no writer: it waits for the next eager round and goes
// with it, in the same synced write.
TEST_F(GroupCommit, LazySetsWaitForTheNextRoundAndGoWithIt) {
  using namespace std::chrono_literals;
  group_commit gc(*store_, true, 4096, {}, std::chrono::milliseconds(60'000));
  for (uint64_t seq = 1; seq <= 3; ++seq) gc.submit_lazy(cursor_set(seq));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(gc.stats().rounds, 0u);
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 0u);
  std::promise<std::string> done;
  gc.submit(entry_set("orders:m1", 1), [&](const std::string& error) { done.set_value(error); });
  EXPECT_EQ(done.get_future().get(), "");
  EXPECT_EQ(gc.stats().rounds, 1u);
  EXPECT_EQ(gc.stats().sets, 4u);
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 3u);
}

// With no eager round coming, a lazy set is written on its own once it has waited its delay.
TEST_F(GroupCommit, ALazySetAloneIsWrittenAfterItsDelay) {
  using namespace std::chrono_literals;
  group_commit gc(*store_, true, 4096, {}, std::chrono::milliseconds(30));
  gc.submit_lazy(cursor_set(7));
  for (int i = 0; i < 200 && gc.stats().rounds == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 7u);
  EXPECT_EQ(gc.stats().rounds, 1u);
  // And the writer sleeps again: nothing queued, no further rounds.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(gc.stats().rounds, 1u);
}

TEST_F(GroupCommit, StopWritesLazySetsToo) {
  group_commit gc(*store_, true, 4096, {}, std::chrono::milliseconds(60'000));
  gc.submit_lazy(cursor_set(4));
  gc.stop();
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 4u);
  gc.submit_lazy(cursor_set(5));  // after stop: dropped, nobody waits for it
  EXPECT_EQ(store_->cursor("orders:m1", "merchant:m1"), 4u);
}

// While the writer is held inside a callback, everything submitted queues up and must go out
// as one round: batching is structural, not a matter of timing.
TEST_F(GroupCommit, SetsQueuedDuringARoundFormTheNextRound) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<size_t> round_sizes;
  group_commit gc(*store_, true, 4096,
                  [&](size_t sets, int64_t micros) { round_sizes.push_back(sets); });
  gc.submit(entry_set("orders:m1", 1), [released](const std::string&) { released.wait(); });
  for (uint64_t seq = 2; seq <= 100; ++seq) gc.submit(entry_set("orders:m1", seq), {});
  release.set_value();
  gc.stop();
  EXPECT_LE(round_sizes.size(), 2u);
  EXPECT_EQ(gc.stats().rounds, round_sizes.size());
  EXPECT_EQ(gc.stats().sets, 100u);
  EXPECT_EQ(store_->last_seq("orders:m1"), 100u);
}

TEST_F(GroupCommit, RoundsNeverExceedTheirLimit) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<size_t> round_sizes;
  group_commit gc(*store_, false, 10, [&](size_t sets, int64_t) { round_sizes.push_back(sets); });
  gc.submit(entry_set("orders:m1", 1), [released](const std::string&) { released.wait(); });
  for (uint64_t seq = 2; seq <= 95; ++seq) gc.submit(entry_set("orders:m1", seq), {});
  release.set_value();
  gc.stop();
  size_t total = 0;
  for (size_t n : round_sizes) {
    EXPECT_LE(n, 10u);
    total += n;
  }
  EXPECT_EQ(total, 95u);
  EXPECT_GE(round_sizes.size(), 10u);
  EXPECT_EQ(store_->last_seq("orders:m1"), 95u);
}

TEST_F(GroupCommit, StopCommitsEverythingAlreadySubmitted) {
  std::atomic<int> ok = 0;
  group_commit gc(*store_, true);
  for (uint64_t seq = 1; seq <= 1000; ++seq) {
    gc.submit(entry_set("orders:m1", seq), [&](const std::string& error) {
      if (error.empty()) ++ok;
    });
  }
  gc.stop();
  EXPECT_EQ(ok, 1000);
  EXPECT_EQ(store_->last_seq("orders:m1"), 1000u);
}

TEST_F(GroupCommit, SubmitAfterStopFailsAtOnce) {
  group_commit gc(*store_, true);
  gc.stop();
  std::string error;
  bool called = false;
  gc.submit(entry_set("orders:m1", 1), [&](const std::string& e) {
    called = true;
    error = e;
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(error, "stopped");
  EXPECT_EQ(store_->last_seq("orders:m1"), 0u);
  gc.stop();
}

TEST_F(GroupCommit, DestructorDrainsLikeStop) {
  std::atomic<int> ok = 0;
  {
    group_commit gc(*store_, false);
    for (uint64_t seq = 1; seq <= 50; ++seq) {
      gc.submit(entry_set("orders:m1", seq), [&](const std::string& e) { ok += e.empty(); });
    }
  }
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(store_->last_seq("orders:m1"), 50u);
}

TEST_F(GroupCommit, CallbackMaySubmitAgain) {
  std::promise<std::string> second;
  group_commit gc(*store_, true);
  gc.submit(entry_set("orders:m1", 1), [&](const std::string&) {
    gc.submit(entry_set("orders:m1", 2), [&](const std::string& e) { second.set_value(e); });
  });
  EXPECT_EQ(second.get_future().get(), "");
  gc.stop();
  EXPECT_EQ(store_->last_seq("orders:m1"), 2u);
}

// Two streams in different partitions: `closed` is handed over, `open` is not.
struct two_partitions {
  std::string closed = "orders:closed";
  std::string open = "orders:open-0";
  two_partitions() {
    for (int i = 1; partition_of(open) == partition_of(closed); ++i)
      open = "orders:open-" + std::to_string(i);
  }
};

TEST_F(GroupCommit, ASetForAPartitionBeingHandedOverFailsAloneAndWritesNothing) {
  const two_partitions s;
  store_->set_writable(partition_of(s.closed), false);
  EXPECT_NE(store_->refusal(entry_set(s.closed, 1)).find("handed over"), std::string::npos);
  EXPECT_EQ(store_->refusal(entry_set(s.open, 1)), "");
  std::promise<std::string> closed_result, open_result;
  {
    group_commit gc(*store_, true);
    gc.submit(entry_set(s.closed, 1), [&](const std::string& e) { closed_result.set_value(e); });
    gc.submit(entry_set(s.open, 1), [&](const std::string& e) { open_result.set_value(e); });
  }
  EXPECT_NE(closed_result.get_future().get().find("handed over"), std::string::npos);
  EXPECT_EQ(open_result.get_future().get(), "");
  EXPECT_EQ(store_->last_seq(s.closed), 0u);
  EXPECT_EQ(store_->last_seq(s.open), 1u);
}

TEST_F(GroupCommit, AHandedOverPartitionTakesWritesAgainWhenReopenedOrHeldAtANewEpoch) {
  const two_partitions s;
  const auto p = partition_of(s.closed);
  group_commit gc(*store_, true);
  auto write = [&](uint64_t seq) {
    std::promise<std::string> result;
    gc.submit(entry_set(s.closed, seq), [&](const std::string& e) { result.set_value(e); });
    return result.get_future().get();
  };
  store_->set_writable(p, false);
  EXPECT_NE(write(1), "");
  store_->set_writable(p, true);  // the handoff was called off
  EXPECT_EQ(write(1), "");
  store_->set_writable(p, false);
  EXPECT_NE(write(2), "");
  ASSERT_EQ(store_->set_partition_epoch(p, 7), "");  // this node holds it again
  EXPECT_EQ(write(2), "");
  EXPECT_EQ(store_->last_seq(s.closed), 2u);
}

TEST_F(GroupCommit, ApplyRefusesAHandedOverPartitionWhenReplicating) {
  // group_commit filters such sets first; apply() itself is the last line.
  const two_partitions s;
  store_->set_writable(partition_of(s.closed), false);
  const auto set = entry_set(s.closed, 1);
  std::vector<replica_round> rounds;
  EXPECT_NE(store_->apply({&set}, true, &rounds).find("handed over"), std::string::npos);
  EXPECT_TRUE(rounds.empty());
  EXPECT_EQ(store_->last_seq(s.closed), 0u);
}

TEST(GroupCommitFaults, EveryCallbackOfAFailedRoundGetsTheError) {
  test::temp_dir dir;
  auto failing = std::make_shared<std::atomic<bool>>(true);
  auto store = test::open_store({.path = dir.path(), .env = test::faulty_env(failing)});
  ASSERT_NE(store, nullptr);
  std::vector<std::string> errors;
  group_commit gc(*store, true);
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    gc.submit(entry_set("orders:m1", seq), [&](const std::string& e) { errors.push_back(e); });
  }
  gc.stop();
  ASSERT_EQ(errors.size(), 20u);
  for (const auto& e : errors)
    EXPECT_NE(e.find("injected WAL sync failure"), std::string::npos) << e;
  EXPECT_EQ(gc.stats().failures, gc.stats().rounds);
  EXPECT_EQ(gc.stats().sets, 0u);
}

}  // namespace
}  // namespace sb::storage
