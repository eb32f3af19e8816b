// One etcd watch of a key prefix over the JSON gateway's streaming /v3/watch, on a connection of
// its own. run() blocks a thread dedicated to it; stop() may be called from any thread.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/etcd_client.hpp"

namespace sb::cluster {

struct etcd_event {
  enum class type { put, del } what = type::put;
  etcd_kv kv;  // for del: the key and mod_revision (the deletion's revision) only
};

class etcd_watch {
 public:
  // Watches every key under `prefix` from `start_revision` (inclusive) on `endpoint`
  // ("http://host:port"; plain HTTP only). `connect_timeout` bounds connecting and the answer's
  // header; once the stream runs, only stop() or the stream's end ends it.
  etcd_watch(std::string endpoint, std::string prefix, int64_t start_revision,
             std::chrono::milliseconds connect_timeout = std::chrono::seconds(2));
  ~etcd_watch();
  etcd_watch(const etcd_watch&) = delete;
  etcd_watch& operator=(const etcd_watch&) = delete;

  enum class end_reason { stopped, compacted, canceled, failed };
  struct end {
    end_reason reason;
    int64_t compact_revision = 0;  // compacted: re-list with range, watch again from here
    std::string error;             // canceled, failed: one line
  };

  // Calls on_events(events, header revision) for each watch response with events, in order,
  // on the calling thread; returns when the stream ends. Call at most once per object.
  end run(const std::function<void(const std::vector<etcd_event>&, int64_t revision)>& on_events);

  // Makes run() return `stopped` promptly (now, or as soon as it starts). Any thread.
  void stop();

 private:
  struct impl;
  std::string endpoint_, prefix_;
  int64_t start_revision_;
  std::chrono::milliseconds connect_timeout_;
  std::atomic<bool> stopped_{false};
  std::unique_ptr<impl> impl_;
};

}  // namespace sb::cluster
