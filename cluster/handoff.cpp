#include "cluster/handoff.hpp"

#include <algorithm>
#include <cstdio>
#include <future>

#include "channels/app_outbound.hpp"
#include "channels/http_client.hpp"
#include "cluster/etcd_keys.hpp"
#include "cluster/registry.hpp"
#include "codec/jwt.hpp"

namespace sb::cluster {

namespace {

// Chunks stay below the default limits.max_body (1 MiB) of the receiving node.
constexpr size_t chunk_bytes = 512 * 1024;
constexpr auto step_timeout = std::chrono::seconds(10);

void log(const std::string& line) {
  std::fprintf(stderr, "switchboard: handoff: %s\n", line.c_str());
}

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// A chunk is a sequence of [u32 BE key size][key][u32 BE value size][value].
void append_record(std::string& out, std::string_view key, std::string_view value) {
  put_u32(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  put_u32(out, static_cast<uint32_t>(value.size()));
  out.append(value);
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_chunk(
    const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t at = 0;
  auto take = [&](std::string& into) {
    if (body.size() - at < 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(body[at + i]);
    at += 4;
    if (body.size() - at < n) return false;
    into.assign(body, at, n);
    at += n;
    return true;
  };
  while (at < body.size()) {
    std::pair<std::string, std::string> kv;
    if (!take(kv.first) || !take(kv.second)) return std::nullopt;
    out.push_back(std::move(kv));
  }
  return out;
}

// The partition a stored key belongs to (its first two bytes), or -1 for a key too short.
int partition_of_key(const std::string& key) {
  if (key.size() < 3) return -1;
  return (static_cast<unsigned char>(key[0]) << 8) | static_cast<unsigned char>(key[1]);
}

}  // namespace

handoff::handoff(etcd_client& etcd, std::shared_ptr<cluster_view> view, deps d)
    : etcd_(etcd), view_(std::move(view)), deps_(std::move(d)) {}

handoff::~handoff() {
  stop();
}

void handoff::start() {
  for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
}

void handoff::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void handoff::schedule(uint16_t p) {
  {
    std::lock_guard lock(mutex_);
    // Once per partition at a time: a move already queued or running covers the update.
    if (running_.contains(p) || !queued_.insert(p).second) return;
    queue_.push_back(p);
  }
  wake_.notify_all();
}

void handoff::loop() {
  for (;;) {
    uint16_t p = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      p = queue_.front();
      queue_.pop_front();
      queued_.erase(p);
      running_.insert(p);
    }
    move(p);
    std::lock_guard lock(mutex_);
    running_.erase(p);
  }
}

std::string handoff::sign(const std::string& secret, uint16_t p, uint64_t epoch, bool reset,
                          bool last, const std::string& body) {
  return channels::app_signature(secret, std::to_string(p) + "\n" + std::to_string(epoch) + "\n" +
                                             (reset ? "1" : "0") + "\n" + (last ? "1" : "0") +
                                             "\n" + body);
}

void handoff::move(uint16_t p) {
  auto r = view_->partition(p);
  if (!r || r->owner != view_->self() || r->state != "moving") return;
  auto to = view_->member(r->to);
  if (!to || r->to == view_->self()) {
    log("partition " + std::to_string(p) + ": target " + r->to + " is gone; staying");
    return put_back(p, *r);
  }
  const auto started = std::chrono::steady_clock::now();
  // Seal: no new owner here, the running ones stop, and everything they had accepted is
  // durable before the copy starts.
  view_->set_sealed(p, true);
  bool sealed = false;
  {
    caf::scoped_actor self{*deps_.sys};
    self->request(deps_.registry, step_timeout, seal_atom::value, p)
        .receive([&](bool) { sealed = true; }, [&](caf::error&) {});
  }
  std::promise<void> barrier;
  deps_.commit->submit({}, [&barrier](const std::string&) { barrier.set_value(); });
  const bool flushed = barrier.get_future().wait_for(step_timeout) == std::future_status::ready;
  std::string error = !sealed    ? "owners did not stop"
                      : !flushed ? "group commit barrier timed out"
                                 : transfer(p, r->epoch + 1, *to);
  if (!error.empty()) {
    log("partition " + std::to_string(p) + " to " + r->to + " failed: " + error);
    if (deps_.metrics)
      deps_.metrics->cluster_handoff_failures.fetch_add(1, std::memory_order_relaxed);
    put_back(p, *r);
    view_->set_sealed(p, false);
    return;
  }
  // The one commit point: only if nobody changed the record meanwhile.
  partition_record next{r->to, r->epoch + 1, "serving", "", 0};
  const auto key = etcd_keys::partition_key(deps_.prefix, p);
  auto done =
      etcd_.txn({{key, etcd_compare::target::mod, r->mod_revision, ""}},
                {{etcd_op::kind::put, key, etcd_keys::partition_json(next), 0, false}}, {}, error);
  if (!done || !done->succeeded) {
    // Unknown or refused: stay sealed until etcd says who owns it (the watch re-runs this).
    log("partition " + std::to_string(p) + ": commit " + (done ? "refused" : "failed: " + error));
    if (auto now = view_->partition(p);
        now && now->owner == view_->self() && now->state == "serving")
      view_->set_sealed(p, false);
    return;
  }
  if (auto err = deps_.store->drop_partition(p); !err.empty())
    log("partition " + std::to_string(p) + ": dropping the moved records failed: " + err);
  view_->set_sealed(p, false);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  if (deps_.metrics) {
    deps_.metrics->cluster_handoffs.fetch_add(1, std::memory_order_relaxed);
    deps_.metrics->handoff_duration.observe(ms / 1000.0);
  }
  log("partition " + std::to_string(p) + " moved to " + r->to + " at epoch " +
      std::to_string(r->epoch + 1) + " in " + std::to_string(ms) + " ms");
}

std::string handoff::transfer(uint16_t p, uint64_t epoch, const member_record& to) {
  std::vector<std::string> chunks(1);
  try {
    deps_.store->export_partition(p, [&](std::string_view key, std::string_view value) {
      if (chunks.back().size() > chunk_bytes) chunks.emplace_back();
      append_record(chunks.back(), key, value);
    });
  } catch (const std::exception& e) {
    return std::string("export: ") + e.what();
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    channels::http_call call;
    call.method = "POST";
    call.url = "http://" + to.http + "/internal/partitions/" + std::to_string(p) +
               "/import?epoch=" + std::to_string(epoch) + "&reset=" + (i == 0 ? "1" : "0") +
               "&last=" + (i + 1 == chunks.size() ? "1" : "0");
    call.headers = {{"Content-Type", "application/octet-stream"},
                    {"X-Switchboard-Signature",
                     sign(deps_.secret, p, epoch, i == 0, i + 1 == chunks.size(), chunks[i])}};
    call.body = std::move(chunks[i]);
    // The target may not have seen the move in its watch yet (409): give it a moment.
    auto reply = channels::perform(call, step_timeout);
    for (int wait = 0; reply.status == 409 && wait < 20; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      reply = channels::perform(call, step_timeout);
    }
    if (!reply.error.empty()) return reply.error;
    if (reply.status != 200)
      return "import answered " + std::to_string(reply.status) + " " + reply.body;
  }
  return "";
}

void handoff::put_back(uint16_t p, const partition_record& r) {
  partition_record back = r;
  back.state = "serving";
  back.to.clear();
  std::string error;
  const auto key = etcd_keys::partition_key(deps_.prefix, p);
  etcd_.txn({{key, etcd_compare::target::mod, r.mod_revision, ""}},
            {{etcd_op::kind::put, key, etcd_keys::partition_json(back), 0, false}}, {}, error);
}

handoff::answer handoff::receive(uint16_t p, uint64_t epoch, bool reset, bool last,
                                 const std::string& signature, const std::string& body) {
  if (!codec::secret_equal(signature, sign(deps_.secret, p, epoch, reset, last, body)))
    return {403, R"({"error":"forbidden","message":"bad node signature"})"};
  // Only the move etcd describes: to this node, committing the next epoch.
  auto r = view_->partition(p);
  if (!r || r->state != "moving" || r->to != view_->self() || r->epoch + 1 != epoch)
    return {409, R"({"error":"conflict","message":"no such move to this node"})"};
  auto records = parse_chunk(body);
  if (!records || !std::all_of(records->begin(), records->end(),
                               [p](const auto& kv) { return partition_of_key(kv.first) == p; }))
    return {400, R"({"error":"bad_request","message":"malformed chunk"})"};
  if (auto err = deps_.store->import_partition(p, *records, reset); !err.empty())
    return {503, R"({"error":"unavailable","message":"storage failed"})"};
  if (last)
    if (auto err = deps_.store->set_partition_epoch(p, epoch); !err.empty())
      return {503, R"({"error":"unavailable","message":"storage failed"})"};
  return {200, R"({"status":"ok"})"};
}

}  // namespace sb::cluster
