// WeChat outbound: agent replies sent as customer-service messages, with the access-token
// cache they need. Blocking: only the outbox's sender threads call these, never asio or CAF.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "channels/delivery.hpp"
#include "config/config.hpp"

namespace sb::channels {

// Caches one access token per (api_base, app_id); thread-safe (several sender threads share
// it); only one fetch at a time per key, and the others wait for that fetch and share its result.
//
// A failed fetch is classified:
//   transport error, HTTP status other than 2xx, malformed answer  → retry
//   errcode -1 (system busy), 45009 / 45011 (call frequency limits) → retry
//   errcode 40002 (bad grant_type), 40013 (invalid appid), 40125 (invalid appsecret),
//   40164 (caller IP not whitelisted), 41002 (appid missing), 41004 (secret missing)
//                                                                   → permanent
//   any other errcode                                               → retry (it says nothing
//                                                                     about the message)
class wechat_token_cache {
 public:
  explicit wechat_token_cache(std::function<void()> on_fetch = {});  // on_fetch: metrics

  // A cached token valid for at least 60 more seconds, else one fetched from
  // GET {api_base}/cgi-bin/token?grant_type=client_credential&appid=…&secret=….
  // Blocks for at most `timeout` waiting for another thread's fetch, then `timeout` for its own.
  std::variant<std::string, delivery_outcome> token(const config::wechat_channel& ch,
                                                    std::chrono::milliseconds timeout);

  // Drops `token` if it is still the cached one (WeChat said 40001/40014/42001).
  void invalidate(const config::wechat_channel& ch, const std::string& token);

 private:
  using clock_type = std::chrono::steady_clock;
  struct entry {
    std::string token;
    clock_type::time_point expires;
    bool fetching = false;
    uint64_t fetches = 0;  // completed fetches, so waiters know theirs is over
    std::optional<delivery_outcome> last_failure;  // of the latest fetch, if it failed
  };

  std::function<void()> on_fetch_;
  std::mutex mutex_;
  std::condition_variable fetched_;
  std::map<std::pair<std::string, std::string>, entry> entries_;  // (api_base, app_id)
};

// {"touser":openid,"msgtype":"text","text":{"content":text}}, UTF-8 kept as is.
std::string wechat_custom_send_body(std::string_view openid, std::string_view text);

// POSTs the message to {api_base}/cgi-bin/message/custom/send?access_token=TOKEN.
//   errcode 0                                                       → delivered
//   errcode 40001 / 40014 / 42001 (token invalid or expired)        → the token is invalidated,
//       a new one fetched and the message sent once more; the same answer again → retry
//   errcode -1 (busy), 45009 / 45011 (frequency limits), HTTP status other than 2xx,
//   transport errors, an answer that is not JSON with an errcode    → retry
//   any other errcode (40003 invalid openid, 45015 reply window over, 45047 too many
//   messages without a reply, 43004 unsubscribed, …)                → permanent
// Token fetch failures are classified as in wechat_token_cache. Error lines carry the errcode
// and errmsg, never the token or the secret. At most four HTTP calls, each within `timeout`.
delivery_outcome wechat_deliver(const outbound_message& msg, const config::wechat_channel& ch,
                                wechat_token_cache& tokens, std::chrono::milliseconds timeout);

}  // namespace sb::channels
