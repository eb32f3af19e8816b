// A merchant's channel settings as JSON: how the channel-settings actor stores them, how the
// admin API reads them in and shows them (secrets redacted). Pure functions, any thread.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>

#include "config/config.hpp"

namespace sb::channels {

// {"wechat":{…}|null,"app":{…}|null}; with `redact` every secret (token, app_secret, secret)
// reads "***" so that it can be shown to operators.
std::string settings_to_json(const config::merchant_channels& c, bool redact);
// The inverse of settings_to_json(c, false); nullopt if `json` is not such a document.
std::optional<config::merchant_channels> settings_from_json(std::string_view json);

// The admin API body of PUT /admin/merchants/{m}/channels/wechat ({"token","app_id",
// "app_secret"[, "api_base", "greeting"]}) or …/app ({"webhook_url","secret"}): the settings,
// or one line saying what is wrong. Field checks are config::validate_channels's.
std::variant<config::wechat_channel, std::string> wechat_settings_from(
    const boost::json::object& body);
std::variant<config::app_channel, std::string> app_settings_from(const boost::json::object& body);

}  // namespace sb::channels
