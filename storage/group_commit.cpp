#include "storage/group_commit.hpp"

#include "storage/keys.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>

namespace sb::storage {

group_commit::group_commit(stream_store& store, bool sync, size_t max_sets_per_round,
                           std::function<void(size_t, int64_t)> observe_round,
                           std::chrono::milliseconds lazy_delay)
    : store_(store),
      sync_(sync),
      max_sets_(std::max<size_t>(1, max_sets_per_round)),
      observe_round_(std::move(observe_round)),
      lazy_delay_(lazy_delay),
      thread_([this] { run(); }) {}

group_commit::~group_commit() {
  stop();
}

void group_commit::submit(write_set set, callback done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(set), std::move(done), false});
      if (eager_++ == 0) wake_.notify_one();
      return;
    }
  }
  if (done) done("stopped");
}

void group_commit::submit_lazy(write_set set) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  // The writer may be asleep with nothing to wait for: the first set gives it a deadline.
  const bool first = queue_.empty();
  if (first) lazy_since_ = clock::now();
  queue_.push_back({std::move(set), {}, true});
  if (first) wake_.notify_one();
}

void group_commit::set_replicator(replicate_fn replicate) {
  std::lock_guard lock(mutex_);
  replicate_ = std::move(replicate);
}

void group_commit::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  });
}

group_commit_stats group_commit::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void group_commit::run() {
  std::vector<pending> round;
  std::unique_lock lock(mutex_);
  for (;;) {
    wait_for_round(lock);
    if (queue_.empty()) return;  // stopping, and everything submitted is committed
    take_round(round);
    // Unlocked while writing and calling back: submitters never wait for the disk, and a
    // callback may submit again.
    lock.unlock();
    commit(round);
    round.clear();
    lock.lock();
  }
}

void group_commit::wait_for_round(std::unique_lock<std::mutex>& lock) {
  while (!stopping_ && eager_ == 0) {
    if (queue_.empty()) {
      wake_.wait(lock);
    } else if (wake_.wait_until(lock, lazy_since_ + lazy_delay_) == std::cv_status::timeout &&
               !queue_.empty() && clock::now() >= lazy_since_ + lazy_delay_) {
      return;
    }
  }
}

void group_commit::take_round(std::vector<pending>& round) {
  if (queue_.size() <= max_sets_) {
    round.swap(queue_);
  } else {
    auto end = queue_.begin() + static_cast<std::ptrdiff_t>(max_sets_);
    round.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
    queue_.erase(queue_.begin(), end);
    lazy_since_ = clock::now();
  }
  for (const auto& p : round) eager_ -= p.lazy ? 0 : 1;
}

namespace {

// Acked cursors that nobody waits for acknowledge nothing: losing them in a crash only causes a
// redelivery, which at-least-once allows. A round of such sets skips the fsync; the next synced
// round (the same WAL) makes them durable too.
bool needs_sync(const write_set& set, const group_commit::callback& done) {
  if (done) return true;
  for (const auto& op : set.ops())
    if (op.erase || op.key.size() < 3 || op.key[2] != static_cast<char>(keys::record_type::cursor))
      return true;
  return false;
}

}  // namespace

void group_commit::commit(std::vector<pending>& round) {
  // A set for a partition being handed over fails alone, not the round it came with.
  std::erase_if(round, [this](pending& p) {
    auto refused = store_.refusal(p.set);
    if (refused.empty()) return false;
    if (p.done) p.done(refused);
    return true;
  });
  std::vector<const write_set*> sets;
  sets.reserve(round.size());
  bool sync = false;
  for (const auto& p : round) {
    sets.push_back(&p.set);
    sync = sync || needs_sync(p.set, p.done);
  }

  replicate_fn replicate;
  {
    std::lock_guard lock(mutex_);
    replicate = replicate_;
  }
  std::vector<replica_round> rounds;
  const auto start = std::chrono::steady_clock::now();
  const std::string error = store_.apply(sets, sync && sync_, replicate ? &rounds : nullptr);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  {
    std::lock_guard lock(mutex_);
    ++stats_.rounds;
    if (error.empty()) {
      stats_.sets += round.size();
    } else {
      ++stats_.failures;
    }
  }
  if (observe_round_) observe_round_(round.size(), micros);
  if (error.empty() && !rounds.empty()) {
    auto waiting = std::make_shared<std::vector<callback>>();
    waiting->reserve(round.size());
    for (auto& p : round) waiting->push_back(std::move(p.done));
    replicate(std::move(rounds), [waiting](const std::string& result) {
      for (auto& done : *waiting)
        if (done) done(result);
    });
    return;
  }
  for (auto& p : round) {
    if (p.done) p.done(error);
  }
}

}  // namespace sb::storage
