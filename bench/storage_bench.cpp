// Measures what group commit buys: N appends of ~300-byte JSON entries (a) one synced write
// each from one thread, (b) through group_commit from 16 producer threads (awaiting each ack,
// and not), (c) the same with sync off. Usage: storage_bench [N] [dir]
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "storage/group_commit.hpp"
#include "storage/stream_store.hpp"

namespace {

using sb::storage::group_commit;
using sb::storage::stored_entry;
using sb::storage::stream_store;
using sb::storage::write_set;
using clock_type = std::chrono::steady_clock;

constexpr int producers = 16;

write_set order_set(const std::string& stream, uint64_t seq) {
  std::string data = R"({"order_id":"ord-)" + std::to_string(seq) +
                     R"(","merchant":"m-1042","status":"paid","currency":"EUR","total":"42.90",)"
                     R"("items":[{"sku":"SKU-1","qty":2,"price":"12.95"},)"
                     R"({"sku":"SKU-7","qty":1,"price":"17.00"}],)"
                     R"("customer":{"name":"Ada Lovelace","phone":"+44 20 7946 0000"},)"
                     R"("note":"ring the bell twice, leave it at the back door"})";
  write_set set;
  set.put_entry(stream, stored_entry{.seq = seq,
                                     .id = stream + "-" + std::to_string(seq),
                                     .ts_ms = 1700000000000,
                                     .kind = "order",
                                     .data = std::move(data),
                                     .idempotency_key = {}});
  return set;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

std::unique_ptr<stream_store> open_fresh(const std::string& path) {
  std::filesystem::remove_all(path);
  std::string error;
  auto store = stream_store::open({.path = path}, error);
  if (!store) {
    std::fprintf(stderr, "%s\n", error.c_str());
    std::exit(1);
  }
  return store;
}

void report(const char* name, uint64_t n, double secs, uint64_t rounds,
            std::vector<double> latencies_us) {
  std::printf("%-44s %8.0f entries/s  %6.2f s  %6llu rounds  %7.1f sets/round", name, n / secs,
              secs, static_cast<unsigned long long>(rounds), static_cast<double>(n) / rounds);
  if (!latencies_us.empty()) {
    std::sort(latencies_us.begin(), latencies_us.end());
    std::printf("  ack p50 %.2f ms  p99 %.2f ms", latencies_us[latencies_us.size() / 2] / 1000,
                latencies_us[latencies_us.size() * 99 / 100] / 1000);
  }
  std::printf("\n");
}

void one_synced_write_each(const std::string& path, uint64_t n) {
  auto store = open_fresh(path);
  const auto start = clock_type::now();
  for (uint64_t seq = 1; seq <= n; ++seq) {
    write_set set = order_set("orders:m1", seq);
    const std::string error = store->apply({&set}, true);
    if (!error.empty()) {
      std::fprintf(stderr, "%s\n", error.c_str());
      std::exit(1);
    }
  }
  report("(a) 1 thread, one synced write per entry", n, seconds_since(start), n, {});
}

// With `await_ack` each producer waits for its ack before the next append, like an HTTP
// producer waiting for its 202; without, producers submit as fast as they can.
void through_group_commit(const char* name, const std::string& path, uint64_t n, bool sync,
                          bool await_ack) {
  auto store = open_fresh(path);
  group_commit gc(*store, sync);
  // latencies[p] is written by producer p when awaiting, else by the writer thread only.
  std::vector<std::vector<double>> latencies(producers);
  std::vector<std::thread> threads;
  const auto start = clock_type::now();
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      const std::string stream = "orders:m" + std::to_string(p);
      for (uint64_t seq = 1; seq <= n / producers; ++seq) {
        std::promise<void> acked;
        const auto submitted = clock_type::now();
        gc.submit(order_set(stream, seq), [&, p, submitted](const std::string& e) {
          if (!e.empty()) std::exit(1);
          latencies[p].push_back(
              std::chrono::duration<double, std::micro>(clock_type::now() - submitted).count());
          if (await_ack) acked.set_value();
        });
        if (await_ack) acked.get_future().wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  gc.stop();
  const double secs = seconds_since(start);
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  report(name, n / producers * producers, secs, gc.stats().rounds, std::move(all));
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::stoull(argv[1]) : 20000;
  std::string path;
  if (argc > 2) {
    path = argv[2];
  } else {
    char pattern[] = "/tmp/sb-storage-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return 1;
    path = pattern;
  }
  std::printf("N=%llu, ~300-byte JSON entries, store in %s\n", static_cast<unsigned long long>(n),
              path.c_str());
  one_synced_write_each(path + "/a", n);
  through_group_commit("(b) group_commit, 16 awaiting producers", path + "/b", n, true, true);
  through_group_commit("(b') group_commit, 16 producers, no waiting", path + "/b2", n, true, false);
  through_group_commit("(c) group_commit, 16 awaiting, sync off", path + "/c", n, false, true);
  if (argc <= 2) std::filesystem::remove_all(path);
}
