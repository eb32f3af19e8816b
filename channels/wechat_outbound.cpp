// WeChat customer-service messages and the access-token cache. Called from the outbox's
// sender threads; the cache is shared between them.
#include "channels/wechat_outbound.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <exception>
#include <initializer_list>

#include "http_client/http_client.hpp"

namespace sb::channels {

using http_client::http_call;
using http_client::http_reply;
using http_client::perform;

namespace {

namespace json = boost::json;
namespace urls = boost::urls;

constexpr auto min_validity = std::chrono::seconds(60);
constexpr size_t max_answer = 64 * 1024;  // WeChat's answers are a few hundred bytes
constexpr size_t max_errmsg = 200;

constexpr std::array<int64_t, 6> token_refusals = {40002, 40013, 40125, 40164, 41002, 41004};
constexpr std::array<int64_t, 3> token_rejected = {40001, 40014, 42001};
constexpr std::array<int64_t, 3> busy = {-1, 45009, 45011};

template <size_t N>
bool one_of(const std::array<int64_t, N>& codes, int64_t code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

delivery_outcome retry(std::string error) {
  return {delivery_status::retry, std::move(error)};
}
delivery_outcome permanent(std::string error) {
  return {delivery_status::permanent, std::move(error)};
}

// Text from WeChat made safe for an error line: the credentials of the call masked, one line,
// at most max_errmsg bytes cut on a UTF-8 boundary.
std::string safe_text(std::string_view text, std::initializer_list<std::string_view> secrets) {
  std::string out(text);
  for (auto secret : secrets) {
    if (secret.empty()) continue;
    for (auto at = out.find(secret); at != out.npos; at = out.find(secret, at + 3)) {
      out.replace(at, secret.size(), "***");
    }
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (out.size() > max_errmsg) {
    size_t cut = max_errmsg;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::string base_url(const config::wechat_channel& ch) {
  std::string_view base = ch.api_base;
  while (base.ends_with('/')) base.remove_suffix(1);
  return std::string(base);
}

std::string query_value(std::string_view value) {
  return urls::encode(value, urls::unreserved_chars);
}

// The JSON object of a WeChat answer, or the retry outcome when there is none: WeChat reports
// its errors as HTTP 200 with an errcode, so any other status is the infrastructure in between.
std::variant<json::object, delivery_outcome> answer_object(const http_reply& reply,
                                                           const std::string& what) {
  if (!reply.error.empty()) return retry(what + ": " + reply.error);
  if (reply.status < 200 || reply.status > 299) {
    return retry(what + ": HTTP " + std::to_string(reply.status));
  }
  boost::system::error_code ec;
  auto value = json::parse(reply.body, ec);
  if (ec || !value.is_object()) return retry(what + ": malformed answer");
  return std::move(value.as_object());
}

std::optional<int64_t> errcode_of(const json::object& answer) {
  const json::value* code = answer.if_contains("errcode");
  if (!code || !code->is_int64()) return std::nullopt;
  return code->as_int64();
}

std::string error_line(const std::string& what, const json::object& answer, int64_t code,
                       std::initializer_list<std::string_view> secrets) {
  std::string line = what + ": errcode " + std::to_string(code);
  if (const json::value* msg = answer.if_contains("errmsg"); msg && msg->is_string()) {
    line += ": " + safe_text(msg->as_string(), secrets);
  }
  return line;
}

struct fetched_token {
  std::string token;
  std::chrono::seconds ttl;
};

std::variant<fetched_token, delivery_outcome> fetch_token(const config::wechat_channel& ch,
                                                          std::chrono::milliseconds timeout) {
  const std::string what = "wechat token";
  http_call call;
  call.url = base_url(ch) +
             "/cgi-bin/token?grant_type=client_credential&appid=" + query_value(ch.app_id) +
             "&secret=" + query_value(ch.app_secret);
  auto answer = answer_object(perform(call, timeout, max_answer), what);
  if (auto* failure = std::get_if<delivery_outcome>(&answer)) return std::move(*failure);
  const auto& object = std::get<json::object>(answer);
  const json::value* token = object.if_contains("access_token");
  if (token && token->is_string() && !token->as_string().empty()) {
    int64_t expires_in = 7200;
    if (const json::value* e = object.if_contains("expires_in"); e && e->is_int64()) {
      expires_in = e->as_int64();
    }
    return fetched_token{std::string(token->as_string()), std::chrono::seconds(expires_in)};
  }
  const auto code = errcode_of(object);
  if (!code || *code == 0) return retry(what + ": malformed answer");
  auto line = error_line(what, object, *code, {ch.app_secret});
  if (one_of(token_refusals, *code)) return permanent(std::move(line));
  return retry(std::move(line));
}

struct send_answer {
  delivery_outcome outcome;
  bool token_rejected = false;
};

send_answer send_with(const outbound_message& msg, const config::wechat_channel& ch,
                      const std::string& token, std::chrono::milliseconds timeout) {
  const std::string what = "wechat send";
  http_call call;
  call.method = "POST";
  call.url = base_url(ch) + "/cgi-bin/message/custom/send?access_token=" + query_value(token);
  call.body = wechat_custom_send_body(msg.recipient, msg.text);
  auto answer = answer_object(perform(call, timeout, max_answer), what);
  if (auto* failure = std::get_if<delivery_outcome>(&answer)) return {std::move(*failure)};
  const auto& object = std::get<json::object>(answer);
  const auto code = errcode_of(object);
  if (!code) return {retry(what + ": malformed answer")};
  if (*code == 0) return {{delivery_status::delivered, {}}};
  auto line = error_line(what, object, *code, {token, ch.app_secret});
  if (one_of(token_rejected, *code)) return {retry(std::move(line)), true};
  if (one_of(busy, *code)) return {retry(std::move(line))};
  return {permanent(std::move(line))};
}

}  // namespace

wechat_token_cache::wechat_token_cache(std::function<void()> on_fetch)
    : on_fetch_(std::move(on_fetch)) {}

std::variant<std::string, delivery_outcome> wechat_token_cache::token(
    const config::wechat_channel& ch, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  entry& e = entries_[{ch.api_base, ch.app_id}];  // map nodes are stable and never erased
  const uint64_t seen = e.fetches;
  // Another thread's fetch ends within its own timeout; waiting is bounded by ours as well.
  if (!fetched_.wait_for(lock, timeout, [&] { return !e.fetching; })) {
    return retry("wechat token: another fetch is still running");
  }
  const auto now = clock_type::now();
  if (!e.token.empty() && now + min_validity <= e.expires) return e.token;
  if (e.fetches != seen) {  // waited for another thread's fetch: share its result
    if (!e.token.empty() && now < e.expires) return e.token;
    if (e.last_failure) return *e.last_failure;
  }
  e.fetching = true;
  lock.unlock();
  std::variant<fetched_token, delivery_outcome> result = retry("wechat token: fetch failed");
  try {
    if (on_fetch_) on_fetch_();
    result = fetch_token(ch, timeout);
  } catch (const std::exception&) {
    // `fetching` must be reset below whatever happened, or every sender would wait forever.
  }
  lock.lock();
  e.fetching = false;
  ++e.fetches;
  fetched_.notify_all();
  if (auto* failure = std::get_if<delivery_outcome>(&result)) {
    e.token.clear();
    e.last_failure = *failure;
    return std::move(*failure);
  }
  e.last_failure.reset();
  auto& fetched = std::get<fetched_token>(result);
  e.token = std::move(fetched.token);
  e.expires = clock_type::now() + fetched.ttl;
  return e.token;
}

void wechat_token_cache::invalidate(const config::wechat_channel& ch, const std::string& token) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find({ch.api_base, ch.app_id});
  if (it != entries_.end() && it->second.token == token) it->second.token.clear();
}

std::string wechat_custom_send_body(std::string_view openid, std::string_view text) {
  json::object body;
  body["touser"] = openid;
  body["msgtype"] = "text";
  body["text"] = json::object{{"content", text}};
  return json::serialize(body);
}

delivery_outcome wechat_deliver(const outbound_message& msg, const config::wechat_channel& ch,
                                wechat_token_cache& tokens, std::chrono::milliseconds timeout) {
  delivery_outcome refused;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = tokens.token(ch, timeout);
    if (auto* failure = std::get_if<delivery_outcome>(&token)) return std::move(*failure);
    const auto& current = std::get<std::string>(token);
    auto answer = send_with(msg, ch, current, timeout);
    if (!answer.token_rejected) return std::move(answer.outcome);
    tokens.invalidate(ch, current);
    refused = std::move(answer.outcome);
  }
  return refused;  // a fresh token was refused too: retry later
}

}  // namespace sb::channels
