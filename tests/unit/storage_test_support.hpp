// Fixtures shared by the storage unit tests: a temp directory per test, entry builders and a
// RocksDB file system that fails WAL syncs on demand. Test threads only.
#pragma once
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "base/partition.hpp"
#include "storage/stream_store.hpp"

namespace sb::storage::test {

class temp_dir {
 public:
  temp_dir() {
    char pattern[] = "/tmp/sb-storage-test-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<stream_store> open_store(const store_options& opts) {
  std::string error;
  auto store = stream_store::open(opts, error);
  EXPECT_NE(store, nullptr) << error;
  return store;
}

inline std::unique_ptr<stream_store> open_store(const std::string& path) {
  return open_store(store_options{.path = path});
}

inline stored_entry make_entry(uint64_t seq, std::string idempotency_key = {}) {
  return stored_entry{.seq = seq,
                      .id = "id-" + std::to_string(seq),
                      .ts_ms = 1700000000000 + static_cast<int64_t>(seq),
                      .kind = "order",
                      .data = R"({"n":)" + std::to_string(seq) + "}",
                      .idempotency_key = std::move(idempotency_key)};
}

inline write_set entry_set(std::string_view stream, uint64_t seq) {
  write_set set;
  set.put_entry(stream, make_entry(seq));
  return set;
}

// Appends entries first..last to the stream in one unsynced write.
inline void append_range(stream_store& store, std::string_view stream, uint64_t first,
                         uint64_t last) {
  write_set set;
  for (uint64_t seq = first; seq <= last; ++seq) set.put_entry(stream, make_entry(seq));
  ASSERT_EQ(store.apply({&set}, false), "");
}

// Fails every WAL sync while `failing` is set, and holds every WAL sync while `stalling` is set
// (a disk that stops answering). The appended bytes still reach the OS, as in a crash after a
// partial write, so a failed write may reappear on reopen.
class faulty_wal_fs : public rocksdb::FileSystemWrapper {
 public:
  explicit faulty_wal_fs(std::shared_ptr<std::atomic<bool>> failing,
                         std::shared_ptr<std::atomic<bool>> stalling = nullptr)
      : FileSystemWrapper(rocksdb::FileSystem::Default()),
        failing_(std::move(failing)),
        stalling_(stalling ? std::move(stalling) : std::make_shared<std::atomic<bool>>(false)) {}
  const char* Name() const override { return "faulty_wal_fs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, dbg);
    if (status.ok() && name.ends_with(".log")) {
      *file = std::make_unique<faulty_file>(std::move(*file), failing_, stalling_);
    }
    return status;
  }

 private:
  class faulty_file : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    faulty_file(std::unique_ptr<rocksdb::FSWritableFile> file,
                std::shared_ptr<std::atomic<bool>> failing,
                std::shared_ptr<std::atomic<bool>> stalling)
        : FSWritableFileOwnerWrapper(std::move(file)),
          failing_(std::move(failing)),
          stalling_(std::move(stalling)) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      hold();
      if (*failing_) return rocksdb::IOStatus::IOError("injected WAL sync failure");
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      hold();
      if (*failing_) return rocksdb::IOStatus::IOError("injected WAL sync failure");
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }

   private:
    void hold() const {
      while (*stalling_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::shared_ptr<std::atomic<bool>> failing_;
    std::shared_ptr<std::atomic<bool>> stalling_;
  };

  std::shared_ptr<std::atomic<bool>> failing_;
  std::shared_ptr<std::atomic<bool>> stalling_;
};

inline std::shared_ptr<rocksdb::Env> faulty_env(
    std::shared_ptr<std::atomic<bool>> failing,
    std::shared_ptr<std::atomic<bool>> stalling = nullptr) {
  return rocksdb::NewCompositeEnv(
      std::make_shared<faulty_wal_fs>(std::move(failing), std::move(stalling)));
}

// The first "<base><i>" whose partition satisfies `ok`: tests that need streams in chosen
// partitions (the same one, or different ones).
template <typename Ok>
std::string stream_where(const std::string& base, Ok ok) {
  for (int i = 0; i < 1'000'000; ++i) {
    std::string candidate = base + std::to_string(i);
    if (ok(partition_of(candidate))) return candidate;
  }
  throw std::runtime_error("no stream name found for " + base);
}

}  // namespace sb::storage::test
