#include "channels/settings_json.hpp"

#include <boost/json.hpp>

namespace sb::channels {

namespace json = boost::json;

namespace {

constexpr const char* redacted = "***";

std::optional<std::string> string_of(const json::object& o, const char* name, bool required) {
  auto* v = o.if_contains(name);
  if (!v || v->is_null()) return required ? std::nullopt : std::optional<std::string>("");
  if (!v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

json::value wechat_json(const config::wechat_channel& w, bool redact) {
  return json::object{{"token", redact ? redacted : w.token},
                      {"app_id", w.app_id},
                      {"app_secret", redact ? redacted : w.app_secret},
                      {"api_base", w.api_base},
                      {"greeting", w.greeting}};
}

json::value app_json(const config::app_channel& a, bool redact) {
  return json::object{{"webhook_url", a.webhook_url}, {"secret", redact ? redacted : a.secret}};
}

}  // namespace

std::string settings_to_json(const config::merchant_channels& c, bool redact) {
  json::object o;
  o["wechat"] = c.wechat ? wechat_json(*c.wechat, redact) : json::value(nullptr);
  o["app"] = c.app ? app_json(*c.app, redact) : json::value(nullptr);
  return json::serialize(o);
}

std::variant<config::wechat_channel, std::string> wechat_settings_from(const json::object& body) {
  config::wechat_channel w;
  auto token = string_of(body, "token", true), app_id = string_of(body, "app_id", true),
       app_secret = string_of(body, "app_secret", true);
  auto api_base = string_of(body, "api_base", false), greeting = string_of(body, "greeting", false);
  if (!token || !app_id || !app_secret)
    return std::string("token, app_id and app_secret are required strings");
  if (!api_base || !greeting) return std::string("api_base and greeting must be strings");
  w.token = *token;
  w.app_id = *app_id;
  w.app_secret = *app_secret;
  if (!api_base->empty()) w.api_base = *api_base;
  w.greeting = *greeting;
  return w;
}

std::variant<config::app_channel, std::string> app_settings_from(const json::object& body) {
  auto url = string_of(body, "webhook_url", true), secret = string_of(body, "secret", true);
  if (!url || !secret) return std::string("webhook_url and secret are required strings");
  return config::app_channel{*url, *secret};
}

std::optional<config::merchant_channels> settings_from_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  config::merchant_channels c;
  const auto& o = v.as_object();
  if (auto* w = o.if_contains("wechat"); w && w->is_object()) {
    auto parsed = wechat_settings_from(w->as_object());
    if (auto* s = std::get_if<config::wechat_channel>(&parsed)) c.wechat = *s;
  }
  if (auto* a = o.if_contains("app"); a && a->is_object()) {
    auto parsed = app_settings_from(a->as_object());
    if (auto* s = std::get_if<config::app_channel>(&parsed)) c.app = *s;
  }
  return c;
}

}  // namespace sb::channels
