// A small blocking HTTP/1.1 client for the node's outbound calls: channel APIs and webhooks
// (WeChat, apps), the etcd gateway, partition copies between nodes.
// Blocks the calling thread for at most `timeout`: only the outbox's sender threads call it,
// never an asio or CAF scheduler thread. Supports http:// and https:// (TLS with the system's
// CA store and SNI). Beast-free header; Beast lives in http_client.cpp.
#pragma once
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace sb::http_client {

struct http_call {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct http_reply {
  unsigned status = 0;  // 0 when no response arrived
  std::string body;
  std::string error;  // non-empty when no response arrived: one line (bad URL, connect, timeout)
};

// Performs the call; the response body is limited to `max_body` bytes (an error above).
http_reply perform(const http_call& call, std::chrono::milliseconds timeout,
                   size_t max_body = 1 << 20);

}  // namespace sb::http_client
