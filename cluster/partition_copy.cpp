#include "cluster/partition_copy.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "codec/hmac.hpp"
#include "codec/jwt.hpp"
#include "http_client/http_client.hpp"
#include "storage/op_codec.hpp"

namespace sb::cluster::partition_copy {

namespace {

constexpr size_t chunk_bytes = 512 * 1024;
constexpr auto step_timeout = std::chrono::seconds(10);

std::string query(const chunk_params& c) {
  return "epoch=" + std::to_string(c.epoch) + "&reset=" + (c.reset ? "1" : "0") +
         "&last=" + (c.last ? "1" : "0") + "&sealed=" + std::to_string(c.position.sealed_epoch) +
         "&lepoch=" + std::to_string(c.position.last_epoch) +
         "&llsn=" + std::to_string(c.position.last_lsn);
}

}  // namespace

std::string sign(const std::string& secret, const chunk_params& c, const std::string& body) {
  return codec::hmac_sha256_header(
      secret, c.kind + "\n" + std::to_string(c.partition) + "\n" + query(c) + "\n" + body);
}

std::string send(const storage::stream_store& store, const std::string& secret,
                 const std::string& kind, uint16_t p, uint64_t epoch, const std::string& to_http,
                 storage::replica_state& sent) {
  std::vector<std::string> chunks(1);
  try {
    sent =
        store.export_partition(partition_id{p}, [&](std::string_view key, std::string_view value) {
          if (chunks.back().size() > chunk_bytes) chunks.emplace_back();
          storage::op_codec::append(chunks.back(), key, value);
        });
  } catch (const std::exception& e) {
    return std::string("export: ") + e.what();
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    chunk_params c{kind, p, epoch, i == 0, i + 1 == chunks.size(), sent};
    http_client::http_call call;
    call.method = "POST";
    call.url = "http://" + to_http + "/internal/partitions/" + std::to_string(p) + "/" + kind +
               "?" + query(c);
    call.headers = {{"Content-Type", "application/octet-stream"},
                    {"X-Switchboard-Signature", sign(secret, c, chunks[i])}};
    call.body = std::move(chunks[i]);
    // The receiver may not have seen the move in its watch yet (409): give it a moment.
    auto reply = http_client::perform(call, step_timeout);
    for (int wait = 0; reply.status == 409 && wait < 20; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      reply = http_client::perform(call, step_timeout);
    }
    if (!reply.error.empty()) return reply.error;
    if (reply.status != 200)
      return kind + " answered " + std::to_string(reply.status) + " " + reply.body;
  }
  return "";
}

answer receive(storage::stream_store& store, const std::string& secret, const chunk_params& c,
               const std::string& signature, const std::string& body,
               const std::function<std::optional<answer>()>& admit,
               const std::function<std::string()>& finish) {
  if (!codec::secret_equal(signature, sign(secret, c, body)))
    return {403, R"({"error":"forbidden","message":"bad node signature"})"};
  if (auto refused = admit()) return *refused;
  auto ops = storage::op_codec::parse(body);
  std::vector<std::pair<std::string, std::string>> records;
  if (ops) {
    records.reserve(ops->size());
    for (auto& op : *ops) {
      if (op.erase || storage::op_codec::partition_of_key(op.key) != c.partition) {
        ops.reset();
        break;
      }
      records.emplace_back(std::move(op.key), std::move(op.value));
    }
  }
  if (!ops) return {400, R"({"error":"bad_request","message":"malformed chunk"})"};
  if (auto err = store.import_partition(partition_id{c.partition}, records, c.reset,
                                        c.last ? &c.position : nullptr);
      !err.empty())
    return {503, R"({"error":"unavailable","message":"storage failed"})"};
  if (c.last && finish)
    if (auto err = finish(); !err.empty())
      return {503, R"({"error":"unavailable","message":"storage failed"})"};
  return {200, R"({"status":"ok"})"};
}

}  // namespace sb::cluster::partition_copy
